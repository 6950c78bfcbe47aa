//! What can go wrong for a client, as enums the front ends map exhaustively.

use datafusion::arrow::error::ArrowError;
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
    /// A bound parameter's bytes are not a value of its type: PostgreSQL's "invalid input
    /// syntax for type …".
    #[error("{0}")]
    InvalidText(String),
    /// A regular expression that does not compile (`~`, `regexp_replace`).
    #[error("invalid regular expression: {0}")]
    InvalidRegex(String),
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
    /// `FETCH`, `MOVE` or `CLOSE` of a cursor the connection has not declared.
    #[error("cursor \"{0}\" does not exist")]
    NoSuchCursor(String),
    #[error("cursor \"{0}\" already exists")]
    DuplicateCursor(String),
    #[error("canceling statement due to user request")]
    Cancelled,
    #[error("canceling statement due to statement timeout ({0} s)")]
    Timeout(u64),
    /// The caller's token expired while its statement ran: a session lasts as long as its
    /// token, so its rows stop there.
    #[error("token has expired; reconnect with a new token")]
    TokenExpired,
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
    Unauthenticated,
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
            QueryError::InvalidText(_) => codes("22P02", InvalidArgument, Debug),
            QueryError::InvalidRegex(_) => codes("2201B", InvalidArgument, Debug),
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
            // Cursors are a Postgres connection's; Flight SQL never has one to name.
            QueryError::NoSuchCursor(_) => codes("34000", NotFound, Debug),
            QueryError::DuplicateCursor(_) => codes("42P03", InvalidArgument, Debug),
            QueryError::Cancelled => codes("57014", Cancelled, Debug),
            QueryError::Timeout(_) => codes("57014", DeadlineExceeded, Warn),
            // invalid_password, PostgreSQL's code for a refused credential.
            QueryError::TokenExpired => codes("28P01", Unauthenticated, Debug),
            QueryError::ResourcesExhausted(_) => codes("53200", ResourceExhausted, Warn),
            QueryError::TooManyConnections(_) => codes("53300", ResourceExhausted, Warn),
            QueryError::Internal(_) => codes("XX000", Internal, Error),
        }
    }

    /// Sorts a DataFusion error into what the client is told, by its type (wrapped,
    /// shared or external errors are looked through), never by its message. `tables` are
    /// the tables the statement reads, named when a data file fails. A missing or hidden
    /// relation is refused before planning (`Session::plan`), so DataFusion's own "table
    /// not found" is only met for a name it resolves otherwise, and stays a plan error.
    pub fn from_datafusion(error: DataFusionError, tables: &[String]) -> QueryError {
        QueryError::classify(&error, tables)
    }

    fn classify(error: &DataFusionError, tables: &[String]) -> QueryError {
        if lakegate_lake::ObjectChanged::find(error).is_some() {
            return QueryError::Changed {
                tables: named(tables),
            };
        }
        match error {
            DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
                QueryError::classify(inner, tables)
            }
            DataFusionError::Shared(inner) => QueryError::classify(inner, tables),
            // The first error of several is the one that stopped the statement.
            DataFusionError::Collection(errors) => match errors.first() {
                Some(first) => QueryError::classify(first, tables),
                None => QueryError::Internal("empty error collection".to_string()),
            },
            DataFusionError::SQL(e, _) => QueryError::Syntax(e.to_string()),
            DataFusionError::SchemaError(e, _) => match e.as_ref() {
                datafusion::common::SchemaError::FieldNotFound { .. } => {
                    QueryError::ColumnNotFound(strip_prefix(&e.to_string()))
                }
                other => QueryError::Plan(other.to_string()),
            },
            DataFusionError::Plan(message) | DataFusionError::Configuration(message) => {
                QueryError::Plan(strip_prefix(message))
            }
            DataFusionError::NotImplemented(message) => QueryError::Unsupported(message.clone()),
            DataFusionError::ArrowError(e, _) => QueryError::from_arrow(e, tables),
            DataFusionError::ParquetError(_)
            | DataFusionError::ObjectStore(_)
            | DataFusionError::IoError(_) => data_file(tables),
            DataFusionError::ResourcesExhausted(m) => QueryError::ResourcesExhausted(m.clone()),
            DataFusionError::External(e) => QueryError::from_external(e.as_ref(), tables),
            DataFusionError::Execution(message) => QueryError::Data(message.clone()),
            DataFusionError::ExecutionJoin(e) => QueryError::Internal(e.to_string()),
            DataFusionError::Internal(message) => QueryError::Internal(message.clone()),
            DataFusionError::Substrait(message) | DataFusionError::Ffi(message) => {
                QueryError::Internal(message.clone())
            }
        }
    }

    fn from_arrow(error: &ArrowError, tables: &[String]) -> QueryError {
        match error {
            ArrowError::DivideByZero => QueryError::DivisionByZero,
            ArrowError::ParquetError(_) | ArrowError::IoError(_, _) => data_file(tables),
            ArrowError::ExternalError(e) => QueryError::from_external(e.as_ref(), tables),
            ArrowError::ArithmeticOverflow(m) => QueryError::NumericOutOfRange(m.clone()),
            ArrowError::MemoryError(m) => QueryError::ResourcesExhausted(m.clone()),
            other => QueryError::Data(other.to_string()),
        }
    }

    /// An error another crate raised inside DataFusion: lakegate's own (a policy that no
    /// longer fits its data, a PostgreSQL value error) or a wrapped library error.
    fn from_external(
        error: &(dyn std::error::Error + Send + Sync + 'static),
        tables: &[String],
    ) -> QueryError {
        if error.is::<lakegate_engine::PolicyUnavailable>() {
            return QueryError::Unavailable {
                tables: named(tables),
            };
        }
        if let Some(value) = error.downcast_ref::<lakegate_pgcompat::ValueError>() {
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
        if let Some(inner) = error.downcast_ref::<DataFusionError>() {
            return QueryError::classify(inner, tables);
        }
        // Compiling the pattern (`regex`) or, when the planner folds a constant one, only
        // parsing it (`regex-syntax`).
        if let Some(regex) = error.downcast_ref::<regex::Error>() {
            return QueryError::InvalidRegex(regex.to_string());
        }
        if let Some(regex) = error.downcast_ref::<regex_syntax::Error>() {
            return QueryError::InvalidRegex(regex.to_string());
        }
        if let Some(inner) = error.downcast_ref::<ArrowError>() {
            return QueryError::from_arrow(inner, tables);
        }
        // Reading a data file failed: the table is named, never the file, its path or URL.
        if error.is::<datafusion::parquet::errors::ParquetError>()
            || error.is::<object_store::Error>()
            || error.is::<std::io::Error>()
        {
            return data_file(tables);
        }
        // Another library's error while the statement's expressions were evaluated: about
        // the values, as far as anything says, so not an internal error (which is logged
        // as the server's own failure).
        QueryError::Data(error.to_string())
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
    fn errors_are_sorted_by_type_through_wrappers() {
        let zero = DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None);
        let shared = DataFusionError::Shared(std::sync::Arc::new(DataFusionError::Context(
            "while running".to_string(),
            Box::new(zero),
        )));
        assert!(matches!(
            QueryError::from_datafusion(shared, &[]),
            QueryError::DivisionByZero
        ));
        // Words in a message decide nothing: an execution error that mentions "table" and
        // "not found" or "parquet" is still a value error.
        let worded = DataFusionError::Execution("table 'x' not found in parquet".to_string());
        assert!(matches!(
            QueryError::from_datafusion(worded, &[]),
            QueryError::Data(_)
        ));
        // A pattern a user sends, not a literal of ours (clippy checks those).
        let pattern = String::from("(");
        let regex = regex::Regex::new(&pattern).unwrap_err();
        assert!(matches!(
            QueryError::from_datafusion(DataFusionError::External(Box::new(regex)), &[]),
            QueryError::InvalidRegex(_)
        ));
        let external = DataFusionError::External(Box::new(ArrowError::DivideByZero));
        assert!(matches!(
            QueryError::from_datafusion(external, &[]),
            QueryError::DivisionByZero
        ));
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
