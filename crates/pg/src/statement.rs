//! Prepared statements for the extended protocol.

use std::sync::Arc;

use arrow_pg::datatypes::into_pg_type;
use async_trait::async_trait;
use lakegate_gateway::arrow::datatypes::{DataType, SchemaRef};
use lakegate_gateway::{
    Action, Gateway, LogicalPlan, Origin, Outcome, QueryError, Session, Statement,
};
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::api::stmt::QueryParser;
use pgwire::api::{ClientInfo, Type};
use pgwire::error::PgWireResult;

use crate::connection::Connection;
use crate::error::{query_error, query_error_with_id};
use crate::settings::show_fields;

/// A parsed statement and what the guard decided about it. Queries (and a `DECLARE`'s query)
/// keep the plan made at Parse for Describe and their parameters' types; Execute plans
/// again, so a policy or lake change since Parse applies.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The statement as the client wrote it, for `pg_stat_activity`.
    pub sql: String,
    pub statement: Statement,
    pub action: Action,
    pub plan: Option<LogicalPlan>,
    /// Each result column's table OID and attribute number, where it has them.
    pub origins: Vec<Origin>,
    /// For `FETCH`: the columns of the cursor it reads, known once the cursor is declared.
    pub cursor_schema: Option<SchemaRef>,
}

impl Prepared {
    /// The types to decode bound parameters as; `None` where the plan leaves one open.
    pub fn parameter_types(&self) -> PgWireResult<Vec<Option<DataType>>> {
        match &self.plan {
            Some(plan) => Session::parameter_types(plan).map_err(|e| query_error(&e)),
            None => Ok(Vec::new()),
        }
    }
}

/// Parses and plans statements for the extended protocol as the connected principal.
pub struct StatementParser {
    pub gateway: Arc<Gateway>,
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let connection = Connection::of(client)?;
        let mut statements = self.gateway.parse(sql).map_err(|e| query_error(&e))?;
        if statements.len() > 1 {
            return Err(query_error(&QueryError::Syntax(
                "cannot insert multiple commands into a prepared statement".to_string(),
            )));
        }
        let Some(statement) = statements.pop() else {
            return Ok(None);
        };
        let action = match self.gateway.classify(&statement) {
            Ok(action) => action,
            Err(e) => {
                let audit = self
                    .gateway
                    .audit(connection.caller(), &statement.to_string());
                let id = audit.id().to_string();
                audit.finish(Outcome::of(&e), 0, Some(&e));
                return Err(query_error_with_id(&e, &id));
            }
        };
        let cursor_schema = match &action {
            Action::Fetch { name, .. } => connection.cursors.schema(name).await,
            _ => None,
        };
        // A query, or the query a `DECLARE` opens a cursor over (psycopg 3 binds its
        // parameters to the `DECLARE`): planned now for its parameters' types.
        let query = match &action {
            Action::Query => Some(statement.clone()),
            Action::Declare { query, .. } => {
                let mut inner = self.gateway.parse(query).map_err(|e| query_error(&e))?;
                (inner.len() == 1).then(|| inner.remove(0))
            }
            _ => None,
        };
        let (plan, origins) = match query {
            Some(query) => {
                let session = self
                    .gateway
                    .session(&connection.identity.principal)
                    .await
                    .map_err(|e| query_error(&e))?;
                let plan = session
                    .plan(&query, &crate::settings::session_zone(client.metadata()))
                    .await
                    .map_err(|e| query_error(&e))?;
                let origins = session.column_origins(&plan).await;
                (Some(plan), origins)
            }
            None => (None, Vec::new()),
        };
        Ok(Some(Prepared {
            sql: sql.to_string(),
            statement,
            action,
            plan,
            origins,
            cursor_schema,
        }))
    }

    fn get_parameter_types(&self, prepared: &Prepared) -> PgWireResult<Vec<Type>> {
        prepared
            .parameter_types()?
            .iter()
            .map(|t| match t {
                Some(t) => into_pg_type(t),
                None => Ok(Type::TEXT),
            })
            .collect()
    }

    fn get_result_schema(
        &self,
        prepared: &Prepared,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match (&prepared.plan, &prepared.action) {
            // `DECLARE` itself returns no rows; its cursor is described by name.
            (_, Action::Declare { .. }) => Ok(Vec::new()),
            (Some(plan), _) => {
                let schema = Session::result_schema(plan);
                let format = format.unwrap_or(&Format::UnifiedText);
                crate::wire::fields(&schema, &prepared.origins, format, None)
            }
            (None, Action::Show(name)) => Ok(show_fields(name)),
            (None, Action::Fetch { .. }) => match &prepared.cursor_schema {
                Some(schema) => {
                    crate::wire::fields(schema, &[], format.unwrap_or(&Format::UnifiedText), None)
                }
                None => Ok(Vec::new()),
            },
            (None, _) => Ok(Vec::new()),
        }
    }
}
