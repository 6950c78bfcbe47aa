//! The `[identity]` section of the server config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// How tokens are verified and how their claims become a principal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud` (one of the token's audiences).
    pub audience: String,
    /// Accepted algorithms. Never taken from the token. `HS256` only if listed here.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// JWKS file with the verification keys, found by `kid`; relative to the config file.
    pub jwks_file: PathBuf,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    #[serde(default)]
    pub claims: ClaimMapping,
    /// Development only: the private key (PKCS#8 PEM) `lakegate token` signs with.
    pub dev_signing_key: Option<PathBuf>,
    /// The `kid` of the development key in the JWKS.
    pub dev_signing_kid: Option<String>,
}

fn default_algorithms() -> Vec<String> {
    vec![
        "RS256".to_string(),
        "ES256".to_string(),
        "EdDSA".to_string(),
    ]
}

fn default_leeway() -> u64 {
    30
}

/// JSON pointers from claims to the principal's fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    #[serde(default = "default_subject")]
    pub subject: String,
    /// The name clients log in with; the subject when absent from the token.
    #[serde(default = "default_username")]
    pub username: String,
    #[serde(default = "default_departments")]
    pub departments: String,
    #[serde(default = "default_groups")]
    pub groups: String,
    /// Named attributes, e.g. `wards = "/wards"`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            subject: default_subject(),
            username: default_username(),
            departments: default_departments(),
            groups: default_groups(),
            attributes: BTreeMap::new(),
        }
    }
}

fn default_subject() -> String {
    "/sub".to_string()
}

fn default_username() -> String {
    "/preferred_username".to_string()
}

fn default_departments() -> String {
    "/departments".to_string()
}

fn default_groups() -> String {
    "/groups".to_string()
}
