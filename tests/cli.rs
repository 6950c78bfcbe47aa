//! The command line: `check`, `tables`, `token`, `--help`.

mod common;

use std::process::Command;

use common::{BIN, Demo, stderr, stdout};

fn run(args: &[&str], demo: &Demo) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(demo.config())
        .output()
        .expect("run lakegate")
}

#[test]
fn check_lists_zones_and_reports_drift_and_broken_files() {
    let demo = Demo::new();
    let out = run(&["check"], &demo);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("parking_raw_zone.liberator_pcn_tickets (7 files)"),
        "{text}"
    );
    assert!(text.contains("column `permit_id` widened"), "{text}");

    std::fs::write(
        demo.path("lake/raw/housing/tenancies/_catalog.toml"),
        "descripton = 1\n",
    )
    .expect("write");
    std::fs::write(
        demo.path("lake/raw/housing/repairs/import_year=2024/import_month=11/import_day=18/import_date=20241118/x.parquet"),
        b"garbage",
    )
    .expect("write");
    let out = run(&["check"], &demo);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(text.contains("unreadable file"), "{text}");
    assert!(
        text.contains("_catalog.toml ignored") && text.contains("line 1"),
        "{text}"
    );
}

#[test]
fn tables_as_a_principal_shows_only_what_it_may_read() {
    let demo = Demo::new();
    let token = demo.public_token();
    let out = run(&["tables", "--as", &token], &demo);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("unrestricted_raw_zone") && text.contains("wards"),
        "{text}"
    );
    assert!(!text.contains("parking"), "{text}");

    let out = run(&["tables"], &demo);
    let text = stdout(&out);
    assert!(
        text.contains("Vehicle registration mark [PII: vehicle_registration]"),
        "{text}"
    );
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["demo", "serve", "token", "check", "tables"] {
        let out = Command::new(BIN)
            .args([sub, "--help"])
            .output()
            .expect("help");
        assert!(out.status.success());
        assert!(stdout(&out).contains("Usage: lakegate"), "{sub}");
    }
}

#[test]
fn check_type_checks_every_filter_and_mask_against_the_lake() {
    let demo = Demo::new();
    demo.add_policy(
        "\n[[grant]]\nname = \"broken filter\"\ngroups = [\"x\"]\ntables = [\"parking_raw_zone.permits\"]\nrow_filter = \"no_such_column = claim('wards')\"\n\n[[grant]]\nname = \"broken mask\"\ngroups = [\"x\"]\ntables = [\"parking_raw_zone.permits\"]\nmasks = { start_date = \"redact\" }\n",
    );
    let out = run(&["check"], &demo);
    assert!(!out.status.success());
    let report = stdout(&out);
    assert!(
        report.contains("`broken filter` does not type-check"),
        "{report}"
    );
    assert!(
        report.contains("`broken mask` does not type-check") && report.contains("redact"),
        "{report}"
    );
}

#[test]
fn reload_re_reads_the_policy_and_refuses_a_bad_one() {
    let demo = Demo::new();
    let server = demo.serve();
    let token = demo.parking_token();
    let http = server.http.to_string();
    let reload = || {
        Command::new(BIN)
            .args(["reload", "--config"])
            .arg(demo.config())
            .args(["--http", &http])
            .output()
            .expect("run reload")
    };
    let out = reload();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("policy reloaded"));
    std::fs::write(demo.path("policy.toml"), "[[grant]]\ntables = [\n").expect("write");
    let out = reload();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("policy refused") && stderr(&out).contains("line"),
        "{}",
        stderr(&out)
    );
    let out = server.psql(
        &token,
        "require",
        "SELECT count(*) FROM parking_raw_zone.permits",
    );
    assert!(
        out.status.success(),
        "the old policy still serves: {}",
        stderr(&out)
    );
}

#[test]
fn tables_as_a_principal_includes_tables_a_grant_opens() {
    let demo = Demo::new();
    demo.add_policy(
        "\n[[grant]]\nname = \"auditors\"\ngroups = [\"auditor\"]\ntables = [\"revenues_raw_zone.council_tax_accounts\"]\n",
    );
    let token = demo.token("ada.auditor", &[], &["auditor"]);
    let out = run(&["tables", "--as", &token], &demo);
    let text = stdout(&out);
    assert!(
        text.contains("revenues_raw_zone") && text.contains("council_tax_accounts "),
        "{text}"
    );
    assert!(!text.contains("council_tax_accounts_latest"), "{text}");
    assert!(!text.contains("parking"), "{text}");
}
