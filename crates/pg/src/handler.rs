//! Simple and extended query handling: statements in, responses out, all via the gateway.

use std::fmt::Debug;
use std::sync::Arc;

use arrow_pg::datatypes::into_pg_type;
use async_trait::async_trait;
use futures::Sink;
use lakegate_gateway::arrow::datatypes::{DataType, SchemaRef};
use lakegate_gateway::{
    Action, AuditEntry, CopyOut, Gateway, Outcome, ParamValues, QueryError, QueryStream, Running,
    Session, Statement, Transaction,
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
use crate::connection::{CancelSignal, Connection};
use crate::cursor::CursorError;
use crate::encode::{copy_response, query_response, rows_response};
use crate::error::{error, query_error, query_error_with_id};
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
        let statements = self.gateway.parse(query).map_err(|e| query_error(&e))?;
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let cancel = connection.start_request().await;
        let mut responses = Vec::with_capacity(statements.len());
        for statement in &statements {
            let request = Request {
                connection: &connection,
                sql: query,
                statement,
                text: TextOptions::of(&settings::format_options(client.metadata())),
                params: None,
                format: &Format::UnifiedText,
                cancel: cancel.clone(),
                running: None,
                described: None,
            };
            match self
                .respond(client, self.gateway.classify(statement), request)
                .await
            {
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
        let params = if prepared.plan.is_some() {
            Some(crate::params::decode(portal, &prepared.parameter_types()?)?)
        } else {
            None
        };
        let request = Request {
            connection: &connection,
            sql: &prepared.sql,
            statement: &prepared.statement,
            text: TextOptions::of(&settings::format_options(client.metadata())),
            params,
            format: &portal.result_column_format,
            cancel: connection.start_request().await,
            running: None,
            described: match (&prepared.action, &prepared.plan) {
                (Action::Query, Some(plan)) => Some(Session::result_schema(plan)),
                _ => None,
            },
        };
        self.respond(client, Ok(prepared.action.clone()), request)
            .await
    }
}

/// One statement to answer, whichever protocol it came by.
struct Request<'a> {
    connection: &'a Connection,
    /// The client's text of the statement (of all of a simple query's statements), as
    /// `pg_stat_activity` shows it.
    sql: &'a str,
    statement: &'a Statement,
    /// The connection's time zone and float digits when the statement arrived.
    text: TextOptions,
    params: Option<ParamValues>,
    format: &'a Format,
    cancel: CancelSignal,
    /// Shows the connection active in `pg_stat_activity` while held.
    running: Option<Running>,
    /// The result columns a prepared statement was described with, which its rows must
    /// have: the statement is planned again when it runs, and the lake or the policy may
    /// have changed them since.
    described: Option<SchemaRef>,
}

impl QueryHandler {
    /// Answers one statement, shown `active` in `pg_stat_activity` meanwhile.
    async fn respond<C>(
        &self,
        client: &mut C,
        action: Result<Action, QueryError>,
        request: Request<'_>,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut request = request;
        request.running = Some(request.connection.backend.active(request.sql));
        self.answer(client, action, request).await
    }

