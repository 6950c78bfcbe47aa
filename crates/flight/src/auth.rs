//! Authentication as a tower layer: every call carries `authorization: Bearer <JWT>`
//! (the handshake may carry `Basic user:JWT` instead). The verified identity goes into the
//! request's extensions; a missing or bad token ends the call with `UNAUTHENTICATED`
//! before any service code runs.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use futures::future::{BoxFuture, FutureExt};
use http::{HeaderMap, Request, Response};
use lakegate_gateway::Protocol;
use lakegate_gateway::{AuthError, Gateway, Identity};
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use tonic::transport::server::TcpConnectInfo;
use tower::{Layer, Service};

use crate::error::auth_status;

/// The gRPC path of the one call that may authenticate with `Basic`.
const HANDSHAKE: &str = "/arrow.flight.protocol.FlightService/Handshake";

/// A verified caller, as the layer leaves it for the service.
#[derive(Clone)]
pub struct Authenticated {
    pub identity: Identity,
    /// The bearer token, which the handshake hands back.
    pub token: Arc<str>,
    pub client: String,
}

impl Authenticated {
    /// Who runs the call's statements, for the gateway.
    pub fn caller(&self) -> lakegate_gateway::Caller {
        lakegate_gateway::Caller {
            protocol: lakegate_gateway::Protocol::Flight,
            client: self.client.clone(),
            principal: self.identity.principal.clone(),
            expires_at: self.identity.expires_at,
        }
    }
}

/// Verified tokens, so a client's every call does not re-verify (and re-audit) its token.
/// Entries never outlive the token.
#[derive(Clone)]
pub struct AuthLayer {
    gateway: Arc<Gateway>,
    verified: Cache<[u8; 32], Identity>,
}

impl AuthLayer {
    pub fn new(gateway: Arc<Gateway>) -> AuthLayer {
        let caches = gateway.caches();
        let verified = Cache::builder()
            .max_capacity(caches.tokens)
            .time_to_live(Duration::from_secs(caches.token_ttl_secs))
            .build();
        AuthLayer { gateway, verified }
    }

    /// Checks the call's credentials; `Basic` only on the handshake.
    fn authenticate<B>(&self, request: &Request<B>) -> Result<Authenticated, AuthError> {
        let client = request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(|i| i.remote_addr())
            .map(|a| a.to_string())
            .unwrap_or_default();
        let (user, token) = credentials(request.headers(), request.uri().path() == HANDSHAKE)?;
        let identity = self.verify(&token, &user, &client)?;
        Ok(Authenticated {
            identity,
            token: token.into(),
            client,
        })
    }

    fn verify(&self, token: &str, user: &str, client: &str) -> Result<Identity, AuthError> {
        let key: [u8; 32] = Sha256::digest(format!("{user}\n{token}")).into();
        if let Some(identity) = self.verified.get(&key) {
            if identity.expires_at > Utc::now() {
                self.gateway.metrics().cache("tokens", true);
                return Ok(identity);
            }
            self.verified.invalidate(&key);
        }
        self.gateway.metrics().cache("tokens", false);
        let identity = self.gateway.login(token, user, Protocol::Flight, client)?;
        self.verified.insert(key, identity.clone());
        Ok(identity)
    }
}

/// The user and token a call presents.
fn credentials(headers: &HeaderMap, handshake: bool) -> Result<(String, String), AuthError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(AuthError::NoToken)?
        .to_str()
        .map_err(|_| AuthError::Malformed)?;
    if let Some(token) = strip_scheme(value, "Bearer ") {
        return Ok(("token".to_string(), token.trim().to_string()));
    }
    match strip_scheme(value, "Basic ") {
        Some(basic) if handshake => {
            let decoded = STANDARD
                .decode(basic.trim())
                .map_err(|_| AuthError::Malformed)?;
            let text = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
            let (user, token) = text.split_once(':').ok_or(AuthError::Malformed)?;
            let user = if user.is_empty() { "token" } else { user };
            Ok((user.to_string(), token.to_string()))
        }
        _ => Err(AuthError::NoToken),
    }
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let head = value.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &value[scheme.len()..])
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            auth: self.clone(),
            inner,
        }
    }
}

/// The service the layer wraps around the Flight service.
#[derive(Clone)]
pub struct Authenticate<S> {
    auth: AuthLayer,
    inner: S,
}

impl<S, B, R> Service<Request<B>> for Authenticate<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match self.auth.authenticate(&request) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                // The clone is ready-polled by the next call; use the one that was.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                async move { inner.call(request).await }.boxed()
            }
            Err(e) => {
                let response = auth_status(&e).into_http();
                async move { Ok(response) }.boxed()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn bearer_anywhere_basic_only_on_the_handshake() {
        assert_eq!(
            credentials(&headers("Bearer abc"), false),
            Ok(("token".into(), "abc".into()))
        );
        let basic = format!("Basic {}", STANDARD.encode("pat:jwt"));
        assert_eq!(
            credentials(&headers(&basic), true),
            Ok(("pat".into(), "jwt".into()))
        );
        assert_eq!(
            credentials(&headers(&basic), false),
            Err(AuthError::NoToken)
        );
        assert_eq!(
            credentials(&headers("Basic !!!"), true),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            credentials(&HeaderMap::new(), false),
            Err(AuthError::NoToken)
        );
    }
}
