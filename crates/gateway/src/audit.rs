//! The audit log: one JSON line per login, statement and policy reload.
//!
//! Statements are written when they end — after the last row, on error, or when the client
//! goes away — so the line carries the rows returned and the outcome. Tokens are never
//! written; bound claim values are, since they decided what the user saw.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use lakegate_policy::{Principal, TableRules};
use serde_json::{Value, json};
use tracing::{debug, error, warn};

use crate::error::{AuthError, LogLevel, QueryError};
use crate::metrics::{BytesSent, Metrics};
use crate::protocol::Protocol;

/// Where audit lines go.
pub struct AuditLog {
    sink: Mutex<Box<dyn Write + Send>>,
}

impl AuditLog {
    /// Appends to `file`, or writes to stdout when `None`.
    pub fn open(file: Option<&Path>) -> std::io::Result<AuditLog> {
        let sink: Box<dyn Write + Send> = match file {
            Some(path) => Box::new(OpenOptions::new().create(true).append(true).open(path)?),
            None => Box::new(std::io::stdout()),
        };
        Ok(AuditLog {
            sink: Mutex::new(sink),
        })
    }

    fn write(&self, mut line: Value) {
        if let Value::Object(map) = &mut line {
            map.insert("time".to_string(), json!(Utc::now().to_rfc3339()));
        }
        // One write per line, so a reader (or another appender) never sees half a line.
        let text = format!("{line}\n");
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        let _ = sink.write_all(text.as_bytes());
        let _ = sink.flush();
    }

    /// A login attempt and its outcome.
    pub fn login(
        &self,
        protocol: Protocol,
        client: &str,
        user: &str,
        result: Result<&Principal, &AuthError>,
    ) {
        let (outcome, subject, reason) = match result {
            Ok(p) => ("ok", Some(p.subject.as_str()), None),
            Err(e) => ("denied", None, Some(e.to_string())),
        };
        self.write(json!({
            "event": "login", "protocol": protocol.as_str(), "client": client, "user": user,
            "subject": subject, "outcome": outcome, "reason": reason,
        }));
    }

    /// A policy reload and whether it was applied.
    pub fn policy_reload(&self, error: Option<&str>) {
        self.write(json!({
            "event": "policy_reload",
            "outcome": if error.is_some() { "error" } else { "ok" },
            "error": error,
        }));
    }

    /// 128 random bits in hex: an id tells nothing of other users' statements (a counter
    /// let anyone count them) and cannot be guessed to match another's audit line.
    fn query_id(&self) -> String {
        let bits: u128 = rand::random();
        format!("{bits:032x}")
    }
}

/// Who ran a statement, from where.
#[derive(Debug, Clone)]
pub struct Caller {
    pub protocol: Protocol,
    pub client: String,
    pub principal: Principal,
    /// When the caller's token expires: a statement's rows stop there.
    pub expires_at: chrono::DateTime<Utc>,
}

/// How a statement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// It named a table or column the principal cannot see (or that does not exist).
    Hidden,
    /// A forbidden statement class.
    Denied,
    Error,
    Cancelled,
    /// Stopped by the statement timeout.
    Timeout,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Hidden => "hidden",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
            Outcome::Cancelled => "cancelled",
            Outcome::Timeout => "timeout",
        }
    }

    /// The outcome a failed statement is recorded with.
    pub fn of(error: &QueryError) -> Outcome {
        match error {
            QueryError::TableNotFound(_) | QueryError::ColumnNotFound(_) => Outcome::Hidden,
            QueryError::Forbidden(_) => Outcome::Denied,
            QueryError::Cancelled => Outcome::Cancelled,
            QueryError::Timeout(_) => Outcome::Timeout,
            // The session ended under the statement, as a disconnect would end it.
            QueryError::TokenExpired => Outcome::Cancelled,
            QueryError::Syntax(_)
            | QueryError::UnknownSetting(_)
            | QueryError::InvalidParameterValue { .. }
            | QueryError::InvalidArgument(_)
            | QueryError::InvalidText(_)
            | QueryError::InvalidRegex(_)
            | QueryError::InvalidDatetimeFormat(_)
            | QueryError::LimitExceeded(_)
            | QueryError::Unsupported(_)
            | QueryError::TooComplex(_)
            | QueryError::Plan(_)
            | QueryError::DivisionByZero
            | QueryError::NumericOutOfRange(_)
            | QueryError::Data(_)
            | QueryError::DataFile { .. }
            | QueryError::ResultTypeChanged
            | QueryError::Changed { .. }
            | QueryError::Unavailable { .. }
            | QueryError::ResourcesExhausted(_)
            | QueryError::TooManyConnections(_)
            | QueryError::NoSuchCursor(_)
            | QueryError::DuplicateCursor(_)
            | QueryError::Internal(_) => Outcome::Error,
        }
    }
}

