//! Simple and extended query handling: the pg adapter of the gateway's statement lifecycle.
//! Messages in, a [`Request`] to the gateway, its [`Answer`] encoded as pg responses.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use lakegate_gateway::{
    Action, Answer, Cancel, Command, Described, Gateway, QueryError, Request, Statement,
    Transaction,
};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler, send_describe_response};
use pgwire::api::results::DescribePortalResponse;
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{Describe, Execute, TARGET_TYPE_BYTE_PORTAL};

use crate::columnar::TextOptions;
use crate::connection::Connection;
use crate::encode::{copy_response, query_response, rows_response};
use crate::error::{failed, query_error_with_id};
use crate::settings;
use crate::statement::{Prepared, StatementParser};

/// Answers queries for every connection; per-connection state lives in the client.
pub struct QueryHandler {
    pub gateway: Arc<Gateway>,
    pub parser: Arc<StatementParser>,
}

#[async_trait]
impl SimpleQueryHandler for QueryHandler {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let connection = Connection::of(client)?;
        let caller = connection.caller();
        let statements = self
            .gateway
            .statements(&caller, query)
            .map_err(|f| failed(&f))?;
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let cancel = connection.start_request().await;
        let mut responses = Vec::with_capacity(statements.len());
        for statement in &statements {
            let step = Step {
                connection: &connection,
                activity: query,
                statement,
                params: None,
                format: &Format::UnifiedText,
                cancel: cancel.clone(),
                described: None,
            };
            match self.respond(client, step).await {
                Ok(r) => responses.push(r),
                // PostgreSQL stops a multi-statement query at its first error.
                Err(PgWireError::UserError(info)) if info.severity == "ERROR" => {
                    responses.push(Response::Error(info));
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(responses)
    }
}

#[async_trait]
impl ExtendedQueryHandler for QueryHandler {
    type Statement = Prepared;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        Arc::clone(&self.parser)
    }

    /// A cursor opened by `DECLARE` is also a portal, as in PostgreSQL: Describe names it
    /// (psycopg 3's server-side cursors describe theirs so).
    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        if message.target_type == TARGET_TYPE_BYTE_PORTAL
            && client.portal_store().get_portal(name).is_none()
        {
            let connection = Connection::of(client)?;
            if let Some(schema) = connection.cursors.schema(name).await {
                let fields = crate::wire::fields(&schema, &[], &Format::UnifiedText, None)?;
                return send_describe_response(client, &DescribePortalResponse::new(fields)).await;
            }
        }
        self._on_describe(client, message).await
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        crate::execute::execute(self, client, message).await
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let connection = Connection::of(client)?;
        let prepared = &portal.statement.statement;
        let params = crate::params::PortalParameters(portal);
        let step = Step {
            connection: &connection,
            activity: &prepared.sql,
            statement: &prepared.statement,
            params: Some(&params),
            format: &portal.result_column_format,
            cancel: connection.start_request().await,
            described: match &prepared.described.action {
                Action::Query => Some(&prepared.described),
                _ => None,
            },
        };
        self.respond(client, step).await
    }
}

/// One statement of a message, with what the connection knows of it.
struct Step<'a> {
    connection: &'a Connection,
    /// The client's text of the statement (of all of a simple query's statements), as
    /// `pg_stat_activity` shows it.
    activity: &'a str,
    statement: &'a Statement,
    params: Option<&'a dyn lakegate_gateway::Parameters>,
    format: &'a Format,
    cancel: Cancel,
    /// What a prepared statement was described with.
    described: Option<&'a Described>,
}

impl QueryHandler {
    /// Answers one statement through the gateway, shown `active` in `pg_stat_activity`
    /// meanwhile (until its rows are sent, for a query).
    async fn respond<C>(&self, client: &mut C, step: Step<'_>) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let running = step.connection.backend.active(step.activity);
        let caller = step.connection.caller();
        let sql = step.statement.to_string();
        let request = Request {
            caller: &caller,
            sql: &sql,
            statement: step.statement,
            settings: client.metadata(),
            params: step.params,
            cancel: Some(step.cancel.clone()),
            described: step.described,
        };
        let answer = self.gateway.run(request).await.map_err(|f| failed(&f))?;
        let options = settings::format_options(client.metadata());
        match answer {
            Answer::Rows(rows) => Ok(Response::Query(query_response(
                rows,
                step.format,
                options,
                Some(running),
            )?)),
            Answer::Copy { copy, rows } => Ok(Response::CopyOut(copy_response(
                rows,
                &copy,
                TextOptions::of(&options),
            )?)),
            Answer::Cursor {
                name,
                holdable,
                rows,
            } => {
                let cursors = &step.connection.cursors;
                if let Err((error, rows)) = cursors.declare(&name, rows).await {
                    let id = rows.query_id().unwrap_or_default().to_string();
                    rows.fail(&error);
                    return Err(query_error_with_id(&error, &id));
                }
                (step.connection.backend).cursor_opened(&name, &sql, holdable);
                Ok(Response::Execution(Tag::new("DECLARE CURSOR")))
            }
            Answer::Command(command) => self.command(client, &step, command).await,
        }
    }

    /// Applies a statement to the connection's own state and writes its audit line.
    async fn command<C>(
        &self,
        client: &mut C,
        step: &Step<'_>,
        command: Command,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let cursors = &step.connection.cursors;
        // The outer error is the connection's (the socket failed); the inner the statement's.
        let done: Result<Response, QueryError> = match &command.action {
            Action::Set { name, value } => settings::set(client, name, value.clone()).await?,
            Action::Reset(name) => settings::reset(client, name.as_deref()).await?,
            Action::Transaction(t) => Ok(transaction(*t)),
            Action::NoOp(tag) => Ok(Response::Execution(Tag::new(tag))),
            Action::Fetch { name, rows } => match cursors.fetch(name, *rows).await {
                Ok((schema, batches)) => {
                    let options = settings::format_options(client.metadata());
                    let rows = rows_response(&schema, batches, step.format, options)?;
                    Ok(Response::Query(rows))
                }
                Err(e) => Err(e),
            },
            Action::Move { name, rows } => cursors.fetch(name, *rows).await.map(|(_, batches)| {
                let moved: usize = batches.iter().map(|b| b.num_rows()).sum();
                Response::Execution(Tag::new("MOVE").with_rows(moved))
            }),
            Action::CloseCursor(name) => cursors.close(name.as_deref()).await.map(|()| {
                step.connection.backend.cursor_closed(name.as_deref());
                Response::Execution(Tag::new("CLOSE CURSOR"))
            }),
            // The gateway answers every other statement itself.
            other => Err(QueryError::Internal(format!(
                "{other:?} is not a connection command"
            ))),
        };
        match done {
            Ok(response) => {
                command.finish(Ok(0));
                Ok(response)
            }
            Err(e) => {
                let id = command.query_id().to_string();
                command.finish(Err(&e));
                Err(query_error_with_id(&e, &id))
            }
        }
    }
}

/// Transaction control on a read-only server: acknowledged, so drivers keep their state.
fn transaction(t: Transaction) -> Response {
    match t {
        Transaction::Begin => Response::TransactionStart(Tag::new("BEGIN")),
        Transaction::Commit => Response::TransactionEnd(Tag::new("COMMIT")),
        Transaction::Rollback => Response::TransactionEnd(Tag::new("ROLLBACK")),
        Transaction::Savepoint => Response::Execution(Tag::new("SAVEPOINT")),
        Transaction::Release => Response::Execution(Tag::new("RELEASE")),
        Transaction::RollbackToSavepoint => Response::Execution(Tag::new("ROLLBACK")),
    }
}
