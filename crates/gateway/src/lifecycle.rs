//! The statement lifecycle, the same for both front ends: parse → guard → plan (cached per
//! session) → parameter types → bind → execute, with the audit line, cancellation, the
//! statement timeout, the token's expiry and admission. A front end decodes its protocol
//! into a [`Request`] and encodes the [`Answer`]; nothing here knows the wire.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::future::{BoxFuture, Shared};
use lakegate_pgcompat::setting;
use lakegate_policy::copy::CopyOut;
use lakegate_policy::guard::Action;

use crate::audit::{AuditEntry, Caller, Outcome};
use crate::error::QueryError;
use crate::gateway::Gateway;
use crate::origin::Origin;
use crate::protocol::Protocol;
use crate::session::Session;
use crate::stream::QueryStream;
use crate::{ParamValues, Statement};

/// Resolves to `true` when the client cancels the request it was made for (PostgreSQL's
/// `CancelRequest`), to `false` when that request ends without one. Shared, so a stream
/// still sending rows keeps watching it.
pub type Cancel = Shared<BoxFuture<'static, bool>>;

/// A statement's bound parameters in the front end's encoding, decoded once the plan has
/// decided their types.
pub trait Parameters: Send + Sync {
    /// The values of `$1…$n`; `types` has the type the plan expects for each, in order,
    /// `None` where the plan leaves one open. A value that cannot be decoded as its type is
    /// `QueryError::InvalidText` (`22P02`), one out of its type's range `NumericOutOfRange`
    /// (`22003`).
    fn bind(&self, types: &[Option<DataType>]) -> Result<ParamValues, QueryError>;
}

/// One statement, as a front end hands it to [`Gateway::describe`] or [`Gateway::run`].
pub struct Request<'a> {
    pub caller: &'a Caller,
    /// What the audit line records of the statement: the client's text (Flight SQL) or
    /// the parsed statement written back (one of a pg message's several).
    pub sql: &'a str,
    pub statement: &'a Statement,
    /// The connection's settings by lower-case name (`SET`, start-up parameters): they
    /// decide the time zone `timestamptz` is in and what `SHOW` answers. Flight SQL has no
    /// session settings, so its map is empty and every setting has its default.
    pub settings: &'a HashMap<String, String>,
    /// Bound parameters, if the statement has any.
    pub params: Option<&'a dyn Parameters>,
    /// The cancel signal of the client's request, where the protocol has one.
    pub cancel: Option<Cancel>,
    /// What the client was told of the statement (a prepared statement's Describe): its
    /// rows must have those columns and its parameters those types (the client encoded
    /// them so), or the statement fails with PostgreSQL's `0A000` "cached plan must not
    /// change result type" and drivers prepare it again.
    pub described: Option<&'a Described>,
}

/// What a statement would do, planned but not run.
#[derive(Debug, Clone)]
pub struct Described {
    pub action: Action,
    /// The columns of its rows: a query's, `SHOW`'s; empty for statements without rows
    /// (a `DECLARE`'s cursor is described by its name, a `FETCH` by its cursor).
    pub columns: SchemaRef,
    /// The type of each `$n`, in order; `None` where the plan leaves one open.
    pub parameter_types: Vec<Option<DataType>>,
    /// Each result column's table OID and attribute number, where it is a table's column.
    pub origins: Vec<Origin>,
}

/// What running a statement gave.
pub enum Answer {
    /// The rows of a query or of `SHOW`.
    Rows(QueryStream),
    /// `COPY (query) TO STDOUT`: the query's rows, to send as copy data.
    Copy { copy: CopyOut, rows: QueryStream },
    /// `DECLARE name CURSOR FOR query`: the query has started; its rows wait for `FETCH`.
    Cursor {
        name: String,
        /// `WITH HOLD`.
        holdable: bool,
        rows: QueryStream,
    },
    /// A statement the front end answers from its own connection state.
    Command(Command),
}

/// `SET`, `RESET`, transaction control, `FETCH`, `MOVE`, `CLOSE` and no-ops: the
/// connection's state is the front end's, so it applies the action and then reports how
/// it went with [`Command::finish`], which writes the audit line.
pub struct Command {
    pub action: Action,
    audit: AuditEntry,
}

impl Command {
    /// The id of the statement's audit line, for an error message.
    pub fn query_id(&self) -> &str {
        self.audit.id()
    }

    /// Writes the audit line: `rows` the statement returned, or why it failed.
    pub fn finish(self, result: Result<u64, &QueryError>) {
        match result {
            Ok(rows) => self.audit.finish(Outcome::Ok, rows, None),
            Err(e) => self.audit.finish(Outcome::of(e), 0, Some(e)),
        }
    }
}

