//! The gateway itself: shared state built once at start-up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use datafusion::sql::sqlparser::ast::{Ident, ObjectName};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use lakegate_engine::Engine;
use lakegate_lake::{Lake, Sidecar};
use lakegate_policy::guard::{Action, MOVE, classify};
use lakegate_policy::{Policy, Principal};
use moka::future::Cache;

use crate::Statement;
use crate::admission::{Admission, Admitted};
use crate::audit::{AuditEntry, AuditLog, Caller};
use crate::backends::Backends;
use crate::changes::LakeChanges;
use crate::config::{CacheConfig, LimitsConfig};
use crate::error::{AuthError, QueryError};
use crate::identity::{Identity, TokenVerifier};
use crate::metrics::Metrics;
use crate::protocol::Protocol;
use crate::session::Session;

/// What the gateway is built from.
pub struct GatewayParts {
    pub lake: Arc<Lake>,
    pub engine: Engine,
    pub policy: Policy,
    pub verifier: TokenVerifier,
    pub audit: Arc<AuditLog>,
    pub limits: LimitsConfig,
    pub caches: CacheConfig,
}

/// A policy with a version that changes on every reload, so cached sessions re-plan.
struct PolicyState {
    policy: Policy,
    version: u64,
}

/// The startup user that means "whoever the token says".
const ANY_USER: &str = "token";

/// Cached sessions are keyed by everything that decides their content.
type SessionKey = (Principal, u64, u64);

/// The API both front ends call.
pub struct Gateway {
    lake: Arc<Lake>,
    engine: Engine,
    policy: RwLock<Arc<PolicyState>>,
    verifier: TokenVerifier,
    audit: Arc<AuditLog>,
    sessions: Cache<SessionKey, Session>,
    parser: PostgresCompatibilityParser,
    backends: Arc<Backends>,
    metrics: Arc<Metrics>,
    admission: Arc<Admission>,
    query_timeout: Option<Duration>,
    caches: CacheConfig,
    changes: LakeChanges,
}

impl Gateway {
    pub fn new(parts: GatewayParts) -> Gateway {
        let metrics = Arc::new(Metrics::new(
            parts.lake.requests(),
            parts.engine.cache_lookups(),
        ));
        let timeout = parts.limits.query_timeout_secs;
        let changes = LakeChanges::new(parts.engine.dataset_caches(), Arc::clone(&parts.lake));
        Gateway {
            changes,
            lake: parts.lake,
            engine: parts.engine,
            policy: RwLock::new(Arc::new(PolicyState {
                policy: parts.policy,
                version: 1,
            })),
            verifier: parts.verifier,
            audit: parts.audit,
            sessions: Cache::builder()
                .max_capacity(parts.caches.sessions)
                .time_to_idle(Duration::from_secs(parts.caches.session_idle_secs))
                .build(),
            parser: PostgresCompatibilityParser::new(),
            backends: Arc::new(Backends::default()),
            admission: Arc::new(Admission::new(parts.limits, Arc::clone(&metrics))),
            metrics,
            query_timeout: (timeout > 0).then(|| Duration::from_secs(timeout)),
            caches: parts.caches,
        }
    }

    /// The configured cache sizes, for the front ends' own caches.
    pub fn caches(&self) -> &CacheConfig {
        &self.caches
    }

    /// The server's counters, for `/metrics` and for the front ends' own.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// `/metrics`, as of now.
    pub async fn render_metrics(&self) -> String {
        // The session count is exact only once the cache's pending work is done.
        self.sessions.run_pending_tasks().await;
        self.metrics.render(self.sessions.entry_count())
    }

    /// Admits a connection (`pg`) or result stream (`flight`) of `subject`, within the
    /// configured limits.
    pub fn admit(&self, protocol: Protocol, subject: &str) -> Result<Admitted, QueryError> {
        self.admission.admit(protocol, subject)
    }

    /// The connections the server holds, for `pg_stat_activity`.
    pub fn backends(&self) -> &Arc<Backends> {
        &self.backends
    }

    /// A login, the only way a principal comes into being: verifies the token, checks that `user` is the token's user name (or the
    /// catch-all `token`), and writes the attempt to the audit log.
    pub fn login(
        &self,
        token: &str,
        user: &str,
        protocol: Protocol,
        client: &str,
    ) -> Result<Identity, AuthError> {
        let result = if token.is_empty() {
            Err(AuthError::NoToken)
        } else {
            self.verifier.verify(token).and_then(|identity| {
                if user == ANY_USER || user == identity.principal.username {
                    Ok(identity)
                } else {
                    Err(AuthError::UserMismatch)
                }
            })
        };
        self.audit.login(
            protocol,
            client,
            user,
            result.as_ref().map(|i| &i.principal),
        );
        result
    }

    /// Starts a statement's audit line.
    pub(crate) fn audit(&self, caller: Caller, sql: &str) -> AuditEntry {
        self.audit_within(caller, sql, None)
    }

    /// Starts a statement's audit line, its statement timeout the session's
    /// `statement_timeout` where that is shorter than the server's (`[limits]`): a client
    /// may shorten the limit, never lengthen it.
    pub(crate) fn audit_within(
        &self,
        caller: Caller,
        sql: &str,
        session_timeout: Option<Duration>,
    ) -> AuditEntry {
        let timeout = match (self.query_timeout, session_timeout) {
            (Some(server), Some(session)) => Some(server.min(session)),
            (server, session) => server.or(session),
        };
        AuditEntry::new(
            Arc::clone(&self.audit),
            Arc::clone(&self.metrics),
            timeout,
            caller,
            sql,
        )
    }

