//! Simple and extended query handling: statements in, responses out, all via the gateway.

use std::fmt::Debug;
use std::sync::Arc;

use arrow_pg::datatypes::df::deserialize_parameters;
use async_trait::async_trait;
use futures::Sink;
use lakegate_gateway::{Action, Gateway, QueryError, Statement, Transaction};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::types::format::FormatOptions;

use crate::connection::{CancelSignal, Connection};
use crate::encode::query_response;
use crate::error::query_error;
use crate::settings;
use crate::statement::{Prepared, StatementParser, parameter_types};

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
            let action = self.gateway.classify(statement);
            let response = match action {
                Ok(action) => {
                    self.respond(
                        client,
                        &connection,
                        statement,
                        action,
                        None,
                        &Format::UnifiedText,
                        cancel.clone(),
                    )
                    .await
                }
                Err(e) => Err(query_error(&e)),
            };
            match response {
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
            let types = parameter_types(prepared)?;
            let refs: Vec<_> = types.iter().map(Option::as_ref).collect();
            Some(deserialize_parameters(portal, &refs)?)
        } else {
            None
        };
        let cancel = connection.start_request().await;
        self.respond(
            client,
            &connection,
            &prepared.statement,
            prepared.action.clone(),
            params,
            &portal.result_column_format,
            cancel,
        )
        .await
    }
}

impl QueryHandler {
    /// One statement's response, whichever protocol it came by.
    #[allow(clippy::too_many_arguments)]
    async fn respond<C>(
        &self,
        client: &mut C,
        connection: &Connection,
        statement: &Statement,
        action: Action,
        params: Option<lakegate_gateway::ParamValues>,
        format: &Format,
        cancel: CancelSignal,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match action {
            Action::Query => {
                let run = async {
                    let session = self.gateway.session(&connection.identity.principal).await?;
                    let plan = session.plan(statement).await?;
                    session.execute(plan, params).await
                };
                let results = tokio::select! {
                    biased;
                    true = cancel.clone() => Err(QueryError::Cancelled),
                    results = run => results,
                }
                .map_err(|e| query_error(&e))?;
                let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
                Ok(Response::Query(query_response(
                    results, format, options, cancel,
                )?))
            }
            Action::Set { name, value } => settings::set(client, &name, value).await,
            Action::Reset(name) => settings::reset(client, name.as_deref()).await,
            Action::Show(name) => settings::show(client, &name),
            Action::Transaction(t) => Ok(transaction(t)),
            Action::NoOp(tag) => Ok(Response::Execution(Tag::new(tag))),
            Action::Unsupported(what) => Err(query_error(&QueryError::Unsupported(what))),
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
