//! What can go wrong for a client, as enums the front ends map exhaustively.

use datafusion::error::DataFusionError;
use lakegate_policy::Forbidden;
use thiserror::Error;

/// Why a token (or a login) was refused. Messages never contain the token.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("token is larger than 8 KiB")]
    TooLarge,
    #[error("token is not a well-formed JWT")]
    Malformed,
    #[error("token algorithm `{0}` is not accepted")]
    AlgorithmNotAllowed(String),
    #[error("token header lists critical extensions (crit), which are not supported")]
    CriticalExtension,
    #[error("token has no key id (kid)")]
    MissingKeyId,
    #[error("token is signed with an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer is not accepted")]
    WrongIssuer,
    #[error("token audience is not accepted")]
    WrongAudience,
    #[error("token lacks the required claim `{0}`")]
    MissingClaim(String),
    #[error("token claim `{0}` has the wrong type")]
    BadClaim(String),
    #[error("user name does not match the token")]
    UserMismatch,
    #[error("a token is required")]
    NoToken,
}

/// Why a statement failed. Messages reveal nothing the principal may not see.
#[derive(Debug, Error)]
pub enum QueryError {
    #[error("syntax error: {0}")]
    Syntax(String),
    /// Missing and hidden tables alike.
    #[error("{0}")]
    TableNotFound(String),
    /// Missing and hidden columns alike.
    #[error("{0}")]
    ColumnNotFound(String),
    #[error("{0}")]
    Forbidden(#[from] Forbidden),
    #[error("unrecognized configuration parameter \"{0}\"")]
    UnknownSetting(String),
    #[error("invalid value for parameter \"{name}\": \"{value}\"")]
    InvalidParameterValue { name: String, value: String },
    /// An argument a function cannot take (`format('%x', …)`).
    #[error("{0}")]
    InvalidArgument(String),
    /// A date/time template or text that does not match it (`to_char`, `to_date`).
    #[error("{0}")]
    InvalidDatetimeFormat(String),
    /// A size the statement asks for is over what the server allows (`repeat`, `$N`).
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0} is not supported")]
    Unsupported(String),
    /// Too large or too deeply nested to process safely.
    #[error("statement too complex: {0}")]
    TooComplex(String),
    /// Planning failed: types, functions, ambiguous names.
    #[error("{0}")]
    Plan(String),
    #[error("division by zero")]
    DivisionByZero,
    /// A value does not fit the type it must have (a bound parameter, say).
    #[error("numeric value out of range: {0}")]
    NumericOutOfRange(String),
    /// A value could not be converted or computed.
    #[error("{0}")]
    Data(String),
    /// A data file of these tables could not be read.
    #[error("could not read table {tables}: a data file is missing, corrupt or unreadable")]
    DataFile { tables: String },
    /// A data file of these tables was rewritten or deleted while the statement read it
    /// (after rows were sent, or again on the statement's second run): running it again
    /// reads the table as it is now.
    #[error(
        "could not read table {tables}: a data file changed while it was read; run the statement again"
    )]
    Changed { tables: String },
    /// A prepared statement's result columns changed since it was described (the lake or
    /// the policy changed): PostgreSQL's error, after which drivers prepare it again.
    #[error("cached plan must not change result type")]
    ResultTypeChanged,
    /// The table's policy no longer matches its data, so it is closed to this principal.
    #[error("table {tables} is unavailable: its access policy does not match its current data")]
    Unavailable { tables: String },
    #[error("canceling statement due to user request")]
    Cancelled,
    #[error("canceling statement due to statement timeout ({0} s)")]
    Timeout(u64),
    #[error("out of memory: {0}")]
    ResourcesExhausted(String),
    /// A connection or stream limit is reached; which one is named.
    #[error("too many connections: {0}")]
    TooManyConnections(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A gRPC status code (gRPC's `statuscodes.md` names), for the Flight front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcCode {
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    Unimplemented,
    Internal,
    DataLoss,
    Cancelled,
    DeadlineExceeded,
}

/// How loudly the server logs a failed statement (the audit line records every one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// The client's own doing: bad SQL, a missing table, a refused statement.
    Debug,
    /// A limit or a change in the lake an operator may want to see.
    Warn,
    /// The server or the lake failed.
    Error,
}

/// How each front end reports an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCodes {
    /// PostgreSQL's SQLSTATE (appendix A of the PostgreSQL documentation).
    pub sqlstate: &'static str,
    pub grpc: GrpcCode,
    pub level: LogLevel,
}

