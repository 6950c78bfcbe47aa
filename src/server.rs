//! Building the running server from a config: lake, engine, gateway, front ends.

use std::net::SocketAddr;
use std::sync::Arc;

use lakegate_engine::{Engine, EngineConfig};
use lakegate_flight::{FlightOptions, FlightServer, FlightServerConfig};
use lakegate_gateway::arrow::ipc::CompressionType;
use lakegate_gateway::arrow::ipc::writer::IpcWriteOptions;
use lakegate_gateway::{AuditLog, Gateway, GatewayParts, LimitsConfig, TokenVerifier, load_tls};
use lakegate_lake::Lake;
use lakegate_pg::{PgServer, PgServerConfig};
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use crate::config::{Compression, FlightSection, Loaded};
use crate::http;

/// Addresses that override the config.
#[derive(Debug, Default, Clone, Copy)]
pub struct Overrides {
    pub pg: Option<SocketAddr>,
    pub flight: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
}

/// The engine the config describes, over the lake's stores.
pub fn engine(loaded: &Loaded, lake: &Lake) -> Result<Engine, String> {
    let config = &loaded.config;
    Engine::new(
        lake,
        EngineConfig {
            database: config.database.clone(),
            target_partitions: config.engine.target_partitions,
            hash_key: loaded.hash_key().map_err(|e| e.to_string())?,
            memory: config.engine.memory(|p| loaded.resolve(p)),
        },
    )
    .map_err(|e| e.to_string())
}

/// A server that has listed the lake and bound its ports.
pub struct Server {
    loaded: Loaded,
    gateway: Arc<Gateway>,
    pg: PgServer,
    flight: FlightServer,
    http: TcpListener,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("binding {addr}: {e}"))
}

fn flight_options(section: &FlightSection, limits: &LimitsConfig) -> FlightOptions {
    let ipc = IpcWriteOptions::default();
    let ipc = match section.compression {
        Compression::None => ipc,
        // LZ4 is built into this binary's Arrow, so choosing it cannot fail.
        Compression::Lz4 => ipc
            .clone()
            .try_with_compression(Some(CompressionType::LZ4_FRAME))
            .unwrap_or(ipc),
    };
    FlightOptions {
        ipc,
        ticket_ttl: std::time::Duration::from_secs(section.ticket_ttl_secs),
        max_message_bytes: limits.max_message_bytes,
    }
}

impl Server {
    /// Opens the lake, lists it once, and binds every port. Fails before serving anything.
    pub async fn build(loaded: Loaded, overrides: Overrides) -> Result<Server, String> {
        let config = &loaded.config;
        let lake = Arc::new(Lake::open(&config.lake, &loaded.dir).map_err(|e| e.to_string())?);
        let engine = engine(&loaded, &lake)?;
        let snapshot = lake.refresh().await;
        info!(tables = snapshot.tables.len(), "lake listed");
        for e in &snapshot.zone_errors {
            warn!(error = %e, "zone could not be listed");
        }
        for table in &snapshot.tables {
            for (rule, reason) in engine.type_check(table, &loaded.policy) {
                error!(table = %table.qualified_name(), %rule, %reason, "ALERT: policy does not type-check; the table is unreadable for the principals it covers");
            }
        }
        let verifier = TokenVerifier::new(
            config.identity.clone(),
            &loaded.resolve(&config.identity.jwks_file),
        )?;
        let audit_file = config.audit.file.as_ref().map(|f| loaded.resolve(f));
        let audit = AuditLog::open(audit_file.as_deref())
            .map_err(|e| format!("opening the audit log: {e}"))?;
        let gateway = Arc::new(Gateway::new(GatewayParts {
            lake,
            engine,
            policy: loaded.policy.clone(),
            verifier,
            audit: Arc::new(audit),
            limits: config.limits.clone(),
            caches: config.cache.clone(),
        }));
        let tls = match &config.tls {
            Some(t) => Some(
                load_tls(&loaded.resolve(&t.cert), &loaded.resolve(&t.key))
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let pg_addr = overrides.pg.unwrap_or(config.server.pg);
        let http_addr = overrides.http.unwrap_or(config.server.http);
        let flight_addr = overrides.flight.unwrap_or(config.server.flight);
        for (name, addr) in [("pg", pg_addr), ("flight", flight_addr)] {
            if !addr.ip().is_loopback() && tls.is_none() {
                return Err(format!(
                    "refusing to listen for {name} on {addr} without TLS: configure [tls]"
                ));
            }
        }
        let pg = PgServer::new(
            bind(pg_addr).await?,
            Arc::clone(&gateway),
            PgServerConfig {
                tls: tls.clone(),
                allow_plaintext_loopback: config.server.allow_plaintext_loopback,
                max_message_bytes: config.limits.max_message_bytes,
            },
        );
        let flight = FlightServer::new(
            bind(flight_addr).await?,
            Arc::clone(&gateway),
            FlightServerConfig {
                tls,
                allow_plaintext_loopback: config.server.allow_plaintext_loopback,
                options: flight_options(&config.flight, &config.limits),
            },
        );
        let http = bind(http_addr).await?;
        Ok(Server {
            loaded,
            gateway,
            pg,
            flight,
            http,
        })
    }

    pub fn pg_addr(&self) -> Option<SocketAddr> {
        self.pg.local_addr().ok()
    }

    pub fn flight_addr(&self) -> Option<SocketAddr> {
        self.flight.local_addr().ok()
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.local_addr().ok()
    }

    /// Serves until SIGINT or SIGTERM; SIGHUP re-reads the policy (a bad one is refused
    /// and the old one kept).
    pub async fn run(self) -> Result<(), String> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let (loaded, gateway) = (self.loaded.clone(), Arc::clone(&self.gateway));
        let reload_policy: http::Reload = Arc::new(move || reload(&loaded, &gateway));
        let http = tokio::spawn(http::serve(
            self.http,
            Arc::clone(&self.gateway),
            reload_policy,
            self.loaded.config.server.admin_groups.clone(),
            stopped(stop_rx.clone()),
        ));
        let pg = tokio::spawn(self.pg.run(stopped(stop_rx.clone())));
        let flight = tokio::spawn(self.flight.run(stopped(stop_rx)));
        wait_for_signals(&self.loaded, &self.gateway).await;
        info!("shutting down");
        let _ = stop_tx.send(true);
        let _ = pg.await;
        let _ = flight.await;
        let _ = http.await;
        Ok(())
    }
}

#[cfg(unix)]
async fn wait_for_signals(loaded: &Loaded, gateway: &Gateway) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => {
                gateway.relist().await;
                let _ = reload(loaded, gateway);
            }
        }
    }
}

/// Re-reads the policy; a bad one is refused (and audited) and the current one kept.
fn reload(loaded: &Loaded, gateway: &Gateway) -> Result<(), String> {
    match loaded.reload_policy() {
        Ok(policy) => {
            gateway.replace_policy(Ok(policy));
            info!("policy reloaded");
            Ok(())
        }
        Err(e) => {
            error!(error = %e, "policy reload refused; keeping the current policy");
            gateway.replace_policy(Err(e.to_string()));
            Err(e.to_string())
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(_: &Loaded, _: &Gateway) {
    let _ = tokio::signal::ctrl_c().await;
}
