//! Engine errors.

use thiserror::Error;

/// Building a session or runtime failed.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("building the session catalog: {0}")]
    Catalog(#[from] datafusion::error::DataFusionError),
    #[error("installing pg_catalog: {0}")]
    PgCatalog(String),
    #[error("starting the query threads: {0}")]
    Threads(#[from] std::io::Error),
}
