//! Prepared statements for the extended protocol.

use std::sync::Arc;

use arrow_pg::datatypes::into_pg_type;
use async_trait::async_trait;
use lakegate_gateway::arrow::datatypes::SchemaRef;
use lakegate_gateway::{Action, Described, Gateway, Request, Statement};
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::api::stmt::QueryParser;
use pgwire::api::{ClientInfo, Type};
use pgwire::error::PgWireResult;

use crate::connection::Connection;
use crate::error::failed;

/// A parsed statement as the gateway described it. Execute runs it again from the
/// statement (its plan is cached), so a policy or lake change since Parse applies.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The statement as the client wrote it, for `pg_stat_activity`.
    pub sql: String,
    pub statement: Statement,
    pub described: Described,
    /// For `FETCH`: the columns of the cursor it reads, known once the cursor is declared.
    pub cursor_schema: Option<SchemaRef>,
}

/// Parses and describes statements for the extended protocol as the connected principal.
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
        let caller = connection.caller();
        let Some(statement) = self
            .gateway
            .statement(&caller, sql)
            .map_err(|f| failed(&f))?
        else {
            return Ok(None);
        };
        let text = statement.to_string();
        let request = Request {
            caller: &caller,
            sql: &text,
            statement: &statement,
            settings: client.metadata(),
            params: None,
            cancel: None,
            described: None,
        };
        let described = self
            .gateway
            .describe(request)
            .await
            .map_err(|f| failed(&f))?;
        let cursor_schema = match &described.action {
            Action::Fetch { name, .. } => connection.cursors.schema(name).await,
            _ => None,
        };
        Ok(Some(Prepared {
            sql: sql.to_string(),
            statement,
            described,
            cursor_schema,
        }))
    }

    fn get_parameter_types(&self, prepared: &Prepared) -> PgWireResult<Vec<Type>> {
        (prepared.described.parameter_types)
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
        let format = format.unwrap_or(&Format::UnifiedText);
        let described = &prepared.described;
        match (&described.action, &prepared.cursor_schema) {
            (Action::Fetch { .. }, Some(schema)) => crate::wire::fields(schema, &[], format, None),
            _ => crate::wire::fields(&described.columns, &described.origins, format, None),
        }
    }
}