/// One statement's audit line, written once when it is finished (or dropped unfinished,
/// which means the client went away).
pub struct AuditEntry {
    log: Arc<AuditLog>,
    metrics: Arc<Metrics>,
    /// When the statement must have finished, if there is a statement timeout.
    deadline: Option<Instant>,
    arrived: Instant,
    id: String,
    caller: Caller,
    sql: String,
    started: chrono::DateTime<Utc>,
    tables: Vec<(String, Option<TableRules>)>,
    done: bool,
}

impl AuditEntry {
    pub(crate) fn new(
        log: Arc<AuditLog>,
        metrics: Arc<Metrics>,
        timeout: Option<Duration>,
        caller: Caller,
        sql: &str,
    ) -> AuditEntry {
        let arrived = Instant::now();
        AuditEntry {
            id: log.query_id(),
            log,
            metrics,
            deadline: timeout.map(|t| arrived + t),
            arrived,
            caller,
            sql: sql.to_string(),
            started: Utc::now(),
            tables: Vec::new(),
            done: false,
        }
    }

    /// The id users see in error messages, tying them to this line.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn arrived(&self) -> Instant {
        self.arrived
    }

    /// When the statement times out, if it can.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub(crate) fn set_tables(&mut self, tables: Vec<(String, Option<TableRules>)>) {
        self.tables = tables;
    }

    /// Writes the line.
    pub fn finish(mut self, outcome: Outcome, rows: u64, error: Option<&QueryError>) {
        self.write(outcome, rows, error);
    }

    /// Where the front end counts the bytes of this statement's results.
    pub fn bytes_sent(&self) -> BytesSent {
        self.metrics.bytes_sent(self.caller.protocol)
    }

    fn write(&mut self, outcome: Outcome, rows: u64, error: Option<&QueryError>) {
        if self.done {
            return;
        }
        self.done = true;
        let took = self.arrived.elapsed();
        self.metrics
            .statement(self.caller.protocol, outcome.name(), rows, took);
        let principal = &self.caller.principal;
        let mut claims: BTreeMap<&str, Value> = BTreeMap::new();
        claims.insert("departments", json!(principal.departments));
        claims.insert("groups", json!(principal.groups));
        for (name, values) in &principal.attributes {
            claims.insert(name, json!(values));
        }
        let tables: Vec<Value> = self
            .tables
            .iter()
            .map(|(name, rules)| {
                let grants: Vec<&str> = rules
                    .iter()
                    .flat_map(|r| r.grants.iter().map(|g| g.name.as_str()))
                    .collect();
                let restricts: Vec<&str> = rules
                    .iter()
                    .flat_map(|r| r.restricts.iter().map(|(n, _)| n.as_str()))
                    .collect();
                let masks: BTreeMap<&str, &str> = rules
                    .iter()
                    .flat_map(|r| r.grants.iter())
                    .flat_map(|g| g.masks.iter().map(|(c, k)| (c.as_str(), k.name())))
                    .collect();
                json!({"table": name, "grants": grants, "restricts": restricts, "masks": masks})
            })
            .collect();
        if let Some(error) = error {
            let id = &self.id;
            match error.codes().level {
                LogLevel::Debug => debug!(query_id = %id, %error, "statement failed"),
                LogLevel::Warn => warn!(query_id = %id, %error, "statement failed"),
                LogLevel::Error => error!(query_id = %id, %error, "statement failed"),
            }
        }
        let elapsed = took.as_millis();
        self.log.write(json!({
            "event": "statement",
            "query_id": self.id,
            "started": self.started.to_rfc3339(),
            "elapsed_ms": elapsed,
            "protocol": self.caller.protocol.as_str(),
            "client": self.caller.client,
            "subject": principal.subject,
            "claims": claims,
            "sql": self.sql,
            "tables": tables,
            "rows": rows,
            "outcome": outcome.name(),
            "error": error.map(|e| e.to_string()),
        }));
    }
}

impl Drop for AuditEntry {
    fn drop(&mut self) {
        self.write(Outcome::Cancelled, 0, None);
    }
}
