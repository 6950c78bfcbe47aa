//! The server config file: one TOML file, every section checked for unknown keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use lakegate_engine::MemoryConfig;
use lakegate_gateway::{CacheConfig, IdentityConfig, LimitsConfig};
use lakegate_lake::LakeConfig;
use lakegate_policy::Policy;
use serde::Deserialize;
use thiserror::Error;

/// The whole config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The database name clients see (`current_database()`).
    #[serde(default = "default_database")]
    pub database: String,
    #[serde(default)]
    pub server: ServerConfig,
    pub tls: Option<TlsConfig>,
    pub lake: LakeConfig,
    pub identity: IdentityConfig,
    #[serde(default)]
    pub engine: EngineSection,
    #[serde(default)]
    pub masking: MaskingConfig,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(default)]
    pub flight: FlightSection,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub cache: CacheConfig,
    /// The policy in a file of its own (relative to this file)…
    pub policy_file: Option<PathBuf>,
    /// …or inline as a `[policy]` table.
    pub policy: Option<Policy>,
}

fn default_database() -> String {
    "lake".to_string()
}

/// Listen addresses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_pg")]
    pub pg: SocketAddr,
    #[serde(default = "default_flight")]
    pub flight: SocketAddr,
    #[serde(default = "default_http")]
    pub http: SocketAddr,
    /// Development only: accept logins without TLS from loopback clients.
    #[serde(default)]
    pub allow_plaintext_loopback: bool,
    /// Groups (the token's `groups` claim) whose members may `POST /reload`. Empty: no one
    /// may over HTTP (SIGHUP still reloads).
    #[serde(default)]
    pub admin_groups: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            pg: default_pg(),
            flight: default_flight(),
            http: default_http(),
            allow_plaintext_loopback: false,
            admin_groups: Vec::new(),
        }
    }
}

fn default_pg() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5433))
}

fn default_flight() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50051))
}

fn default_http() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9187))
}

/// Certificate and key (PEM), relative to the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Engine tuning. The defaults suit a lake of 100,000 files on one machine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// Partitions per query, and threads all queries run on; 0 means one per core.
    pub target_partitions: usize,
    /// Memory all running queries may hold together, in MiB; past it sorts, joins and
    /// aggregations spill to disk. 0: no limit.
    pub memory_limit_mb: usize,
    /// Where spill files go (the system's temporary folder if unset).
    pub spill_dir: Option<PathBuf>,
    /// Parquet metadata (footers, page indexes) kept in memory, in MiB.
    pub metadata_cache_mb: usize,
    /// Per-file statistics kept in memory, in MiB.
    pub statistics_cache_mb: usize,
    /// File listings kept in memory (trusted for `[lake] listing_ttl_secs`), in MiB.
    pub listing_cache_mb: usize,
}

impl Default for EngineSection {
    fn default() -> Self {
        EngineSection {
            target_partitions: 0,
            memory_limit_mb: 4096,
            spill_dir: None,
            metadata_cache_mb: 1024,
            statistics_cache_mb: 256,
            listing_cache_mb: 64,
        }
    }
}

impl EngineSection {
    pub fn memory(&self, resolve: impl Fn(&Path) -> PathBuf) -> MemoryConfig {
        const MIB: usize = 1024 * 1024;
        MemoryConfig {
            limit: self.memory_limit_mb.saturating_mul(MIB),
            spill_dir: self.spill_dir.as_deref().map(resolve),
            metadata_cache: self.metadata_cache_mb.saturating_mul(MIB),
            statistics_cache: self.statistics_cache_mb.saturating_mul(MIB),
            listing_cache: self.listing_cache_mb.saturating_mul(MIB),
        }
    }
}

/// How the Flight SQL front end sends results.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlightSection {
    /// IPC compression of result batches: `none` (the default: it costs more than it
    /// saves on a fast network) or `lz4`.
    #[serde(default)]
    pub compression: Compression,
    /// How long a ticket or prepared-statement handle stays valid; never past the token.
    #[serde(default = "default_ticket_ttl")]
    pub ticket_ttl_secs: u64,
}

impl Default for FlightSection {
    fn default() -> Self {
        FlightSection {
            compression: Compression::None,
            ticket_ttl_secs: default_ticket_ttl(),
        }
    }
}

fn default_ticket_ttl() -> u64 {
    3600
}

/// IPC compression for Flight results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Lz4,
}

/// Where the audit log goes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Append JSON lines to this file (relative to the config); stdout when unset.
    pub file: Option<PathBuf>,
}

/// Where the key of the `hash` mask comes from: never the policy file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskingConfig {
    /// A file holding the key (at least 16 bytes; surrounding whitespace is ignored).
    pub hash_key_file: Option<PathBuf>,
    /// Or an environment variable holding it.
    pub hash_key_env: Option<String>,
}

