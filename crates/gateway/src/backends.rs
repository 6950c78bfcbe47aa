//! The connections the server holds, for `pg_stat_activity`: registered at login, updated
//! as statements start and finish, gone when the connection closes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use lakegate_pgcompat::{Activity, Backend, OpenCursor};

use crate::Identity;

#[derive(Debug, Default)]
pub struct Backends {
    by_pid: Mutex<HashMap<i32, Backend>>,
}

impl Activity for Backends {
    fn backends(&self, subject: &str) -> Vec<Backend> {
        let mut mine: Vec<Backend> = self
            .lock()
            .values()
            .filter(|b| b.subject == subject)
            .cloned()
            .collect();
        mine.sort_by_key(|b| b.pid);
        mine
    }
}

impl Backends {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Backend>> {
        self.by_pid.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection logged in; it stays listed until the guard is dropped.
    pub fn register(
        self: &Arc<Self>,
        pid: i32,
        identity: &Identity,
        client: SocketAddr,
        application_name: &str,
    ) -> BackendGuard {
        let now = Utc::now();
        self.lock().insert(
            pid,
            Backend {
                pid,
                subject: identity.principal.subject.clone(),
                username: identity.principal.username.clone(),
                application_name: application_name.to_string(),
                client_addr: client.ip().to_string(),
                client_port: i32::from(client.port()),
                backend_start: now,
                state: "idle",
                query: String::new(),
                query_start: None,
                state_change: now,
                cursors: Vec::new(),
            },
        );
        BackendGuard {
            backends: Arc::clone(self),
            pid,
        }
    }
}

/// A registered connection.
#[derive(Debug)]
pub struct BackendGuard {
    backends: Arc<Backends>,
    pid: i32,
}

impl BackendGuard {
    /// A cursor was declared on the connection (`pg_cursors`).
    pub fn cursor_opened(&self, name: &str, statement: &str, holdable: bool) {
        if let Some(b) = self.backends.lock().get_mut(&self.pid) {
            b.cursors.push(OpenCursor {
                name: name.to_string(),
                statement: statement.to_string(),
                holdable,
                created: Utc::now(),
            });
        }
    }

    /// A cursor was closed; `None`: all of them.
    pub fn cursor_closed(&self, name: Option<&str>) {
        if let Some(b) = self.backends.lock().get_mut(&self.pid) {
            b.cursors
                .retain(|c| name.is_some_and(|name| c.name != name));
        }
    }

    /// A statement starts; the connection is idle again when the token is dropped (for
    /// a query, once its last row is sent).
    pub fn active(&self, query: &str) -> Running {
        let now = Utc::now();
        if let Some(b) = self.backends.lock().get_mut(&self.pid) {
            b.state = "active";
            b.query = query.to_string();
            b.query_start = Some(now);
            b.state_change = now;
        }
        Running {
            backends: Arc::clone(&self.backends),
            pid: self.pid,
        }
    }
}

/// A statement running on a connection.
#[derive(Debug)]
pub struct Running {
    backends: Arc<Backends>,
    pid: i32,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(b) = self.backends.lock().get_mut(&self.pid) {
            b.state = "idle";
            b.state_change = Utc::now();
        }
    }
}

impl Drop for BackendGuard {
    fn drop(&mut self) {
        self.backends.lock().remove(&self.pid);
    }
}
