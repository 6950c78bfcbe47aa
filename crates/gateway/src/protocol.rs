//! The front ends a principal can arrive by.

use std::fmt;

/// A front end: what the audit log, the metrics and the connection limits tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// The Postgres wire protocol (version 3).
    Postgres,
    /// Arrow Flight SQL over gRPC.
    Flight,
    /// The HTTP endpoint's administrative calls (`POST /reload`).
    Http,
}

impl Protocol {
    /// The name in audit lines and metric labels: `pg` or `flight`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Postgres => "pg",
            Protocol::Flight => "flight",
            Protocol::Http => "http",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
