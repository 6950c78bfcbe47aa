//! Policy errors.

use thiserror::Error;

/// A policy file that cannot be used.
#[derive(Debug, Error)]
pub enum PolicyError {
    /// The TOML is malformed or has an unknown key; the message names the line.
    #[error("policy: {0}")]
    Parse(#[from] toml::de::Error),
    /// A rule that can never match.
    #[error("policy: {0}")]
    Invalid(String),
}

/// A statement class a read-only lake never runs, whoever asks. These are the only
/// statements that get "permission denied" rather than "does not exist".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Forbidden {
    #[error("lakegate is read-only: {0} statements are not allowed")]
    Ddl(String),
    #[error("lakegate is read-only: {0} statements are not allowed")]
    Write(String),
    #[error("COPY to or from files is not allowed")]
    CopyFile,
    #[error("setting engine option `{0}` is not allowed")]
    EngineSetting(String),
    #[error("reading files or URLs as tables is not allowed")]
    UrlTable,
    #[error("table function `{0}` is not allowed")]
    TableFunction(String),
    #[error("EXPLAIN ANALYZE is not allowed")]
    ExplainAnalyze,
    #[error("{0} statements are not allowed")]
    Statement(String),
}
