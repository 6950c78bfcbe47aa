//! The `[lake]` section of the server config.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Where the lake is and how often it is re-listed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeConfig {
    /// Zones by name (`landing`, `raw`, `refined`, `trusted`, …).
    pub zones: BTreeMap<String, ZoneConfig>,
    /// Seconds a listing is trusted before the lake is listed again; new partitions and
    /// datasets become visible within this time.
    #[serde(default = "default_listing_ttl")]
    pub listing_ttl_secs: u64,
    /// Parquet footers kept in memory (one per file) for schema merging.
    #[serde(default = "default_footer_cache")]
    pub footer_cache_entries: u64,
    /// Benchmarks only: milliseconds added to every object-store read and listing, to
    /// measure the lake as if it were remote.
    #[serde(default)]
    pub simulated_request_latency_ms: u64,
}

fn default_listing_ttl() -> u64 {
    60
}

fn default_footer_cache() -> u64 {
    100_000
}

/// One zone bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// `file:///abs/path`, a path relative to the config file, or `s3://bucket[/prefix]`.
    pub url: String,
    /// Options for `s3://` zones; anything unset comes from the usual AWS environment.
    #[serde(default)]
    pub s3: Option<S3Config>,
}

/// S3-compatible store settings. Unset fields fall back to `AWS_*` environment variables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// Custom endpoint, e.g. `http://127.0.0.1:9000` for a local S3 API server.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most local servers need.
    #[serde(default)]
    pub path_style: bool,
    /// Allow `http://` endpoints (local test servers only).
    #[serde(default)]
    pub allow_http: bool,
}