    /// Answers one statement, given the guard's decision, and writes its audit line.
    async fn answer<C>(
        &self,
        client: &mut C,
        action: Result<Action, QueryError>,
        request: Request<'_>,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let audit = self
            .gateway
            .audit(request.connection.caller(), &request.statement.to_string());
        let response = match action {
            Ok(Action::Query) => return self.query(client, request, audit).await,
            Ok(Action::CopyOut(copy)) => return self.copy_out(request, copy, audit).await,
            Ok(Action::Declare { name, query }) => {
                return self.declare(request, &name, &query, audit).await;
            }
            Ok(Action::Fetch { name, rows }) => self.fetch(client, &request, &name, rows).await,
            Ok(Action::Move { name, rows }) => request
                .connection
                .cursors
                .fetch(&name, rows)
                .await
                .map(|(_, batches)| {
                    let moved: usize = batches.iter().map(|b| b.num_rows()).sum();
                    Response::Execution(Tag::new("MOVE").with_rows(moved))
                })
                .map_err(|e| cursor_error(&e)),
            Ok(Action::CloseCursor(name)) => {
                let closed = request.connection.cursors.close(name.as_deref()).await;
                if closed.is_ok() {
                    request.connection.backend.cursor_closed(name.as_deref());
                }
                closed
                    .map(|()| Response::Execution(Tag::new("CLOSE CURSOR")))
                    .map_err(|e| cursor_error(&e))
            }
            Err(e) => return Err(failed(audit, &e)),
            Ok(Action::Set { name, value }) => settings::set(client, &name, value).await,
            Ok(Action::Reset(name)) => settings::reset(client, name.as_deref()).await,
            Ok(Action::Show(name)) => settings::show(client, &name),
            Ok(Action::Transaction(t)) => Ok(transaction(t)),
            Ok(Action::NoOp(tag)) => Ok(Response::Execution(Tag::new(tag))),
            Ok(Action::Unsupported(what)) => Err(query_error(&QueryError::Unsupported(what))),
        };
        let outcome = if response.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        };
        audit.finish(outcome, 0, None);
        response
    }

    /// Plans (cancellably) and starts a query; its rows stream as the client reads them.
    async fn query<C>(
        &self,
        client: &mut C,
        mut request: Request<'_>,
        audit: AuditEntry,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    {
        let results = self.start(&request, request.statement, audit).await?;
        let options = settings::format_options(client.metadata());
        let running = request.running.take();
        let response = query_response(results, request.format, options, request.cancel, running)?;
        Ok(Response::Query(response))
    }

    /// `COPY (query) TO STDOUT`: the query runs as any other (guard, plan, policy), and its
    /// rows go out as copy data.
    async fn copy_out(
        &self,
        request: Request<'_>,
        copy: CopyOut,
        audit: AuditEntry,
    ) -> PgWireResult<Response> {
        let query = match self.inner_query(&copy.query) {
            Ok(query) => query,
            Err(e) => return Err(failed(audit, &e)),
        };
        let results = self.start(&request, &query, audit).await?;
        Ok(Response::CopyOut(copy_response(
            results,
            &copy,
            request.cancel,
            request.text,
        )?))
    }

    /// `DECLARE name CURSOR FOR query`: the query starts now; its rows wait for `FETCH`.
    async fn declare(
        &self,
        request: Request<'_>,
        name: &str,
        sql: &str,
        audit: AuditEntry,
    ) -> PgWireResult<Response> {
        let query = match self.inner_query(sql) {
            Ok(query) => query,
            Err(e) => return Err(failed(audit, &e)),
        };
        let results = self.start(&request, &query, audit).await?;
        request
            .connection
            .cursors
            .declare(name, results)
            .await
            .map_err(|e| cursor_error(&e))?;
        let holdable = matches!(request.statement, Statement::Declare { stmts }
            if stmts.iter().any(|d| d.hold == Some(true)));
        (request.connection.backend).cursor_opened(name, &request.statement.to_string(), holdable);
        Ok(Response::Execution(Tag::new("DECLARE CURSOR")))
    }

    /// `FETCH n FROM name`: the cursor's next rows.
    async fn fetch<C: ClientInfo>(
        &self,
        client: &C,
        request: &Request<'_>,
        name: &str,
        rows: Option<u64>,
    ) -> PgWireResult<Response> {
        let (schema, batches) = request
            .connection
            .cursors
            .fetch(name, rows)
            .await
            .map_err(|e| cursor_error(&e))?;
        let options = settings::format_options(client.metadata());
        let response = rows_response(&schema, batches, request.format, options)?;
        Ok(Response::Query(response))
    }

    /// The one query a COPY or a cursor runs, held to the same guard as a query sent
    /// directly.
    fn inner_query(&self, sql: &str) -> Result<Statement, QueryError> {
        let mut statements = self.gateway.parse(sql)?;
        if statements.len() != 1 {
            return Err(QueryError::Syntax("expected one query".to_string()));
        }
        let statement = statements.remove(0);
        match self.gateway.classify(&statement)? {
            Action::Query => Ok(statement),
            _ => Err(QueryError::Unsupported("this inner statement".to_string())),
        }
    }

    /// Plans (cancellably) and starts `statement`, finishing the audit entry if it fails.
    async fn start(
        &self,
        request: &Request<'_>,
        statement: &Statement,
        audit: AuditEntry,
    ) -> PgWireResult<QueryStream> {
        let id = audit.id().to_string();
        let principal = &request.connection.identity.principal;
        let run = async {
            let session = self.gateway.session(principal).await?;
            let plan = session.plan(statement, &request.text.zone).await?;
            Ok::<_, QueryError>((session, plan))
        };
        let planned = tokio::select! {
            biased;
            true = request.cancel.clone() => Err(QueryError::Cancelled),
            planned = run => planned,
        };
        let (session, plan) = match planned {
            Ok(planned) => planned,
            Err(e) => return Err(failed(audit, &e)),
        };
        if let Some(described) = &request.described
            && !same_columns(described, &Session::result_schema(&plan))
        {
            return Err(failed(audit, &QueryError::ResultTypeChanged));
        }
        session
            .execute(plan, request.params.clone(), &request.text.zone, audit)
            .await
            .map_err(|e| query_error_with_id(&e, &id))
    }
}

/// Whether rows of `now` can be sent as `described`: the same names and PostgreSQL types,
/// in order. (A `timestamptz` column's Arrow type names the session's zone, which a client
/// may change between Parse and Execute; its PostgreSQL type stays `timestamptz`.)
fn same_columns(described: &SchemaRef, now: &SchemaRef) -> bool {
    let pg_type = |t: &DataType| into_pg_type(t).ok();
    described.fields().len() == now.fields().len()
        && described.fields().iter().zip(now.fields()).all(|(a, b)| {
            a.name() == b.name()
                && (a.data_type() == b.data_type()
                    || pg_type(a.data_type()).is_some_and(|t| Some(t) == pg_type(b.data_type())))
        })
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

pub(crate) fn cursor_error(e: &CursorError) -> PgWireError {
    match e {
        CursorError::Unknown(name) => error("34000", format!("cursor \"{name}\" does not exist")),
        CursorError::Duplicate(name) => error("42P03", format!("cursor \"{name}\" already exists")),
        CursorError::Query(e) => query_error(e),
    }
}

/// Finishes the audit line of a statement that failed before it ran; the error the client
/// gets carries the line's query id.
fn failed(audit: AuditEntry, e: &QueryError) -> PgWireError {
    let id = audit.id().to_string();
    audit.finish(Outcome::of(e), 0, Some(e));
    query_error_with_id(e, &id)
}
