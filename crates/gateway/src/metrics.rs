//! What `/metrics` shows, in the OpenMetrics text format: statements by protocol and outcome,
//! their latency, rows sent, connections and sessions, cache hits and the lake's
//! object-store requests.

use std::time::Duration;

use lakegate_engine::CacheLookups;
use lakegate_lake::StoreRequests;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::protocol::Protocol;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Statement {
    protocol: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabel {
    protocol: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Refusal {
    protocol: &'static str,
    limit: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// The server's counters; cloned handles count together.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    statements: Family<Statement, Counter>,
    latency: Family<ProtocolLabel, Histogram, fn() -> Histogram>,
    rows: Family<ProtocolLabel, Counter>,
    bytes: Family<ProtocolLabel, Counter>,
    connections: Family<ProtocolLabel, Gauge>,
    sessions: Gauge,
    caches: CacheLookups,
    refused: Family<Refusal, Counter>,
}

impl Metrics {
    pub fn new(store: &StoreRequests, caches: &CacheLookups) -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::default(),
            statements: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            rows: Family::default(),
            bytes: Family::default(),
            connections: Family::default(),
            sessions: Gauge::default(),
            caches: caches.clone(),
            refused: Family::default(),
        };
        let r = &mut metrics.registry;
        r.register(
            "lakegate_statements",
            "Statements answered, by protocol and outcome (ok, hidden, denied, error, cancelled)",
            metrics.statements.clone(),
        );
        r.register(
            "lakegate_statement_duration_seconds",
            "Time from a statement's arrival to its last row sent",
            metrics.latency.clone(),
        );
        r.register(
            "lakegate_rows_sent",
            "Result rows sent",
            metrics.rows.clone(),
        );
        r.register(
            "lakegate_result_bytes_sent",
            "Bytes of results sent: pg DataRow and CopyData messages, Flight SQL IPC messages",
            metrics.bytes.clone(),
        );
        r.register(
            "lakegate_connections",
            "Open client connections (Postgres wire) and streams (Flight SQL)",
            metrics.connections.clone(),
        );
        r.register(
            "lakegate_sessions",
            "Per-principal sessions held in the session cache",
            metrics.sessions.clone(),
        );
        r.register(
            "lakegate_cache_lookups",
            "Lookups in lakegate's caches, by cache and result (hit, miss)",
            metrics.caches.by_cache(),
        );
        r.register(
            "lakegate_refused",
            "Requests refused by a resource limit, by protocol and limit",
            metrics.refused.clone(),
        );
        r.register(
            "lakegate_object_store_requests",
            "Requests made to the lake's object stores, by kind (list, get, footer_get, head)",
            store.by_kind(),
        );
        metrics
    }

    /// One statement finished.
    pub fn statement(&self, protocol: Protocol, outcome: &'static str, rows: u64, took: Duration) {
        self.statements
            .get_or_create(&Statement {
                protocol: protocol.as_str(),
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&ProtocolLabel {
                protocol: protocol.as_str(),
            })
            .observe(took.as_secs_f64());
        self.rows
            .get_or_create(&ProtocolLabel {
                protocol: protocol.as_str(),
            })
            .inc_by(rows);
    }

    /// Where a front end counts the bytes of results it sends over `protocol`.
    pub fn bytes_sent(&self, protocol: Protocol) -> BytesSent {
        BytesSent(
            self.bytes
                .get_or_create(&ProtocolLabel {
                    protocol: protocol.as_str(),
                })
                .clone(),
        )
    }

    /// A connection opened; the gauge goes down when the returned guard is dropped.
    pub fn connection(&self, protocol: Protocol) -> ConnectionGauge {
        let gauge = self
            .connections
            .get_or_create(&ProtocolLabel {
                protocol: protocol.as_str(),
            })
            .clone();
        gauge.inc();
        ConnectionGauge(gauge)
    }

    pub fn cache(&self, cache: &'static str, hit: bool) {
        self.caches.record(cache, hit);
    }

    pub fn refused(&self, protocol: Protocol, limit: &'static str) {
        self.refused
            .get_or_create(&Refusal {
                protocol: protocol.as_str(),
                limit,
            })
            .inc();
    }

    /// The text exposition, with `sessions` as the session cache holds them now.
    pub fn render(&self, sessions: u64) -> String {
        self.sessions
            .set(i64::try_from(sessions).unwrap_or(i64::MAX));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Result bytes sent over one protocol; clones count together.
#[derive(Debug, Clone)]
pub struct BytesSent(Counter);

impl BytesSent {
    pub fn add(&self, bytes: usize) {
        self.0.inc_by(bytes as u64);
    }
}

/// Counts one open connection while held.
#[derive(Debug)]
pub struct ConnectionGauge(Gauge);

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_its_labels() {
        let store = StoreRequests::default();
        let metrics = Metrics::new(&store, &CacheLookups::default());
        metrics.statement(Protocol::Postgres, "ok", 3, Duration::from_millis(5));
        metrics.cache("sessions", true);
        let open = metrics.connection(Protocol::Postgres);
        metrics.bytes_sent(Protocol::Flight).add(10);
        store.count("list");
        let text = metrics.render(2);
        for line in [
            "lakegate_statements_total{protocol=\"pg\",outcome=\"ok\"} 1",
            "lakegate_rows_sent_total{protocol=\"pg\"} 3",
            "lakegate_result_bytes_sent_total{protocol=\"flight\"} 10",
            "lakegate_connections{protocol=\"pg\"} 1",
            "lakegate_sessions 2",
            "lakegate_cache_lookups_total{cache=\"sessions\",result=\"hit\"} 1",
            "lakegate_object_store_requests_total{kind=\"list\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        drop(open);
        assert!(
            metrics
                .render(0)
                .contains("lakegate_connections{protocol=\"pg\"} 0")
        );
    }
}
