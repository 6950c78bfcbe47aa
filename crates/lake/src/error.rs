//! What can go wrong while reading the lake's layout.

use thiserror::Error;

/// Errors from configuring or listing the lake.
#[derive(Debug, Error)]
pub enum LakeError {
    /// A zone URL that is neither a path, `file://` nor `s3://`.
    #[error("zone `{zone}`: unsupported URL `{url}` (use a path, file:// or s3://)")]
    UnsupportedUrl { zone: String, url: String },
    /// A zone URL that does not parse.
    #[error("zone `{zone}`: invalid URL `{url}`: {reason}")]
    InvalidUrl {
        zone: String,
        url: String,
        reason: String,
    },
    /// A zone name that cannot become part of a schema name.
    #[error("zone name `{0}` must be lower-case letters, digits or `_`")]
    InvalidZoneName(String),
    /// Listing or reading the object store failed.
    #[error("zone `{zone}`: {source}")]
    Store {
        zone: String,
        #[source]
        source: object_store::Error,
    },
    /// Building the DataFusion table for a dataset failed.
    #[error("table `{table}`: {source}")]
    Table {
        table: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
}