/// A config that cannot be used; the message names the file and, for syntax, the line.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        #[source]
        source: toml::de::Error,
    },
    #[error("{path}: {source}")]
    Policy {
        path: String,
        #[source]
        source: lakegate_policy::PolicyError,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// A loaded config and the folder its relative paths start from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub policy: Policy,
    pub dir: PathBuf,
    pub path: PathBuf,
}

impl Loaded {
    /// A path from the config, made absolute against the config's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.dir.join(path)
    }

    /// Reads the config and its policy, refusing anything malformed or inconsistent.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: shown.clone(),
            source,
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let policy = load_policy(&config, &dir, &shown)?;
        let loaded = Loaded {
            config,
            policy,
            dir,
            path: path.to_path_buf(),
        };
        loaded.validate()?;
        Ok(loaded)
    }

    /// The `hash` mask's key, if one is configured.
    pub fn hash_key(&self) -> Result<Option<std::sync::Arc<[u8]>>, ConfigError> {
        let masking = &self.config.masking;
        let invalid = |message: String| ConfigError::Invalid {
            path: self.path.display().to_string(),
            message,
        };
        let key = match (&masking.hash_key_file, &masking.hash_key_env) {
            (Some(file), None) => {
                let path = self.resolve(file);
                let text = std::fs::read(&path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                text.trim_ascii().to_vec()
            }
            (None, Some(var)) => std::env::var(var)
                .map_err(|_| invalid(format!("masking.hash_key_env: ${var} is not set")))?
                .trim()
                .as_bytes()
                .to_vec(),
            (None, None) => return Ok(None),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "give one of masking.hash_key_file or hash_key_env".to_string(),
                ));
            }
        };
        if key.len() < 16 {
            return Err(invalid(
                "the hash mask key must be at least 16 bytes".to_string(),
            ));
        }
        Ok(Some(key.into()))
    }

    /// Re-reads only the policy, for a reload.
    pub fn reload_policy(&self) -> Result<Policy, ConfigError> {
        let fresh = Loaded::load(&self.path)?;
        Ok(fresh.policy)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: self.path.display().to_string(),
            message,
        };
        if self.config.lake.zones.is_empty() {
            return Err(invalid(
                "[lake.zones] must name at least one zone".to_string(),
            ));
        }
        for zone in self.policy.zones() {
            if !self.config.lake.zones.contains_key(zone) {
                return Err(invalid(format!(
                    "the policy names zone `{zone}`, which [lake.zones] does not configure"
                )));
            }
        }
        let server = &self.config.server;
        if self.config.tls.is_none() {
            for (name, addr) in [("pg", server.pg), ("flight", server.flight)] {
                if !addr.ip().is_loopback() {
                    return Err(invalid(format!(
                        "server.{name} = {addr} is not a loopback address, and no [tls] is configured"
                    )));
                }
            }
        }
        Ok(())
    }
}

fn load_policy(config: &Config, dir: &Path, shown: &str) -> Result<Policy, ConfigError> {
    match (&config.policy, &config.policy_file) {
        (Some(policy), None) => Ok(policy.clone()),
        (None, Some(file)) => {
            let path = dir.join(file);
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: shown.clone(),
                source,
            })?;
            Policy::parse(&text).map_err(|source| ConfigError::Policy {
                path: shown,
                source,
            })
        }
        _ => Err(ConfigError::Invalid {
            path: shown.to_string(),
            message: "give exactly one of `policy_file` or a [policy] table".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_and_policy_load() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/lakegate.example.toml");
        let loaded = Loaded::load(&path).unwrap();
        assert_eq!(loaded.config.lake.zones.len(), 4);
        assert_eq!(loaded.policy.department_access.len(), 3);
        assert_eq!(loaded.policy.grant.len(), 3);
        assert_eq!(loaded.policy.restrict.len(), 1);
    }

    #[test]
    fn public_addresses_without_tls_are_refused() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/lakegate.example.toml");
        let mut loaded = Loaded::load(&path).unwrap();
        loaded.config.tls = None;
        loaded.config.server.pg = "0.0.0.0:5433".parse().unwrap();
        let err = loaded.validate().unwrap_err().to_string();
        assert!(err.contains("not a loopback address"), "{err}");
    }

    #[test]
    fn policies_naming_unknown_zones_are_refused() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/lakegate.example.toml");
        let mut loaded = Loaded::load(&path).unwrap();
        loaded.config.lake.zones.remove("landing");
        let err = loaded.validate().unwrap_err().to_string();
        assert!(err.contains("zone `landing`"), "{err}");
    }
}
