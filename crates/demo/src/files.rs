//! Laying out the demo folder: lake, sidecars, config, policy, keys, certificate.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::datasets::write_all;
use crate::error::DemoError;
use crate::keys::{DEV_KID, write_hash_key, write_signing_key, write_tls};

/// The config file the demo writes.
pub const CONFIG_FILE: &str = "lakegate.toml";

/// Where the demo goes and how big it is.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub dir: PathBuf,
    /// Penalty charge notices in the raw zone; other datasets scale with it.
    pub rows: usize,
    /// Ports written into the config.
    pub pg: String,
    pub flight: String,
    pub http: String,
}

/// Writes the demo into `options.dir` unless a demo of the same size is already there, and
/// returns the config path. Keys and certificate are kept across re-runs.
pub fn write_demo(options: &DemoOptions) -> Result<PathBuf, DemoError> {
    let dir = &options.dir;
    let marker = dir.join(".lakegate-demo");
    let config = dir.join(CONFIG_FILE);
    let stamp = format!("rows={}\n", options.rows);
    let same = std::fs::read_to_string(&marker).is_ok_and(|s| s == stamp);
    if !(same && config.exists()) {
        let lake = dir.join("lake");
        if lake.exists() {
            std::fs::remove_dir_all(&lake).map_err(DemoError::io(&lake))?;
        }
        let bar = ProgressBar::new(10).with_style(
            ProgressStyle::with_template(
                "{spinner} writing the demo lake [{bar:30}] {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        write_all(&lake, options.rows, &mut |what| {
            bar.set_message(what.to_string());
            bar.inc(1);
        })?;
        bar.finish_and_clear();
        write_sidecars(&lake)?;
        write(&dir.join("policy.toml"), POLICY)?;
        write(&marker, &stamp)?;
    }
    if !dir.join("keys/jwks.json").exists() {
        write_signing_key(dir)?;
    }
    if !dir.join("tls/cert.pem").exists() {
        write_tls(dir)?;
    }
    if !dir.join("keys/hash.key").exists() {
        write_hash_key(dir)?;
    }
    write(&config, &config_text(options))?;
    Ok(config)
}

fn write(path: &Path, text: &str) -> Result<(), DemoError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(DemoError::io(parent))?;
    }
    std::fs::write(path, text).map_err(DemoError::io(path))
}

fn write_sidecars(lake: &Path) -> Result<(), DemoError> {
    write(
        &lake.join("raw/parking/liberator/liberator_pcn_tickets/_catalog.toml"),
        PCN_SIDECAR,
    )?;
    write(
        &lake.join("raw/housing/tenancies/_catalog.toml"),
        TENANCY_SIDECAR,
    )?;
    write(
        &lake.join("raw/unrestricted/wards/_catalog.toml"),
        WARDS_SIDECAR,
    )
}

fn config_text(options: &DemoOptions) -> String {
    format!(
        r#"# lakegate demo configuration (written by `lakegate demo`).
database = "lake"
policy_file = "policy.toml"

[server]
pg = "{pg}"
flight = "{flight}"
http = "{http}"
# The demo serves TLS with a self-signed certificate; plaintext stays off.
allow_plaintext_loopback = false
# Members of these groups may reload the lake and policy over HTTP (`lakegate reload`).
admin_groups = ["lakegate-admin"]

[tls]
cert = "tls/cert.pem"
key = "tls/key.pem"

[lake]
listing_ttl_secs = 60

[lake.zones.raw]
url = "lake/raw"

[lake.zones.refined]
url = "lake/refined"

[lake.zones.trusted]
url = "lake/trusted"

[audit]
# One JSON line per login, statement and policy reload.
file = "audit.log"

[masking]
# The key of the `hash` mask; never in the policy file.
hash_key_file = "keys/hash.key"

[identity]
issuer = "https://lakegate.demo/issuer"
audience = "lakegate"
algorithms = ["EdDSA"]
jwks_file = "keys/jwks.json"
dev_signing_key = "keys/dev-signing.pem"
dev_signing_kid = "{DEV_KID}"

[identity.claims]
subject = "/sub"
username = "/preferred_username"
departments = "/departments"
groups = "/groups"

[identity.claims.attributes]
wards = "/wards"
teams = "/teams"
"#,
        pg = options.pg,
        flight = options.flight,
        http = options.http,
    )
}

const POLICY: &str = r#"# Demo policy, the council example.
#
# Department access: which zones each group may read of its own departments' folders.
# `unrestricted` is readable by everyone who is authenticated. Anything else is hidden.

