//! `Execute` of a portal, rows streamed to the client as they are produced.
//!
//! pgwire's own `Execute` gathers every row of the portal into memory before it sends the
//! first (its portal fetch collects up to the row limit, and `0` means all), so a large
//! result waited for the whole scan and was held in the server meanwhile. This is the same
//! message handling with the rows fed straight from the query's stream to the socket.

use std::fmt::Debug;

use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::{Format, PortalExecutionState};
use pgwire::api::query::{ExtendedQueryHandler, send_execution_response};
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, copy};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{Execute, PortalSuspended};
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};

use crate::connection::Connection;
use crate::encode::rows_response;
use crate::error::query_error;
use crate::settings;
use lakegate_gateway::QueryError;

/// Runs (on first `Execute`) and continues a portal, up to the message's row limit.
pub async fn execute<H, C>(handler: &H, client: &mut C, message: Execute) -> PgWireResult<()>
where
    H: ExtendedQueryHandler + ?Sized,
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = H::Statement>,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
        return Err(PgWireError::NotReadyForQuery);
    }
    // A suspended portal's next rows, like every statement, need a token still valid.
    Connection::of(client)?;
    let mut status = client.transaction_status();
    client.set_state(PgWireConnectionState::QueryInProgress);
    let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
    let max_rows = message.max_rows as usize;
    let portal = match client.portal_store().get_portal(name) {
        Some(Entry::Value(portal)) => portal,
        Some(Entry::Empty) => {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            client.set_state(PgWireConnectionState::ReadyForQuery);
            return Ok(());
        }
        None => return execute_cursor(client, name, max_rows).await,
    };
    let state = portal.state();
    let mut state = state.lock().await;
    if matches!(*state, PortalExecutionState::Initial) {
        match handler.do_query(client, &portal, max_rows).await? {
            Response::Query(results) => *state = PortalExecutionState::Suspended(results),
            other => {
                *state = PortalExecutionState::Finished;
                status = respond(client, other, status).await?;
                finish(client, status);
                return Ok(());
            }
        }
    }
    match &mut *state {
        PortalExecutionState::Suspended(results) => {
            match send_rows(client, results, max_rows).await {
                Ok(true) => *state = PortalExecutionState::Finished,
                Ok(false) => {}
                Err(e) => {
                    *state = PortalExecutionState::Finished;
                    return Err(e);
                }
            }
        }
        // A finished portal answers further `Execute`s with no rows, as pgwire's does.
        _ => {
            let tag = Tag::new("SELECT").with_rows(0);
            client
                .send(PgWireBackendMessage::CommandComplete(tag.into()))
                .await?;
        }
    }
    finish(client, status);
    Ok(())
}

/// `Execute` of a cursor opened by `DECLARE`, which is also a portal, as in PostgreSQL:
/// its next `max_rows` rows (all that are left for `0`), in text.
async fn execute_cursor<C>(client: &mut C, name: &str, max_rows: usize) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let connection = Connection::of(client)?;
    let status = client.transaction_status();
    let wanted = (max_rows > 0).then_some(max_rows as u64);
    let (schema, batches) = match connection.cursors.fetch(name, wanted).await {
        Ok(fetched) => fetched,
        Err(QueryError::NoSuchCursor(_)) => {
            return Err(PgWireError::PortalNotFound(name.to_owned()));
        }
        Err(e) => return Err(query_error(&e)),
    };
    let options = settings::format_options(client.metadata());
    let mut rows = rows_response(&schema, batches, &Format::UnifiedText, options)?;
    send_rows(client, &mut rows, max_rows).await?;
    finish(client, status);
    Ok(())
}

/// Sends rows until the stream ends (`CommandComplete`, returns `true`) or `max_rows` have
/// gone (`PortalSuspended`, `false`); `0` means no limit.
async fn send_rows<C>(
    client: &mut C,
    results: &mut QueryResponse,
    max_rows: usize,
) -> PgWireResult<bool>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let mut sent = 0;
    while max_rows == 0 || sent < max_rows {
        let Some(row) = results.data_rows().next().await else {
            let tag = Tag::new(results.command_tag()).with_rows(sent);
            client
                .send(PgWireBackendMessage::CommandComplete(tag.into()))
                .await?;
            return Ok(true);
        };
        client.feed(PgWireBackendMessage::DataRow(row?)).await?;
        sent += 1;
    }
    client
        .send(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
        .await?;
    Ok(false)
}

/// The response of a statement without rows, and the transaction status after it.
async fn respond<C>(
    client: &mut C,
    response: Response,
    status: TransactionStatus,
) -> PgWireResult<TransactionStatus>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match response {
        Response::EmptyQuery => {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
        }
        Response::Execution(tag) => send_execution_response(client, tag).await?,
        Response::TransactionStart(tag) => {
            send_execution_response(client, tag).await?;
            return Ok(status.to_in_transaction_state());
        }
        Response::TransactionEnd(tag) => {
            send_execution_response(client, tag).await?;
            // The unnamed portal does not outlive its transaction.
            client.portal_store().rm_portal(DEFAULT_NAME);
            return Ok(status.to_idle_state());
        }
        Response::Error(err) => {
            client
                .send(PgWireBackendMessage::ErrorResponse((*err).into()))
                .await?;
            return Ok(status.to_error_state());
        }
        Response::CopyIn(result) => {
            client.set_state(PgWireConnectionState::CopyInProgress(true));
            copy::send_copy_in_response(client, result).await?;
        }
        Response::CopyOut(result) => copy::send_copy_out_response(client, result).await?,
        Response::CopyBoth(result) => {
            client.set_state(PgWireConnectionState::CopyInProgress(true));
            copy::send_copy_both_response(client, result).await?;
        }
        // Rows are the caller's to send.
        Response::Query(_) => {}
    }
    Ok(status)
}

fn finish<C: ClientInfo>(client: &mut C, status: TransactionStatus) {
    if !matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
    }
}
