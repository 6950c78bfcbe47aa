//! The listener: TLS (or, where allowed, plaintext) connections into tonic, behind the
//! authentication layer.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;

use crate::schema::WithGetSchema;
use futures::stream;
use lakegate_gateway::Gateway;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tonic::transport::Server;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::{debug, info, warn};

use crate::auth::AuthLayer;
use crate::bounds::BoundsLayer;
use crate::service::{FlightOptions, LakegateFlightSql};

/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;
/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Large enough for a token and the usual gRPC headers; larger header blocks are refused.
const MAX_HEADER_LIST: u32 = 16 * 1024;

/// How the Flight SQL front end listens.
pub struct FlightServerConfig {
    /// `None` serves plaintext only (loopback, development).
    pub tls: Option<Arc<ServerConfig>>,
    /// With TLS configured, also accept plaintext from loopback clients.
    pub allow_plaintext_loopback: bool,
    pub options: FlightOptions,
}

/// The Flight SQL front end, bound and ready to serve.
pub struct FlightServer {
    listener: TcpListener,
    gateway: Arc<Gateway>,
    config: FlightServerConfig,
}

impl FlightServer {
    pub fn new(
        listener: TcpListener,
        gateway: Arc<Gateway>,
        config: FlightServerConfig,
    ) -> FlightServer {
        FlightServer {
            listener,
            gateway,
            config,
        }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves. A connection's failure ends that connection only.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        info!(addr = ?self.listener.local_addr().ok(), tls = self.config.tls.is_some(), "flight sql front end listening");
        let (sender, mut receiver) = mpsc::channel::<io::Result<Conn>>(64);
        let accepting = tokio::spawn(accept(
            self.listener,
            self.config.tls.map(|tls| {
                let mut tls = tls.as_ref().clone();
                tls.alpn_protocols = vec![b"h2".to_vec()];
                TlsAcceptor::from(Arc::new(tls))
            }),
            self.config.allow_plaintext_loopback,
            sender,
        ));
        let incoming = stream::poll_fn(move |cx| receiver.poll_recv(cx));
        let limit = self.config.options.max_message_bytes;
        let service = FlightServiceServer::new(WithGetSchema(LakegateFlightSql::new(
            Arc::clone(&self.gateway),
            self.config.options,
        )))
        // `BoundsLayer` refuses a larger message first, with the code gRPC uses.
        .max_decoding_message_size(limit)
        .max_encoding_message_size(usize::MAX);
        let served = Server::builder()
            .http2_max_header_list_size(MAX_HEADER_LIST)
            .layer(AuthLayer::new(self.gateway))
            .layer(BoundsLayer { limit })
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await;
        accepting.abort();
        if let Err(e) = served {
            warn!(error = %e, "flight sql front end stopped");
        }
    }
}

/// Accepts connections and hands each over once its TLS handshake (if any) is done, so a
/// slow client never holds up the others.
async fn accept(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    allow_plaintext_loopback: bool,
    sender: mpsc::Sender<io::Result<Conn>>,
) {
    loop {
        let (socket, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(error = %e, "accept failed");
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let (tls, sender) = (tls.clone(), sender.clone());
        tokio::spawn(async move {
            let info = TcpConnectInfo {
                local_addr: socket.local_addr().ok(),
                remote_addr: Some(remote),
            };
            let opened = tokio::time::timeout(
                HANDSHAKE_TIMEOUT,
                open(
                    socket,
                    tls,
                    allow_plaintext_loopback && remote.ip().is_loopback(),
                ),
            )
            .await;
            match opened {
                Ok(Ok(io)) => {
                    let _ = sender.send(Ok(Conn { io, info })).await;
                }
                Ok(Err(e)) => debug!(client = %remote, error = %e, "connection refused"),
                Err(_) => debug!(client = %remote, "TLS handshake timed out"),
            }
        });
    }
}

/// TLS when the client starts a TLS handshake; plaintext only where allowed.
async fn open(socket: TcpStream, tls: Option<TlsAcceptor>, plaintext_ok: bool) -> io::Result<Io> {
    let Some(tls) = tls else {
        return Ok(Io::Plain(socket));
    };
    let mut first = [0u8; 1];
    socket.peek(&mut first).await?;
    if first[0] == TLS_HANDSHAKE {
        return Ok(Io::Tls(Box::new(tls.accept(socket).await?)));
    }
    if plaintext_ok {
        return Ok(Io::Plain(socket));
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        "plaintext connection where TLS is required",
    ))
}

enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// One client connection, plaintext or TLS, that tells tonic who is on the other end.
struct Conn {
    io: Io,
    info: TcpConnectInfo,
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