[[department_access]]
groups = ["analyst"]
zones = ["refined", "trusted"]

[[department_access]]
groups = ["operational"]
zones = ["raw"]

[[department_access]]
groups = ["engineer"]
zones = ["raw", "refined", "trusted"]

[public]
departments = ["unrestricted"]
zones = ["raw", "refined", "trusted"]

# Grants: where they match a principal, they decide the rows, columns and masks.

[[grant]]
name = "parking analysts: own wards, plates masked"
groups = ["parking-analyst"]
tables = ["parking_*_zone.liberator_pcn_tickets*", "parking_*_zone.permits*"]
row_filter = "ward_code IN (claim('wards'))"
masks = { vrm = "show_last_4" }

[[grant]]
name = "parking enforcement: own wards, plates shown"
groups = ["parking-enforcement"]
tables = ["parking_*_zone.liberator_pcn_tickets*"]
row_filter = "ward_code IN (claim('wards'))"

[[grant]]
name = "parking managers: every ward, plates masked"
groups = ["parking-manager"]
tables = ["parking_*_zone.liberator_pcn_tickets*", "parking_*_zone.permits*"]
masks = { vrm = "show_last_4" }

# A derived table carries grants of its own: the trusted ward aggregate counts every
# ward's tickets, so the ward filters the tickets have apply to it too (without a grant,
# department access alone would show every ward's figures to every parking analyst).
[[grant]]
name = "parking analysts and enforcement: own wards' daily figures"
groups = ["parking-analyst", "parking-enforcement"]
tables = ["parking_trusted_zone.pcn_ward_daily*"]
row_filter = "ward_code IN (claim('wards'))"

[[grant]]
name = "parking managers: every ward's daily figures"
groups = ["parking-manager"]
tables = ["parking_trusted_zone.pcn_ward_daily*"]

# A UPRN joins to the public address list (unrestricted_raw_zone.llpg_addresses), so a
# role that may not see where a tenant lives sees it hashed: masking the postcode alone
# would give the full address back through one join.
[[grant]]
name = "housing officers: own teams, names, birth dates and addresses masked"
groups = ["housing-officer"]
tables = ["housing_*_zone.tenancies*", "housing_*_zone.repairs*"]
row_filter = "team IN (claim('teams'))"
masks = { tenant_name = "redact", date_of_birth = "date_year", postcode = "postcode_sector", uprn = "hash" }

[[grant]]
name = "safeguarding officers: every tenancy"
groups = ["safeguarding"]
tables = ["housing_*_zone.tenancies*"]

[[grant]]
name = "revenues analysts: UPRNs hashed, balances hidden"
groups = ["revenues-analyst"]
tables = ["revenues_*_zone.council_tax_accounts*"]
exclude_columns = ["balance"]
masks = { lead_liable_name = "redact", date_of_birth = "date_year", property_uprn = "hash" }

# Restricts are ANDed onto every grant.

[[restrict]]
name = "safeguarding cases only for the safeguarding team"
tables = ["housing_*_zone.tenancies*"]
row_filter = "NOT safeguarding_case"
unless_groups = ["safeguarding"]
"#;

const PCN_SIDECAR: &str = r#"description = "Penalty charge notices issued by civil enforcement officers, as delivered daily by the Liberator system."
owner = "parking-data@hackney.gov.uk"

[columns.pcn]
description = "Penalty charge notice number"

[columns.vrm]
description = "Vehicle registration mark"
pii = ["vehicle_registration"]

[columns.ward_code]
description = "ONS code of the ward where the notice was issued"

[columns.amount]
description = "Charge in pounds"

[[relationships]]
column = "ward_code"
references = "unrestricted_raw_zone.wards.ward_code"
"#;

const WARDS_SIDECAR: &str = r#"description = "Electoral wards of the borough, by ONS code."
owner = "corporate-data@hackney.gov.uk"
primary_key = ["ward_code"]

[columns.ward_code]
description = "ONS ward code"

[columns.ward_name]
description = "Ward name"
"#;

const TENANCY_SIDECAR: &str = r#"description = "Council tenancies, one row per tenancy, from the housing management system."
owner = "housing-data@hackney.gov.uk"
primary_key = ["tenancy_ref"]

[columns.tenant_name]
description = "Lead tenant's full name"
pii = ["name"]

[columns.date_of_birth]
description = "Lead tenant's date of birth"
pii = ["date_of_birth"]

[columns.postcode]
pii = ["postcode"]

[columns.uprn]
description = "Unique property reference number"
"#;