/// A statement that failed. Its audit line is written; `query_id` ties the client's error
/// message to it (`None` when the statement was refused before it had one: admission).
#[derive(Debug)]
pub struct Failed {
    pub error: QueryError,
    pub query_id: Option<String>,
}

impl Failed {
    fn unaudited(error: QueryError) -> Failed {
        Failed {
            error,
            query_id: None,
        }
    }
}

impl Gateway {
    /// The statements of one message (a simple query may hold several). SQL that does not
    /// parse is audited and refused.
    pub fn statements(&self, caller: &Caller, sql: &str) -> Result<Vec<Statement>, Failed> {
        self.parse(sql)
            .map_err(|e| audited(self.audit(caller.clone(), sql), e))
    }

    /// The one statement of a prepared statement or a Flight SQL command. `None` for an
    /// empty prepared statement (PostgreSQL's empty query); a Flight SQL command must hold
    /// exactly one. Several are refused (and audited).
    pub fn statement(&self, caller: &Caller, sql: &str) -> Result<Option<Statement>, Failed> {
        let mut statements = self.statements(caller, sql)?;
        let refused = match (caller.protocol, statements.len()) {
            (Protocol::Postgres, n) if n > 1 => {
                "cannot insert multiple commands into a prepared statement".to_string()
            }
            (Protocol::Flight | Protocol::Http, n) if n != 1 => {
                format!("a Flight SQL command holds one statement; this one holds {n}")
            }
            _ => return Ok(statements.pop()),
        };
        let error = QueryError::Syntax(refused);
        Err(audited(self.audit(caller.clone(), sql), error))
    }

    /// Plans a statement without running it: its result columns, parameter types and
    /// column origins, for the extended protocol's Describe and Flight SQL's
    /// `GetFlightInfo` and prepared statements. With `request.params` bound, the columns
    /// are those the rows will have with these values. A statement that fails here is
    /// audited; one that plans is audited when it runs.
    pub async fn describe(&self, request: Request<'_>) -> Result<Described, Failed> {
        let described = async {
            let action = self.action(request.caller.protocol, request.statement)?;
            let query = match &action {
                Action::Query => Some(request.statement.clone()),
                Action::Declare { query, .. } => Some(self.inner_query(query)?),
                Action::Show(name) => {
                    return Ok(Described {
                        columns: show_columns(name),
                        action,
                        parameter_types: Vec::new(),
                        origins: Vec::new(),
                    });
                }
                Action::Unsupported(what) => return Err(QueryError::Unsupported(what.clone())),
                _ => None,
            };
            let Some(query) = query else {
                return Ok(Described {
                    action,
                    columns: Arc::new(Schema::empty()),
                    parameter_types: Vec::new(),
                    origins: Vec::new(),
                });
            };
            let zone = setting::zone(request.settings);
            let session = self.session(&request.caller.principal).await?;
            let plan = session.plan(&query, &zone).await?;
            let parameter_types = Session::parameter_types(&plan)?;
            let columns = match (&action, request.params) {
                (Action::Declare { .. }, _) => Arc::new(Schema::empty()),
                (_, Some(params)) => {
                    session.bound_schema(&plan, &params.bind(&parameter_types)?, &zone)?
                }
                (_, None) => session.described_schema(&plan, &parameter_types, &zone),
            };
            let origins = session.column_origins(&plan).await;
            Ok(Described {
                action,
                columns,
                parameter_types,
                origins,
            })
        };
        described
            .await
            .map_err(|e| audited(self.audit(request.caller.clone(), request.sql), e))
    }

