//! The one mapping from gateway errors to gRPC status codes.

use lakegate_gateway::{AuthError, QueryError};
use tonic::{Code, Status};

/// The gRPC code for each query error. Exhaustive on purpose: a new variant must be given
/// its code here. Hidden and missing tables or columns share `NOT_FOUND`;
/// `PERMISSION_DENIED` is only for forbidden statement classes.
pub fn code(error: &QueryError) -> Code {
    match error {
        QueryError::TableNotFound(_) | QueryError::ColumnNotFound(_) => Code::NotFound,
        QueryError::Forbidden(_) => Code::PermissionDenied,
        QueryError::Syntax(_)
        | QueryError::UnknownSetting(_)
        | QueryError::InvalidParameterValue { .. }
        | QueryError::InvalidDatetimeFormat(_)
        | QueryError::Plan(_)
        | QueryError::DivisionByZero
        | QueryError::Data(_)
        | QueryError::TooComplex(_) => Code::InvalidArgument,
        QueryError::Unsupported(_) => Code::Unimplemented,
        QueryError::DataFile { .. } => Code::DataLoss,
        QueryError::ResultTypeChanged => Code::FailedPrecondition,
        QueryError::NumericOutOfRange(_) | QueryError::InvalidArgument(_) => Code::InvalidArgument,
        // gRPC's code for a concurrency conflict the client may retry.
        QueryError::Changed { .. } => Code::Aborted,
        QueryError::Unavailable { .. } => Code::FailedPrecondition,
        QueryError::Cancelled => Code::Cancelled,
        QueryError::Timeout(_) => Code::DeadlineExceeded,
        QueryError::ResourcesExhausted(_)
        | QueryError::TooManyConnections(_)
        | QueryError::LimitExceeded(_) => Code::ResourceExhausted,
        QueryError::Internal(_) => Code::Internal,
    }
}

/// A query error as the client sees it, with the audit log's query id when there is one.
pub fn query_status(error: &QueryError, query_id: Option<&str>) -> Status {
    let message = match query_id {
        Some(id) => format!("{error} (query id {id})"),
        None => error.to_string(),
    };
    Status::new(code(error), message)
}

/// A refused token: always `UNAUTHENTICATED`, before any work is done.
pub fn auth_status(error: &AuthError) -> Status {
    Status::unauthenticated(error.to_string())
}

#[cfg(test)]
mod tests {
    use lakegate_gateway::Forbidden;

    use super::*;

    #[test]
    fn hidden_and_missing_are_not_found_forbidden_is_permission_denied() {
        assert_eq!(code(&QueryError::TableNotFound("x".into())), Code::NotFound);
        assert_eq!(
            code(&QueryError::ColumnNotFound("x".into())),
            Code::NotFound
        );
        assert_eq!(
            code(&QueryError::Forbidden(Forbidden::Ddl("DROP".into()))),
            Code::PermissionDenied
        );
        assert_eq!(code(&QueryError::Syntax("x".into())), Code::InvalidArgument);
        assert_eq!(code(&QueryError::Cancelled), Code::Cancelled);
    }
}