const fn codes(sqlstate: &'static str, grpc: GrpcCode, level: LogLevel) -> ErrorCodes {
    ErrorCodes {
        sqlstate,
        grpc,
        level,
    }
}

impl QueryError {
    /// The SQLSTATE, gRPC code and log level of each error: one match, exhaustive on
    /// purpose, so a new variant must be given all three here. Hidden and missing tables or
    /// columns share `42P01`/`42703` and `NOT_FOUND`; `42501`/`PERMISSION_DENIED` is only
    /// for forbidden statement classes.
    pub fn codes(&self) -> ErrorCodes {
        use GrpcCode::*;
        use LogLevel::{Debug, Error, Warn};
        match self {
            QueryError::Syntax(_) => codes("42601", InvalidArgument, Debug),
            QueryError::TableNotFound(_) => codes("42P01", NotFound, Debug),
            QueryError::ColumnNotFound(_) => codes("42703", NotFound, Debug),
            QueryError::Forbidden(_) => codes("42501", PermissionDenied, Debug),
            QueryError::UnknownSetting(_) => codes("42704", InvalidArgument, Debug),
            QueryError::InvalidParameterValue { .. } => codes("22023", InvalidArgument, Debug),
            QueryError::InvalidDatetimeFormat(_) => codes("22007", InvalidArgument, Debug),
            QueryError::LimitExceeded(_) => codes("54000", ResourceExhausted, Warn),
            QueryError::Unsupported(_) => codes("0A000", Unimplemented, Debug),
            QueryError::TooComplex(_) => codes("54001", InvalidArgument, Warn),
            QueryError::Plan(_) => codes("42804", InvalidArgument, Debug),
            QueryError::DivisionByZero => codes("22012", InvalidArgument, Debug),
            QueryError::Data(_) => codes("22000", InvalidArgument, Debug),
            QueryError::DataFile { .. } => codes("XX001", DataLoss, Error),
            QueryError::ResultTypeChanged => codes("0A000", FailedPrecondition, Debug),
            QueryError::NumericOutOfRange(_) => codes("22003", InvalidArgument, Debug),
            QueryError::InvalidArgument(_) => codes("22023", InvalidArgument, Debug),
            // serialization_failure / ABORTED: a concurrent change; the client may retry.
            QueryError::Changed { .. } => codes("40001", Aborted, Warn),
            QueryError::Unavailable { .. } => codes("55000", FailedPrecondition, Error),
            QueryError::Cancelled => codes("57014", Cancelled, Debug),
            QueryError::Timeout(_) => codes("57014", DeadlineExceeded, Warn),
            QueryError::ResourcesExhausted(_) => codes("53200", ResourceExhausted, Warn),
            QueryError::TooManyConnections(_) => codes("53300", ResourceExhausted, Warn),
            QueryError::Internal(_) => codes("XX000", Internal, Error),
        }
    }

