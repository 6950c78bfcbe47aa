//! Per-connection state: who is connected, and how to cancel what they run.

use std::sync::Arc;

use chrono::Utc;
use futures::FutureExt;
use lakegate_gateway::Protocol;
use lakegate_gateway::{Admitted, BackendGuard, Caller, Cancel, Identity};
use pgwire::api::{ClientInfo, ConnectionGuard, ConnectionHandle};
use pgwire::error::PgWireResult;

use crate::cursor::Cursors;
use crate::error::fatal;

/// An authenticated connection, kept in pgwire's session extensions.
pub struct Connection {
    pub identity: Identity,
    /// The client's address, for the audit log.
    pub client: String,
    pub cursors: Cursors,
    /// This connection's row in `pg_stat_activity`.
    pub backend: BackendGuard,
    cancel: Arc<ConnectionHandle>,
    _registered: ConnectionGuard,
    /// Counts against the connection limits while the connection is open.
    _admitted: Admitted,
}

impl Connection {
    pub fn new(
        identity: Identity,
        client: String,
        backend: BackendGuard,
        cancel: Arc<ConnectionHandle>,
        registered: ConnectionGuard,
        admitted: Admitted,
    ) -> Self {
        Connection {
            identity,
            client,
            cursors: Cursors::default(),
            backend,
            cancel,
            _registered: registered,
            _admitted: admitted,
        }
    }

    /// Who is running statements, for the audit log.
    pub fn caller(&self) -> Caller {
        Caller {
            protocol: Protocol::Postgres,
            client: self.client.clone(),
            principal: self.identity.principal.clone(),
            expires_at: self.identity.expires_at,
        }
    }

    /// Starts a request; a `CancelRequest` with this connection's key fires the signal.
    pub async fn start_request(&self) -> Cancel {
        let rx = self.cancel.start_query().await;
        rx.map(|fired| fired.is_ok()).boxed().shared()
    }

    /// The connection of an authenticated client; a session whose token has expired is
    /// closed (the error is fatal).
    pub fn of<C: ClientInfo>(client: &C) -> PgWireResult<Arc<Connection>> {
        let connection = client
            .session_extensions()
            .get::<Connection>()
            .ok_or_else(|| fatal("08P01", "not authenticated".to_string()))?;
        if connection.identity.expires_at <= Utc::now() {
            return Err(fatal(
                "28P01",
                "token has expired; reconnect with a new token".to_string(),
            ));
        }
        Ok(connection)
    }
}
