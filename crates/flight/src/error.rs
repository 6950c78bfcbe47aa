//! The one mapping from gateway errors to gRPC status codes.

use lakegate_gateway::{AuthError, Failed, GrpcCode, QueryError};
use tonic::{Code, Status};

/// The gRPC code of a query error (`QueryError::codes`).
pub fn code(error: &QueryError) -> Code {
    match error.codes().grpc {
        GrpcCode::InvalidArgument => Code::InvalidArgument,
        GrpcCode::NotFound => Code::NotFound,
        GrpcCode::PermissionDenied => Code::PermissionDenied,
        GrpcCode::ResourceExhausted => Code::ResourceExhausted,
        GrpcCode::FailedPrecondition => Code::FailedPrecondition,
        GrpcCode::Aborted => Code::Aborted,
        GrpcCode::Unimplemented => Code::Unimplemented,
        GrpcCode::Internal => Code::Internal,
        GrpcCode::DataLoss => Code::DataLoss,
        GrpcCode::Cancelled => Code::Cancelled,
        GrpcCode::DeadlineExceeded => Code::DeadlineExceeded,
        GrpcCode::Unauthenticated => Code::Unauthenticated,
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

/// A statement the gateway refused, with its audit line's query id where it has one.
pub fn failed(failed: &Failed) -> Status {
    query_status(&failed.error, failed.query_id.as_deref())
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
