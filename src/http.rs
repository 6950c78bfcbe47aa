//! The HTTP side: `/healthz` (alive), `/readyz` (the lake has been listed), `/metrics`
//! (Prometheus) and `POST /reload` (re-read the policy; loopback callers only —
//! `lakegate reload` uses it).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use lakegate_gateway::Gateway;
use tokio::net::TcpListener;
use tracing::warn;

/// Re-reads the policy: `Err` carries why it was refused.
pub type Reload = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

#[derive(Clone)]
struct App {
    gateway: Arc<Gateway>,
    reload: Reload,
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    reload: Reload,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/reload", post(reload_policy))
        .with_state(App { gateway, reload });
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
    {
        warn!(error = %e, "http server stopped");
    }
}

async fn ready(State(app): State<App>) -> (StatusCode, &'static str) {
    if app.gateway.lake().snapshot().version != 0 {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "listing the lake\n")
    }
}

async fn metrics(State(app): State<App>) -> ([(header::HeaderName, &'static str); 1], String) {
    let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    (
        [(header::CONTENT_TYPE, kind)],
        app.gateway.render_metrics().await,
    )
}

async fn reload_policy(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> (StatusCode, String) {
    if !peer.ip().is_loopback() {
        return (
            StatusCode::FORBIDDEN,
            "reload is accepted from this machine only\n".to_string(),
        );
    }
    app.gateway.relist().await;
    match (app.reload)() {
        Ok(()) => (
            StatusCode::OK,
            "lake relisted, policy reloaded\n".to_string(),
        ),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("policy refused, the current one stays: {e}\n"),
        ),
    }
}