    /// Runs a statement. A query's rows stream as the front end reads them; its audit line
    /// is written when they end, fail, are cancelled, time out, outlive the caller's token,
    /// or are dropped (the client went away). Flight SQL result streams count against the
    /// connection limits while they are open (a Postgres connection counts from its login).
    pub async fn run(&self, request: Request<'_>) -> Result<Answer, Failed> {
        let caller = request.caller;
        let admitted = match caller.protocol {
            Protocol::Flight => Some(
                self.admit(caller.protocol, &caller.principal.subject)
                    .map_err(Failed::unaudited)?,
            ),
            Protocol::Postgres | Protocol::Http => None,
        };
        let timeout = setting::statement_timeout(request.settings);
        let audit = self.audit_within(caller.clone(), request.sql, timeout);
        let action = match self.action(caller.protocol, request.statement) {
            Ok(action) => action,
            Err(e) => return Err(audited(audit, e)),
        };
        let query = match action {
            Action::Query => request.statement.clone(),
            Action::CopyOut(copy) => {
                let query = match self.inner_query(&copy.query) {
                    Ok(query) => query,
                    Err(e) => return Err(audited(audit, e)),
                };
                let rows = self.start(&request, &query, audit).await?;
                return Ok(Answer::Copy { copy, rows });
            }
            Action::Declare { name, query } => {
                let query = match self.inner_query(&query) {
                    Ok(query) => query,
                    Err(e) => return Err(audited(audit, e)),
                };
                let holdable = matches!(request.statement, Statement::Declare { stmts }
                    if stmts.iter().any(|d| d.hold == Some(true)));
                // A cursor outlives the request that declared it: a cancel sent once that
                // request has ended finds nothing running, as in PostgreSQL.
                let rows = self.start(&request, &query, audit).await?;
                return Ok(Answer::Cursor {
                    name,
                    holdable,
                    rows: rows.cancelled_by(None),
                });
            }
            Action::Show(name) => {
                let shown = setting::show(&name, |n| request.settings.get(n).cloned());
                return match shown.map(shown_batch) {
                    Some(Ok(batch)) => Ok(Answer::Rows(QueryStream::of_batch(batch, audit))),
                    Some(Err(e)) => Err(audited(audit, e)),
                    None => Err(audited(audit, QueryError::UnknownSetting(name))),
                };
            }
            Action::Unsupported(what) => {
                return Err(audited(audit, QueryError::Unsupported(what)));
            }
            action @ (Action::Set { .. }
            | Action::Reset(_)
            | Action::Transaction(_)
            | Action::NoOp(_)
            | Action::Fetch { .. }
            | Action::Move { .. }
            | Action::CloseCursor(_)) => return Ok(Answer::Command(Command { action, audit })),
        };
        let rows = self.start(&request, &query, audit).await?;
        Ok(Answer::Rows(rows.holding(admitted)))
    }

    /// What the guard says of a statement, and whether this front end serves it: SQL
    /// cursors and `COPY` need a connection's state and a copy sub-protocol, which Flight
    /// SQL has not (its results already stream, and already are Arrow).
    fn action(&self, protocol: Protocol, statement: &Statement) -> Result<Action, QueryError> {
        let action = self.classify(statement)?;
        match (protocol, &action) {
            (
                Protocol::Flight,
                Action::Declare { .. }
                | Action::Fetch { .. }
                | Action::Move { .. }
                | Action::CloseCursor(_),
            ) => Err(QueryError::Unsupported(
                "SQL cursors over Flight SQL (results already stream batch by batch)".to_string(),
            )),
            (Protocol::Flight, Action::CopyOut(_)) => Err(QueryError::Unsupported(
                "COPY over Flight SQL (run the query itself: results are already Arrow)"
                    .to_string(),
            )),
            _ => Ok(action),
        }
    }

    /// The one query a `COPY` or a `DECLARE` runs, held to the same guard as a query sent
    /// directly.
    fn inner_query(&self, sql: &str) -> Result<Statement, QueryError> {
        let mut statements = self.parse(sql)?;
        if statements.len() != 1 {
            return Err(QueryError::Syntax("expected one query".to_string()));
        }
        let statement = statements.remove(0);
        match self.classify(&statement)? {
            Action::Query => Ok(statement),
            _ => Err(QueryError::Unsupported("this inner statement".to_string())),
        }
    }

    /// Plans (cancellably), binds and starts a query; the stream carries the audit entry
    /// and watches the cancel signal and the token's expiry.
    async fn start(
        &self,
        request: &Request<'_>,
        query: &Statement,
        audit: AuditEntry,
    ) -> Result<QueryStream, Failed> {
        let zone = setting::zone(request.settings);
        let planned = async {
            let session = self.session(&request.caller.principal).await?;
            let plan = session.plan(query, &zone).await?;
            let parameter_types = Session::parameter_types(&plan)?;
            if let Some(described) = request.described
                && !(same_columns(
                    &described.columns,
                    &session.described_schema(&plan, &parameter_types, &zone),
                ) && same_types(&described.parameter_types, &parameter_types))
            {
                return Err(QueryError::ResultTypeChanged);
            }
            let params = match request.params {
                Some(params) => Some(params.bind(&parameter_types)?),
                None => None,
            };
            Ok((session, plan, params))
        };
        let planned = match request.cancel.clone() {
            Some(cancel) => tokio::select! {
                biased;
                true = cancel => Err(QueryError::Cancelled),
                planned = planned => planned,
            },
            None => planned.await,
        };
        let (session, plan, params) = match planned {
            Ok(planned) => planned,
            Err(e) => return Err(audited(audit, e)),
        };
        let id = audit.id().to_string();
        let rows = session
            .execute(plan, params, &zone, audit)
            .await
            .map_err(|error| Failed {
                error,
                query_id: Some(id),
            })?;
        Ok(rows
            .cancelled_by(request.cancel.clone())
            .until(request.caller.expires_at))
    }
}

