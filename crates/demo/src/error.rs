//! Demo errors.

use thiserror::Error;

/// Writing the demo failed.
#[derive(Debug, Error)]
pub enum DemoError {
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("writing Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("building Arrow data: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("generating keys: {0}")]
    Keys(#[from] rcgen::Error),
}

impl DemoError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
        move |source| DemoError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
