//! The size of each gRPC message a client sends, checked from its length prefix as the
//! request body arrives (see [`lakegate_gateway::framing`]).
//!
//! tonic checks `max_decoding_message_size` itself, but answers `OUT_OF_RANGE`; gRPC's own
//! implementations answer `RESOURCE_EXHAUSTED` ("Received message larger than max"), which
//! is what clients expect for a message that is too large. An error the request body yields
//! as a [`Status`] reaches the client with its code unchanged.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::Request;
use http_body::{Body as HttpBody, Frame, SizeHint};
use lakegate_gateway::framing::{Framing, MessageBounds};
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

/// Bounds every request message to `limit` bytes.
#[derive(Clone, Copy)]
pub struct BoundsLayer {
    pub limit: usize,
}

impl<S> Layer<S> for BoundsLayer {
    type Service = Bounded<S>;

    fn layer(&self, inner: S) -> Bounded<S> {
        Bounded {
            limit: self.limit,
            inner,
        }
    }
}

/// The service the layer wraps: its requests' bodies are [`BoundedBody`].
#[derive(Clone)]
pub struct Bounded<S> {
    limit: usize,
    inner: S,
}

impl<S: Service<Request<Body>>> Service<Request<Body>> for Bounded<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> S::Future {
        let limit = self.limit;
        self.inner.call(request.map(|inner| {
            Body::new(BoundedBody {
                inner,
                bounds: MessageBounds::new(Framing::Grpc, limit),
            })
        }))
    }
}

/// A request body that fails with `RESOURCE_EXHAUSTED` at the first message whose length
/// prefix is past the limit, before the message itself is read.
struct BoundedBody {
    inner: Body,
    bounds: MessageBounds,
}

impl HttpBody for BoundedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
            && let Err(too_large) = this.bounds.follow(data)
        {
            return Poll::Ready(Some(Err(Status::resource_exhausted(too_large.to_string()))));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
