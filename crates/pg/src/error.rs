//! The one mapping from gateway errors to SQLSTATE.

use lakegate_gateway::{AuthError, Failed, QueryError};
use pgwire::error::{ErrorInfo, PgWireError};

/// The SQLSTATE of a query error (`QueryError::codes`).
pub fn sqlstate(error: &QueryError) -> &'static str {
    error.codes().sqlstate
}

/// A query error as the client sees it.
pub fn query_error(error: &QueryError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(error)))
}

fn error_info(error: &QueryError) -> ErrorInfo {
    let mut info = ErrorInfo::new(
        "ERROR".to_string(),
        sqlstate(error).to_string(),
        error.to_string(),
    );
    if let QueryError::ResultTypeChanged = error {
        // pgjdbc prepares a statement again only when the error names PostgreSQL's routine
        // (QueryExecutorBase.willHealViaReparse).
        info.routine = Some("RevalidateCachedQuery".to_string());
    }
    info
}

/// A query error carrying the audit log's query id, which ties what the user sees to the
/// detail the audit line holds.
pub fn query_error_with_id(error: &QueryError, query_id: &str) -> PgWireError {
    let mut info = error_info(error);
    info.detail = Some(format!("query id {query_id}"));
    PgWireError::UserError(Box::new(info))
}

/// A statement the gateway refused, with its audit line's query id where it has one.
pub fn failed(failed: &Failed) -> PgWireError {
    match &failed.query_id {
        Some(id) => query_error_with_id(&failed.error, id),
        None => query_error(&failed.error),
    }
}

/// A refused login: always fatal, so the connection closes before any query. Login
/// failures are `28P01`, except a missing TLS layer, which is `28000`.
pub fn auth_error(error: &AuthError, user: &str) -> PgWireError {
    let code = match error {
        AuthError::TooLarge
        | AuthError::Malformed
        | AuthError::AlgorithmNotAllowed(_)
        | AuthError::CriticalExtension
        | AuthError::MissingKeyId
        | AuthError::UnknownKey
        | AuthError::BadSignature
        | AuthError::Expired
        | AuthError::NotYetValid
        | AuthError::WrongIssuer
        | AuthError::WrongAudience
        | AuthError::MissingClaim(_)
        | AuthError::BadClaim(_)
        | AuthError::UserMismatch
        | AuthError::NoToken => "28P01",
    };
    fatal(
        code,
        format!("password authentication failed for user \"{user}\": {error}"),
    )
}

/// A fatal error: pgwire closes the connection after sending it.
pub fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_string(),
        code.to_string(),
        message,
    )))
}

#[cfg(test)]
mod tests {
    use lakegate_gateway::Forbidden;

    use super::*;

    #[test]
    fn hidden_and_missing_share_codes_forbidden_is_42501() {
        assert_eq!(sqlstate(&QueryError::TableNotFound("x".into())), "42P01");
        assert_eq!(sqlstate(&QueryError::ColumnNotFound("x".into())), "42703");
        assert_eq!(
            sqlstate(&QueryError::Forbidden(Forbidden::Ddl("DROP".into()))),
            "42501"
        );
        assert_eq!(sqlstate(&QueryError::Cancelled), "57014");
    }
}
