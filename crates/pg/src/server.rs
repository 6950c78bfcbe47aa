//! The listener: accepts connections and hands each to pgwire with our handlers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use lakegate_gateway::Gateway;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::{
    ConnectionManager, NoopHandler, PgWireServerHandlers, RandomPidSecretKeyGenerator,
};
use pgwire::tokio::process_socket;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tracing::{debug, info, warn};

use crate::handler::QueryHandler;
use crate::startup::JwtStartup;
use crate::statement::StatementParser;

/// How the Postgres front end listens.
pub struct PgServerConfig {
    /// `None` serves plaintext only (loopback, development).
    pub tls: Option<Arc<ServerConfig>>,
    /// Accept logins without TLS from loopback clients.
    pub allow_plaintext_loopback: bool,
}

/// The Postgres front end, bound and ready to serve.
pub struct PgServer {
    listener: TcpListener,
    handlers: Arc<Handlers>,
    tls: Option<TlsAcceptor>,
}

struct Handlers {
    startup: Arc<JwtStartup>,
    query: Arc<QueryHandler>,
    cancel: Arc<DefaultCancelHandler>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        Arc::clone(&self.query)
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        Arc::clone(&self.query)
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        Arc::clone(&self.startup)
    }

    fn copy_handler(&self) -> Arc<impl pgwire::api::copy::CopyHandler> {
        Arc::new(NoopHandler)
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        Arc::clone(&self.cancel)
    }
}

impl PgServer {
    /// Wraps a bound listener.
    pub fn new(listener: TcpListener, gateway: Arc<Gateway>, config: PgServerConfig) -> PgServer {
        let connections = Arc::new(ConnectionManager::new());
        let handlers = Handlers {
            startup: Arc::new(JwtStartup {
                gateway: Arc::clone(&gateway),
                connections: Arc::clone(&connections),
                allow_plaintext_loopback: config.allow_plaintext_loopback,
                keys: RandomPidSecretKeyGenerator::default(),
            }),
            query: Arc::new(QueryHandler {
                gateway: Arc::clone(&gateway),
                parser: Arc::new(StatementParser { gateway }),
            }),
            cancel: Arc::new(DefaultCancelHandler::new(connections)),
        };
        PgServer {
            listener,
            handlers: Arc::new(handlers),
            tls: config.tls.map(TlsAcceptor::from),
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves. A connection's failure (bad bytes, a client that
    /// vanishes) ends that connection only.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        info!(addr = ?self.listener.local_addr().ok(), tls = self.tls.is_some(), "postgres front end listening");
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((socket, addr)) => {
                    let _ = socket.set_nodelay(true);
                    let handlers = Arc::clone(&self.handlers);
                    let tls = self.tls.clone();
                    tokio::spawn(async move {
                        if let Err(e) = process_socket(socket, tls, handlers).await {
                            debug!(client = %addr, error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => warn!(error = %e, "accept failed"),
            }
        }
    }
}