/// Finishes the audit line of a statement that failed before it ran.
fn audited(audit: AuditEntry, error: QueryError) -> Failed {
    let query_id = Some(audit.id().to_string());
    audit.finish(Outcome::of(&error), 0, Some(&error));
    Failed { error, query_id }
}

/// `SHOW name`'s columns, all text; a name not known yet is one column of that name
/// (whether it exists is for running it to say).
fn show_columns(name: &str) -> SchemaRef {
    let columns = setting::show(name, |_| None)
        .map_or_else(|| vec![name.to_ascii_lowercase()], |shown| shown.columns);
    text_schema(&columns)
}

fn text_schema(columns: &[String]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

fn shown_batch(shown: setting::Shown) -> Result<RecordBatch, QueryError> {
    let columns = (0..shown.columns.len())
        .map(|i| {
            let values = shown.rows.iter().map(|row| row.get(i).map(String::as_str));
            Arc::new(values.collect::<StringArray>()) as _
        })
        .collect();
    RecordBatch::try_new(text_schema(&shown.columns), columns)
        .map_err(|e| QueryError::Internal(e.to_string()))
}

/// Whether rows of `now` can be sent as `described`: the same names and SQL types, in
/// order. Representations that are one PostgreSQL type agree: a `timestamptz` column's
/// Arrow type names the session's zone, which a client may change between Parse and
/// Execute, and strings or binaries of either width are `text` or `bytea`.
fn same_columns(described: &SchemaRef, now: &SchemaRef) -> bool {
    described.fields().len() == now.fields().len()
        && described.fields().iter().zip(now.fields()).all(|(a, b)| {
            a.name() == b.name() && sql_type(a.data_type()) == sql_type(b.data_type())
        })
}

/// Whether parameters described as `described` are still of those types.
fn same_types(described: &[Option<DataType>], now: &[Option<DataType>]) -> bool {
    described.len() == now.len()
        && described
            .iter()
            .zip(now)
            .all(|(a, b)| a.as_ref().map(sql_type) == b.as_ref().map(sql_type))
}

/// An Arrow type with what PostgreSQL does not tell apart made equal (`numeric` of any
/// precision is one type), element and field types included.
fn sql_type(data_type: &DataType) -> DataType {
    use datafusion::arrow::datatypes::{IntervalUnit, TimeUnit};
    let field = |f: &Field| Arc::new(Field::new(f.name(), sql_type(f.data_type()), true));
    match data_type {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            DataType::List(Arc::new(Field::new("item", sql_type(f.data_type()), true)))
        }
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(|f| field(f)).collect()),
        DataType::Date64 => DataType::Date32,
        DataType::Time32(_) | DataType::Time64(_) => DataType::Time64(TimeUnit::Microsecond),
        DataType::Interval(_) | DataType::Duration(_) => {
            DataType::Interval(IntervalUnit::MonthDayNano)
        }
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::Timestamp(_, zone) => DataType::Timestamp(
            TimeUnit::Microsecond,
            zone.as_ref().map(|_| Arc::from("+00:00")),
        ),
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => DataType::Decimal128(38, 0),
        DataType::Dictionary(_, value) => sql_type(value),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(fields: Vec<(&str, DataType)>) -> SchemaRef {
        Arc::new(Schema::new(
            fields
                .into_iter()
                .map(|(n, t)| Field::new(n, t, true))
                .collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn a_zone_changed_between_describe_and_execute_keeps_the_columns() {
        use datafusion::arrow::datatypes::TimeUnit::Microsecond;
        let utc = schema(vec![(
            "t",
            DataType::Timestamp(Microsecond, Some("UTC".into())),
        )]);
        let london = schema(vec![(
            "t",
            DataType::Timestamp(Microsecond, Some("Europe/London".into())),
        )]);
        let local = schema(vec![("t", DataType::Timestamp(Microsecond, None))]);
        assert!(same_columns(&utc, &london));
        assert!(!same_columns(&utc, &local));
    }

    #[test]
    fn a_zone_inside_an_array_is_no_change_either() {
        use datafusion::arrow::datatypes::TimeUnit::Microsecond;
        let list = |zone: &str| {
            let item = Field::new(
                "item",
                DataType::Timestamp(Microsecond, Some(zone.into())),
                true,
            );
            schema(vec![("ts", DataType::List(Arc::new(item)))])
        };
        assert!(same_columns(&list("UTC"), &list("Europe/London")));
    }

    #[test]
    fn another_type_or_name_changes_the_columns() {
        let a = schema(vec![("n", DataType::Int64)]);
        assert!(!same_columns(&a, &schema(vec![("n", DataType::Int32)])));
        assert!(!same_columns(&a, &schema(vec![("m", DataType::Int64)])));
        assert!(same_columns(
            &schema(vec![("s", DataType::Utf8)]),
            &schema(vec![("s", DataType::Utf8View)])
        ));
    }
}