    /// Sorts a DataFusion error into what the client is told. `tables` are the tables the
    /// statement reads, named when a data file fails.
    pub fn from_datafusion(error: DataFusionError, tables: &[String]) -> QueryError {
        if lakegate_lake::ObjectChanged::find(&error).is_some() {
            return QueryError::Changed {
                tables: named(tables),
            };
        }
        match error {
            DataFusionError::Context(_, inner) => QueryError::from_datafusion(*inner, tables),
            DataFusionError::Diagnostic(_, inner) => QueryError::from_datafusion(*inner, tables),
            DataFusionError::Shared(inner) => match std::sync::Arc::try_unwrap(inner) {
                Ok(inner) => QueryError::from_datafusion(inner, tables),
                Err(shared) => QueryError::from_message(&shared.to_string(), tables),
            },
            DataFusionError::Collection(mut errors) => match errors.pop() {
                Some(first) => QueryError::from_datafusion(first, tables),
                None => QueryError::Internal("empty error collection".to_string()),
            },
            DataFusionError::SQL(e, _) => QueryError::Syntax(e.to_string()),
            DataFusionError::SchemaError(e, _) => match *e {
                datafusion::common::SchemaError::FieldNotFound { .. } => {
                    QueryError::ColumnNotFound(strip_prefix(&e.to_string()))
                }
                other => QueryError::Plan(other.to_string()),
            },
            DataFusionError::Plan(message) => QueryError::from_message(&message, tables),
            DataFusionError::NotImplemented(message) => QueryError::Unsupported(message),
            DataFusionError::ArrowError(e, _) => match *e {
                datafusion::arrow::error::ArrowError::DivideByZero => QueryError::DivisionByZero,
                datafusion::arrow::error::ArrowError::ParquetError(_)
                | datafusion::arrow::error::ArrowError::IoError(_, _) => data_file(tables),
                other => QueryError::Data(other.to_string()),
            },
            DataFusionError::ParquetError(_)
            | DataFusionError::ObjectStore(_)
            | DataFusionError::IoError(_) => data_file(tables),
            DataFusionError::ResourcesExhausted(m) => QueryError::ResourcesExhausted(m),
            DataFusionError::ExecutionJoin(e) => QueryError::Internal(e.to_string()),
            DataFusionError::External(e) => {
                if e.is::<lakegate_engine::PolicyUnavailable>() {
                    return QueryError::Unavailable {
                        tables: named(tables),
                    };
                }
                if let Some(value) = e.downcast_ref::<lakegate_pgcompat::ValueError>() {
                    return match value {
                        lakegate_pgcompat::ValueError::InvalidDatetimeFormat(m) => {
                            QueryError::InvalidDatetimeFormat(m.clone())
                        }
                        lakegate_pgcompat::ValueError::LimitExceeded(m) => {
                            QueryError::LimitExceeded(m.clone())
                        }
                        lakegate_pgcompat::ValueError::InvalidParameter(m) => {
                            QueryError::InvalidArgument(m.clone())
                        }
                    };
                }
                match e.downcast::<DataFusionError>() {
                    Ok(inner) => QueryError::from_datafusion(*inner, tables),
                    Err(e) => match e.downcast::<datafusion::parquet::errors::ParquetError>() {
                        Ok(_) => data_file(tables),
                        Err(e) => QueryError::from_message(&e.to_string(), tables),
                    },
                }
            }
            DataFusionError::Execution(message) => {
                if message.to_ascii_lowercase().contains("divide by zero") {
                    QueryError::DivisionByZero
                } else {
                    QueryError::Data(message)
                }
            }
            other => QueryError::from_message(&other.to_string(), tables),
        }
    }

    fn from_message(message: &str, tables: &[String]) -> QueryError {
        let lower = message.to_ascii_lowercase();
        if lower.contains("not found") && (lower.starts_with("table ") || lower.contains("table '"))
        {
            QueryError::TableNotFound(format!("relation {} does not exist", quoted_name(message)))
        } else if lower.contains("parquet") || lower.contains("object store") {
            data_file(tables)
        } else {
            QueryError::Plan(strip_prefix(message))
        }
    }
}

fn data_file(tables: &[String]) -> QueryError {
    QueryError::DataFile {
        tables: named(tables),
    }
}

fn named(tables: &[String]) -> String {
    if tables.is_empty() {
        "(unknown)".to_string()
    } else {
        tables.join(", ")
    }
}

/// `table 'lake.parking_raw_zone.x' not found` → `"parking_raw_zone.x"`, as PostgreSQL
/// names relations (without the database).
fn quoted_name(message: &str) -> String {
    let name = message.split('\'').nth(1).unwrap_or(message);
    let parts: Vec<&str> = name.split('.').collect();
    let shown = if parts.len() == 3 {
        parts[1..].join(".")
    } else {
        name.to_string()
    };
    format!("\"{shown}\"")
}

fn strip_prefix(message: &str) -> String {
    message
        .trim_start_matches("Error during planning: ")
        .trim_start_matches("Schema error: ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tables_are_named_like_postgres() {
        let e = QueryError::from_datafusion(
            DataFusionError::Plan("table 'lake.parking_raw_zone.x' not found".to_string()),
            &[],
        );
        assert!(
            matches!(&e, QueryError::TableNotFound(m) if m == "relation \"parking_raw_zone.x\" does not exist"),
            "{e:?}"
        );
    }

    #[test]
    fn parquet_failures_name_the_table_not_the_file() {
        let e = QueryError::from_datafusion(
            DataFusionError::ParquetError(Box::new(
                datafusion::parquet::errors::ParquetError::General(
                    "/lake/raw/x/part-0.parquet: bad".into(),
                ),
            )),
            &["parking_raw_zone.tickets".to_string()],
        );
        let shown = e.to_string();
        assert!(shown.contains("parking_raw_zone.tickets"), "{shown}");
        assert!(!shown.contains("part-0"), "{shown}");
    }
}
