//! Connection and stream limits, per protocol and per principal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::LimitsConfig;
use crate::error::QueryError;
use crate::metrics::{ConnectionGauge, Metrics};
use crate::protocol::Protocol;

/// Counts what each protocol and each principal holds open.
#[derive(Debug)]
pub struct Admission {
    limits: LimitsConfig,
    metrics: Arc<Metrics>,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    by_protocol: HashMap<Protocol, usize>,
    by_subject: HashMap<String, usize>,
}

impl Admission {
    pub fn new(limits: LimitsConfig, metrics: Arc<Metrics>) -> Admission {
        Admission {
            limits,
            metrics,
            open: Mutex::new(Open::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn protocol_limit(&self, protocol: Protocol) -> usize {
        match protocol {
            Protocol::Postgres => self.limits.max_pg_connections,
            Protocol::Flight => self.limits.max_flight_streams,
            // Administrative calls hold no connection; nothing admits them.
            Protocol::Http => usize::MAX,
        }
    }

    /// Admits one more connection (Postgres) or result stream (Flight) of `subject`, held until
    /// the returned guard is dropped; refused when either limit is reached.
    pub fn admit(
        self: &Arc<Self>,
        protocol: Protocol,
        subject: &str,
    ) -> Result<Admitted, QueryError> {
        let mut open = self.lock();
        let of_protocol = open.by_protocol.get(&protocol).copied().unwrap_or(0);
        let of_subject = open.by_subject.get(subject).copied().unwrap_or(0);
        let refused = if of_protocol >= self.protocol_limit(protocol) {
            Some((
                "protocol",
                "the server's limit for this protocol is reached",
            ))
        } else if of_subject >= self.limits.max_per_principal {
            Some(("principal", "this user already holds as many as allowed"))
        } else {
            None
        };
        if let Some((limit, why)) = refused {
            self.metrics.refused(protocol, limit);
            return Err(QueryError::TooManyConnections(why.to_string()));
        }
        *open.by_protocol.entry(protocol).or_default() += 1;
        *open.by_subject.entry(subject.to_string()).or_default() += 1;
        Ok(Admitted {
            admission: Arc::clone(self),
            protocol,
            subject: subject.to_string(),
            _gauge: self.metrics.connection(protocol),
        })
    }
}

/// One admitted connection or stream.
#[derive(Debug)]
pub struct Admitted {
    admission: Arc<Admission>,
    protocol: Protocol,
    subject: String,
    _gauge: ConnectionGauge,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.admission.lock();
        if let Some(n) = open.by_protocol.get_mut(&self.protocol) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = open.by_subject.get_mut(&self.subject) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_subject.remove(&self.subject);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lakegate_lake::StoreRequests;

    fn admission(pg: usize, per_principal: usize) -> Arc<Admission> {
        let limits = LimitsConfig {
            max_pg_connections: pg,
            max_per_principal: per_principal,
            ..LimitsConfig::default()
        };
        let metrics = Arc::new(Metrics::new(
            &StoreRequests::default(),
            &lakegate_engine::CacheLookups::default(),
        ));
        Arc::new(Admission::new(limits, metrics))
    }

    #[test]
    fn refuses_past_the_principal_limit_and_admits_again_after_a_close() {
        let a = admission(10, 2);
        let first = a.admit(Protocol::Postgres, "ada").unwrap();
        let _second = a.admit(Protocol::Flight, "ada").unwrap();
        assert!(matches!(
            a.admit(Protocol::Postgres, "ada"),
            Err(QueryError::TooManyConnections(_))
        ));
        assert!(a.admit(Protocol::Postgres, "bob").is_ok());
        drop(first);
        assert!(a.admit(Protocol::Postgres, "ada").is_ok());
    }

    #[test]
    fn refuses_past_the_protocol_limit_whoever_asks() {
        let a = admission(1, 10);
        let _held = a.admit(Protocol::Postgres, "ada").unwrap();
        assert!(a.admit(Protocol::Postgres, "bob").is_err());
        assert!(a.admit(Protocol::Flight, "bob").is_ok());
    }
}
