//! `pg_stat_activity` and `pg_cursors`: the principal's own connections and their cursors, live. The front end keeps the
//! list ([`Activity`]); each scan reads it, so the table is as current as the last
//! statement.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::Session;
use datafusion::error::Result;

use crate::computed::Rows;

/// One connection, as `pg_stat_activity` shows it.
#[derive(Debug, Clone)]
pub struct Backend {
    pub pid: i32,
    pub subject: String,
    pub username: String,
    pub application_name: String,
    pub client_addr: String,
    pub client_port: i32,
    pub backend_start: DateTime<Utc>,
    /// `active` while a statement runs, `idle` between statements.
    pub state: &'static str,
    /// The running or last statement.
    pub query: String,
    pub query_start: Option<DateTime<Utc>>,
    pub state_change: DateTime<Utc>,
    /// The SQL cursors open on the connection, by when they were declared.
    pub cursors: Vec<OpenCursor>,
}

/// A cursor opened by `DECLARE`, as `pg_cursors` shows it.
#[derive(Debug, Clone)]
pub struct OpenCursor {
    pub name: String,
    /// The `DECLARE` statement.
    pub statement: String,
    pub holdable: bool,
    pub created: DateTime<Utc>,
}

/// The connections the server holds.
pub trait Activity: Send + Sync + Debug {
    /// The connections of one principal (by token subject).
    fn backends(&self, subject: &str) -> Vec<Backend>;
}

/// `pg_stat_activity` for one principal.
#[derive(Debug)]
pub struct StatActivity {
    pub activity: Arc<dyn Activity>,
    pub subject: String,
    pub database: String,
}

fn schema() -> SchemaRef {
    let text = |n: &str| Field::new(n, DataType::Utf8, true);
    let int = |n: &str| Field::new(n, DataType::Int32, true);
    let time = |n: &str| {
        Field::new(
            n,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )
    };
    Arc::new(Schema::new(vec![
        int("datid"),
        text("datname"),
        int("pid"),
        int("leader_pid"),
        int("usesysid"),
        text("usename"),
        text("application_name"),
        text("client_addr"),
        text("client_hostname"),
        int("client_port"),
        time("backend_start"),
        time("xact_start"),
        time("query_start"),
        time("state_change"),
        text("wait_event_type"),
        text("wait_event"),
        text("state"),
        int("backend_xid"),
        int("backend_xmin"),
        Field::new("query_id", DataType::Int64, true),
        text("query"),
        text("backend_type"),
    ]))
}

impl StatActivity {
    fn batch(&self) -> Result<RecordBatch> {
        let backends = self.activity.backends(&self.subject);
        let text = |f: &dyn Fn(&Backend) -> Option<String>| -> ArrayRef {
            Arc::new(backends.iter().map(f).collect::<StringArray>())
        };
        let time = |f: &dyn Fn(&Backend) -> Option<DateTime<Utc>>| -> ArrayRef {
            let micros = backends.iter().map(|b| f(b).map(|t| t.timestamp_micros()));
            Arc::new(
                micros
                    .collect::<TimestampMicrosecondArray>()
                    .with_timezone("UTC"),
            )
        };
        let schema = schema();
        let columns = schema
            .fields()
            .iter()
            .map(|field| -> ArrayRef {
                match field.name().as_str() {
                    "datname" => text(&|_| Some(self.database.clone())),
                    "pid" => Arc::new(backends.iter().map(|b| Some(b.pid)).collect::<Int32Array>()),
                    "usename" => text(&|b| Some(b.username.clone())),
                    "application_name" => text(&|b| Some(b.application_name.clone())),
                    "client_addr" => text(&|b| Some(b.client_addr.clone())),
                    "client_port" => Arc::new(
                        backends
                            .iter()
                            .map(|b| Some(b.client_port))
                            .collect::<Int32Array>(),
                    ),
                    "backend_start" => time(&|b| Some(b.backend_start)),
                    "query_start" => time(&|b| b.query_start),
                    "state_change" => time(&|b| Some(b.state_change)),
                    "state" => text(&|b| Some(b.state.to_string())),
                    "query" => text(&|b| Some(b.query.clone())),
                    "backend_type" => text(&|_| Some("client backend".to_string())),
                    _ => {
                        datafusion::arrow::array::new_null_array(field.data_type(), backends.len())
                    }
                }
            })
            .collect();
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

#[async_trait]
impl Rows for StatActivity {
    fn schema(&self) -> SchemaRef {
        schema()
    }

    async fn rows(&self, _: &dyn Session) -> Result<Vec<RecordBatch>> {
        Ok(vec![self.batch()?])
    }
}

/// `pg_cursors`: the cursors open on the principal's connections (PostgreSQL shows the
/// current session's; the SQL session here is the principal's, as for
/// `pg_stat_activity`). Cursors are not binary and scroll forward only.
#[derive(Debug)]
pub struct PgCursors {
    pub activity: Arc<dyn Activity>,
    pub subject: String,
}

#[async_trait]
impl Rows for PgCursors {
    fn schema(&self) -> SchemaRef {
        let flag = |n: &str| Field::new(n, DataType::Boolean, true);
        Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("statement", DataType::Utf8, true),
            flag("is_holdable"),
            flag("is_binary"),
            flag("is_scrollable"),
            Field::new(
                "creation_time",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]))
    }

    async fn rows(&self, _: &dyn Session) -> Result<Vec<RecordBatch>> {
        let cursors: Vec<OpenCursor> = (self.activity.backends(&self.subject).into_iter())
            .flat_map(|b| b.cursors)
            .collect();
        let flags = |f: &dyn Fn(&OpenCursor) -> bool| -> ArrayRef {
            Arc::new(cursors.iter().map(|c| Some(f(c))).collect::<BooleanArray>())
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(
                cursors
                    .iter()
                    .map(|c| Some(c.name.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new((cursors.iter().map(|c| Some(c.statement.as_str()))).collect::<StringArray>()),
            flags(&|c| c.holdable),
            flags(&|_| false),
            flags(&|_| false),
            Arc::new(
                (cursors.iter().map(|c| Some(c.created.timestamp_micros())))
                    .collect::<TimestampMicrosecondArray>()
                    .with_timezone("UTC"),
            ),
        ];
        Ok(vec![RecordBatch::try_new(self.schema(), columns)?])
    }
}