    /// Parses SQL (PostgreSQL dialect, with the rewrites drivers' catalog queries need).
    /// Statements too large or too deeply nested to process safely are refused first.
    pub(crate) fn parse(&self, sql: &str) -> Result<Vec<Statement>, QueryError> {
        if let Some((fetch, moving)) = cursor_statement(sql) {
            return self.parse_fetch(&fetch, moving);
        }
        crate::complexity::check(sql)?;
        let mut statements = self
            .parser
            .parse(sql)
            .map_err(|e| QueryError::Syntax(e.to_string()))?;
        lakegate_pgcompat::rewrite(&mut statements);
        lakegate_pgcompat::name_columns(sql, &mut statements);
        Ok(statements)
    }

    /// A `FETCH`, or a `MOVE` written as one and marked to skip the rows.
    fn parse_fetch(&self, fetch: &str, moving: bool) -> Result<Vec<Statement>, QueryError> {
        let mut statements = self
            .parser
            .parse(fetch)
            .map_err(|e| QueryError::Syntax(e.to_string()))?;
        for statement in &mut statements {
            if let (Statement::Fetch { into, .. }, true) = (&mut *statement, moving) {
                *into = Some(ObjectName::from(vec![Ident::new(MOVE)]));
            }
        }
        Ok(statements)
    }

    /// What the statement guard says about a statement.
    pub(crate) fn classify(&self, statement: &Statement) -> Result<Action, QueryError> {
        Ok(classify(statement)?)
    }

    /// The principal's session over the current lake snapshot and policy.
    pub async fn session(&self, principal: &Principal) -> Result<Session, QueryError> {
        let snapshot = self.lake.snapshot();
        let policy = Arc::clone(&self.policy.read().unwrap_or_else(|e| e.into_inner()));
        let key = (principal.clone(), snapshot.version, policy.version);
        let built = AtomicBool::new(false);
        let session = self
            .sessions
            .try_get_with(key, async {
                built.store(true, Ordering::Relaxed);
                let activity = Arc::clone(&self.backends) as Arc<dyn lakegate_pgcompat::Activity>;
                let (ctx, rules) =
                    self.engine
                        .session(principal, &policy.policy, &snapshot, activity)?;
                Ok::<_, lakegate_engine::EngineError>(Session::new(
                    ctx,
                    rules,
                    self.engine.executor().clone(),
                    self.changes.clone(),
                ))
            })
            .await
            .map_err(|e| QueryError::Internal(e.to_string()));
        self.metrics
            .cache("sessions", !built.load(Ordering::Relaxed));
        session
    }

    /// Lists the lake again now, forgetting every cached file listing: what a data engineer
    /// asks for after landing files, rather than waiting out the listing TTL.
    pub async fn relist(&self) {
        self.engine.forget_listings();
        self.lake.refresh().await;
    }

    /// Installs a new policy atomically, or records why it was refused; sessions built under
    /// the old one are not reused.
    pub fn replace_policy(&self, policy: Result<Policy, String>) {
        match policy {
            Ok(policy) => {
                let mut current = self.policy.write().unwrap_or_else(|e| e.into_inner());
                let version = current.version + 1;
                *current = Arc::new(PolicyState { policy, version });
                self.audit.policy_reload(None);
            }
            Err(e) => self.audit.policy_reload(Some(&e)),
        }
    }

    /// The catalogue entries (`_catalog.toml`) of the lake's tables, by `(schema, table)`.
    pub fn catalogue(&self) -> HashMap<(String, String), Sidecar> {
        self.lake
            .snapshot()
            .tables
            .iter()
            .filter_map(|t| {
                let sidecar = t.sidecar.clone()?;
                Some(((t.schema.clone(), t.name.clone()), sidecar))
            })
            .collect()
    }

    pub fn lake(&self) -> &Arc<Lake> {
        &self.lake
    }

    /// The database name clients see.
    pub fn database(&self) -> &str {
        self.engine.database()
    }
}

/// `MOVE …` or `FETCH …` (one statement) as the parser knows it, `FETCH … FROM name`
/// (PostgreSQL lets clients leave out the `FROM`: asyncpg's `MOVE FORWARD 5 portal`), and
/// whether it was a `MOVE`.
fn cursor_statement(sql: &str) -> Option<(String, bool)> {
    let trimmed = sql.trim().trim_end_matches(';');
    let mut words: Vec<&str> = trimmed.split_whitespace().collect();
    let first = words.first()?.to_ascii_uppercase();
    if !matches!(first.as_str(), "MOVE" | "FETCH") || trimmed.contains(';') || words.len() < 2 {
        return None;
    }
    let before_name = words[words.len() - 2].to_ascii_uppercase();
    if !matches!(before_name.as_str(), "FROM" | "IN") {
        words.insert(words.len() - 1, "FROM");
    }
    words[0] = "FETCH";
    Some((words.join(" "), first == "MOVE"))
}

#[cfg(test)]
mod tests {
    use super::cursor_statement;

    #[test]
    fn move_and_fetch_take_the_from_clients_leave_out() {
        assert_eq!(
            cursor_statement("MOVE FORWARD 5 c;"),
            Some(("FETCH FORWARD 5 FROM c".to_string(), true))
        );
        assert_eq!(
            cursor_statement("fetch 2 in c"),
            Some(("FETCH 2 in c".to_string(), false))
        );
        assert_eq!(cursor_statement("SELECT 1; MOVE 1 c"), None);
    }
}
