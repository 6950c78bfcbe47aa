//! The listener: accepts connections and hands each to pgwire with our handlers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use lakegate_gateway::Gateway;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::api::{
    ConnectionManager, NoopHandler, PgWireServerHandlers, RandomPidSecretKeyGenerator,
};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{
    PgWireMessageServerCodec, negotiate_tls, process_error, process_message,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Duration, sleep};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_util::codec::{Framed, FramedParts};
use tracing::{debug, info, warn};

use lakegate_gateway::framing::MessageTooLarge;

use crate::framing::{BEFORE_LOGIN, Bounded};
use crate::handler::QueryHandler;
use crate::startup::JwtStartup;
use crate::statement::StatementParser;

/// How the Postgres front end listens.
pub struct PgServerConfig {
    /// `None` serves plaintext only (loopback, development).
    pub tls: Option<Arc<ServerConfig>>,
    /// Accept logins without TLS from loopback clients.
    pub allow_plaintext_loopback: bool,
    /// The largest message a logged-in client may send, in bytes (`[limits]
    /// max_message_bytes`); a larger one ends the connection with `54000`.
    pub max_message_bytes: usize,
}

/// How long a client has from connecting to finishing its login (pgwire's own bound).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The Postgres front end, bound and ready to serve.
pub struct PgServer {
    listener: TcpListener,
    handlers: Arc<Handlers>,
    tls: Option<TlsAcceptor>,
    max_message_bytes: usize,
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
            max_message_bytes: config.max_message_bytes,
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
                    let limit = self.max_message_bytes;
                    tokio::spawn(async move {
                        if let Err(e) = serve(socket, tls, &handlers, limit).await {
                            debug!(client = %addr, error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => warn!(error = %e, "accept failed"),
            }
        }
    }
}

/// One connection, from TLS negotiation to its end: pgwire's `process_socket`, over a socket
/// that bounds each message's size before buffering it (see `framing`).
async fn serve(
    socket: TcpStream,
    tls: Option<TlsAcceptor>,
    handlers: &Handlers,
    max_message_bytes: usize,
) -> std::io::Result<()> {
    let startup_timeout = sleep(STARTUP_TIMEOUT);
    tokio::pin!(startup_timeout);
    let negotiated = tokio::select! {
        _ = &mut startup_timeout => return Ok(()),
        negotiated = negotiate_tls(socket, tls) => negotiated?,
    };
    // A direct TLS handshake with no TLS configured.
    let Some(negotiated) = negotiated else {
        return Ok(());
    };
    let parts = negotiated.into_parts();
    let mut bounded = Bounded::new(parts.io, BEFORE_LOGIN);
    let buffered = bounded.bounds.follow(&parts.read_buf);
    let mut rebuilt = FramedParts::new(bounded, parts.codec);
    rebuilt.read_buf = parts.read_buf;
    rebuilt.write_buf = parts.write_buf;
    let mut socket = Framed::from_parts(rebuilt);
    if let Err(too_large) = buffered {
        return refuse(&mut socket, too_large_info(too_large)).await;
    }
    // Bytes sent in the clear after the SSLRequest would be read as if they had come over
    // TLS (CVE-2021-23214); PostgreSQL refuses them.
    if socket.is_secure() && !socket.read_buffer().is_empty() {
        let info = protocol_violation("received unencrypted data after SSL request");
        return refuse(&mut socket, info).await;
    }

    let mut logged_in = false;
    loop {
        let before_login = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        if !before_login && !logged_in {
            logged_in = true;
            socket.get_mut().bounds.set_limit(max_message_bytes);
        }
        let next = if before_login {
            tokio::select! {
                _ = &mut startup_timeout => None,
                next = socket.next() => next,
            }
        } else {
            socket.next().await
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(error)) => match read_error(error) {
                Some(info) => return refuse(&mut socket, info).await,
                None => return Ok(()),
            },
            None => return Ok(()),
        };
        let consumed = socket.get_ref().bounds.offset() - socket.read_buffer().len() as u64;
        if !socket.get_mut().bounds.decoded_to(consumed) {
            let info = protocol_violation("invalid message length");
            return refuse(&mut socket, info).await;
        }
        // The client is leaving; some (asyncpg) wait for the server to close the socket.
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            return Ok(());
        }
        let extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        if let Err(error) = process_message(
            message,
            &mut socket,
            Arc::clone(&handlers.startup),
            Arc::clone(&handlers.query),
            Arc::clone(&handlers.query),
            Arc::new(NoopHandler),
            Arc::clone(&handlers.cancel),
        )
        .await
        {
            let info = ErrorInfo::from(error);
            let fatal = info.is_fatal();
            process_error(
                &mut socket,
                PgWireError::UserError(Box::new(info)),
                extended,
            )
            .await?;
            // A failed login ends here: pgwire would read on, as if logged in.
            if fatal {
                return Ok(());
            }
        }
    }
}

/// What to tell a client whose bytes could not be read as a message: `54000` for a message
/// past the limit, `08P01` for one that is malformed; `None` for an I/O failure (nobody to
/// tell).
fn read_error(error: PgWireError) -> Option<ErrorInfo> {
    match &error {
        PgWireError::IoError(io) => MessageTooLarge::of(io).map(too_large_info),
        _ => Some(protocol_violation(&error.to_string())),
    }
}

fn too_large_info(too_large: MessageTooLarge) -> ErrorInfo {
    warn!(error = %too_large, "message refused");
    ErrorInfo::new("FATAL".into(), "54000".into(), too_large.to_string())
}

fn protocol_violation(message: &str) -> ErrorInfo {
    ErrorInfo::new("FATAL".into(), "08P01".into(), message.to_string())
}

/// Ends a connection as PostgreSQL ends one whose bytes it cannot read: a `FATAL` error,
/// then the socket closes.
async fn refuse<S, C>(
    socket: &mut Framed<S, PgWireMessageServerCodec<C>>,
    info: ErrorInfo,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    socket
        .send(PgWireBackendMessage::ErrorResponse(info.into()))
        .await?;
    socket.close().await
}
