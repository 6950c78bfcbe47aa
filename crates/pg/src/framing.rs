//! The Postgres socket under pgwire's codec, bounding each message's size from its length
//! word (see [`lakegate_gateway::framing`]): PostgreSQL's `PG_MAX_AUTH_TOKEN_LENGTH` until
//! the login succeeds, then `[limits] max_message_bytes`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use lakegate_gateway::framing::{Framing, MessageBounds};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The largest message before the login: PostgreSQL's bound on authentication messages
/// (`PG_MAX_AUTH_TOKEN_LENGTH`, `src/backend/libpq/auth.c`). A JWT is a few kilobytes.
pub(crate) const BEFORE_LOGIN: usize = 65_535;

/// A client socket whose reads follow [`MessageBounds`]: a read that completes a length word past
/// the limit fails with [`MessageTooLarge`](lakegate_gateway::framing::MessageTooLarge) (as an `InvalidData` I/O error) instead.
pub(crate) struct Bounded<S> {
    inner: S,
    pub(crate) bounds: MessageBounds,
}

impl<S> Bounded<S> {
    /// `inner` from the start of the startup message; bytes already read from it must be
    /// followed first.
    pub(crate) fn new(inner: S, limit: usize) -> Bounded<S> {
        Bounded {
            inner,
            bounds: MessageBounds::new(Framing::Postgres, limit),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Bounded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        // On an error the caller keeps none of what this read filled.
        this.bounds.follow(&buf.filled()[before..])?;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Bounded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
