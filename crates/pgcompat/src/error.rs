//! Errors of PostgreSQL's functions, with the SQLSTATE PostgreSQL gives them.

use thiserror::Error;

/// A value a SQL function was given that PostgreSQL refuses with a SQLSTATE of its own.
/// Functions return it wrapped in `DataFusionError::External`; the gateway maps it.
#[derive(Debug, Error)]
pub enum ValueError {
    /// `22007`: a date/time template pattern, or text that does not match its template.
    #[error("{0}")]
    InvalidDatetimeFormat(String),
    /// `54000`: a size the statement asks for is over the server's limit.
    #[error("{0}")]
    LimitExceeded(String),
    /// `22023`: an argument a function cannot take (`format('%x')`, `pg_sleep` past a day).
    #[error("{0}")]
    InvalidParameter(String),
}

impl ValueError {
    /// As DataFusion carries errors of functions.
    pub fn into_datafusion(self) -> datafusion::error::DataFusionError {
        datafusion::error::DataFusionError::External(Box::new(self))
    }
}
