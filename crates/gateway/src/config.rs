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

/// The `[limits]` section: what one statement, one protocol and one principal may take.
/// Each refusal is a clear error to that client; the server keeps serving everyone else.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Seconds a statement may take from arrival to its last row; 0 for no limit.
    pub query_timeout_secs: u64,
    /// Open Postgres-wire connections.
    pub max_pg_connections: usize,
    /// Flight SQL result streams being read at once.
    pub max_flight_streams: usize,
    /// Connections and streams one principal (token subject) may hold at once.
    pub max_per_principal: usize,
    /// The largest message a client may send, in bytes: a Postgres-wire message (a query,
    /// a Bind with its parameters) once logged in, or a Flight SQL gRPC message. Past it the
    /// pg connection ends with `54000`, the Flight call with `RESOURCE_EXHAUSTED`, before
    /// the message is buffered.
    pub max_message_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            query_timeout_secs: 900,
            max_pg_connections: 500,
            max_flight_streams: 500,
            max_per_principal: 50,
            max_message_bytes: 16 * 1024 * 1024,
        }
    }
}

/// The `[cache]` section: the gateway's caches. (Listing and footer caches are the lake's,
/// in `[lake]`; Parquet metadata is the engine's, in `[engine]`.)
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Per-principal sessions kept ready (each holds its catalog and plans' context).
    pub sessions: u64,
    /// Seconds an unused session is kept.
    pub session_idle_secs: u64,
    /// Verified tokens kept (Flight SQL verifies one per call).
    pub tokens: u64,
    /// Seconds a verified token is trusted without re-verifying (never past its `exp`).
    pub token_ttl_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            sessions: 1_000,
            session_idle_secs: 600,
            tokens: 10_000,
            token_ttl_secs: 300,
        }
    }
}
