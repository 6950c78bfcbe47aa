//! The HTTP side: `/healthz` (alive), `/readyz` (the lake has been listed), `/metrics`
//! (Prometheus) and `POST /reload` (relist the lake and re-read the policy — `lakegate
//! reload` uses it). Reload changes what every user sees, so it takes all of: a loopback
//! caller, a bearer token of a configured admin group, and no sign of a browser (`Origin`,
//! `Sec-Fetch-*`): a page a user visits can make the browser POST to loopback, and a token
//! alone could be replayed from anywhere HTTP reaches.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use lakegate_gateway::{Gateway, Protocol};
use tokio::net::TcpListener;
use tracing::warn;

/// Re-reads the policy: `Err` carries why it was refused.
pub type Reload = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

#[derive(Clone)]
struct App {
    gateway: Arc<Gateway>,
    reload: Reload,
    admin_groups: Arc<Vec<String>>,
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    reload: Reload,
    admin_groups: Vec<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/reload", post(reload_policy))
        .with_state(App {
            gateway,
            reload,
            admin_groups: Arc::new(admin_groups),
        });
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
    headers: HeaderMap,
) -> (StatusCode, String) {
    if let Err(refused) = admitted(&app, &peer, &headers) {
        return refused;
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

/// Whether a reload request may go ahead; the refusal to send if not.
fn admitted(app: &App, peer: &SocketAddr, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let refuse = |status, text: &str| Err((status, format!("{text}\n")));
    if !peer.ip().is_loopback() {
        return refuse(
            StatusCode::FORBIDDEN,
            "reload is accepted from this machine only",
        );
    }
    let browser = [
        "origin",
        "sec-fetch-site",
        "sec-fetch-mode",
        "sec-fetch-dest",
    ]
    .iter()
    .any(|h| headers.contains_key(*h));
    if browser {
        return refuse(
            StatusCode::FORBIDDEN,
            "reload is not accepted from a browser",
        );
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let identity = match app
        .gateway
        .login(token.trim(), "token", Protocol::Http, &peer.to_string())
    {
        Ok(identity) => identity,
        Err(e) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                &format!("reload needs an admin token: {e}"),
            );
        }
    };
    let admin = identity
        .principal
        .groups
        .iter()
        .any(|g| app.admin_groups.contains(g));
    if !admin {
        return refuse(
            StatusCode::FORBIDDEN,
            "reload needs a token of a group in server.admin_groups",
        );
    }
    Ok(())
}
