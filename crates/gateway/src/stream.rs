//! Query results as a stream of encodable Arrow batches.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use chrono::{DateTime, Utc};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::{EmptyRecordBatchStream, RecordBatchStreamAdapter};
use futures::{Future, FutureExt, Stream};
use lakegate_pgcompat::wire_name;
use tokio::time::Sleep;

use crate::admission::Admitted;
use crate::audit::{AuditEntry, Outcome};
use crate::error::QueryError;
use crate::lifecycle::Cancel;
use crate::metrics::BytesSent;
use crate::origin::Origin;

/// Batches straight from the scan, one at a time (nothing is collected), with view types
/// cast to their plain forms: encoders would otherwise see (and IPC would send) the whole
/// shared buffers behind every view.
pub struct QueryStream {
    inner: SendableRecordBatchStream,
    schema: SchemaRef,
    tables: Vec<String>,
    origins: Vec<Origin>,
    rows: u64,
    /// The statement timeout, if any: when it fires the stream ends with an error.
    deadline: Option<(Pin<Box<Sleep>>, Duration)>,
    /// The client's cancel signal, while its request lasts.
    cancel: Option<Cancel>,
    /// When the caller's token expires: the stream ends with an error there.
    expiry: Option<Pin<Box<Sleep>>>,
    /// Written when the stream ends, fails, or is dropped (the client went away).
    audit: Option<AuditEntry>,
    /// Counts against the connection limits until the stream is dropped.
    _admitted: Option<Admitted>,
}

impl QueryStream {
    pub(crate) fn new(
        inner: SendableRecordBatchStream,
        tables: Vec<String>,
        origins: Vec<Origin>,
        audit: AuditEntry,
    ) -> QueryStream {
        let schema = plain_schema(&inner.schema());
        let deadline = audit.deadline().map(|at| {
            let timeout = at.saturating_duration_since(audit.arrived());
            (Box::pin(tokio::time::sleep_until(at.into())), timeout)
        });
        QueryStream {
            deadline,
            inner,
            schema,
            tables,
            origins,
            rows: 0,
            cancel: None,
            expiry: None,
            audit: Some(audit),
            _admitted: None,
        }
    }

    /// The rows of one batch already made (`SHOW`'s).
    pub(crate) fn of_batch(batch: RecordBatch, audit: AuditEntry) -> QueryStream {
        let schema = batch.schema();
        let inner = RecordBatchStreamAdapter::new(schema, futures::stream::iter([Ok(batch)]));
        QueryStream::new(Box::pin(inner), Vec::new(), Vec::new(), audit)
    }

    /// Ends the stream with `Cancelled` when `cancel` fires.
    pub(crate) fn cancelled_by(mut self, cancel: Option<Cancel>) -> QueryStream {
        self.cancel = cancel;
        self
    }

    /// Ends the stream with `TokenExpired` at `expires_at`.
    pub(crate) fn until(mut self, expires_at: DateTime<Utc>) -> QueryStream {
        let left = (expires_at - Utc::now()).to_std().unwrap_or_default();
        self.expiry = Some(Box::pin(tokio::time::sleep(left)));
        self
    }

    /// Holds `admitted` for as long as the stream lives.
    pub(crate) fn holding(mut self, admitted: Option<Admitted>) -> QueryStream {
        self._admitted = admitted;
        self
    }

    /// The audit id of the statement, for error messages.
    pub fn query_id(&self) -> Option<&str> {
        self.audit.as_ref().map(|a| a.id())
    }

    fn finish(&mut self, outcome: Outcome, error: Option<&QueryError>) {
        if let Some(audit) = self.audit.take() {
            audit.finish(outcome, self.rows, error);
        }
    }

    /// Ends the statement with `error` before any row was sent (the front end could not
    /// take its rows: a cursor of that name is already open), writing its audit line.
    pub fn fail(mut self, error: &QueryError) {
        self.finish(Outcome::of(error), Some(error));
    }

    /// Where the front end counts the bytes it sends of these results.
    pub fn bytes_sent(&self) -> Option<BytesSent> {
        self.audit.as_ref().map(AuditEntry::bytes_sent)
    }

    /// The schema every batch has.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Each column's table OID and attribute number, where it is a table's column.
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// The tables the query reads (`schema.table`).
    pub fn tables(&self) -> &[String] {
        &self.tables
    }

    fn plain_batch(&self, batch: RecordBatch) -> Result<RecordBatch, QueryError> {
        if batch.schema().fields() == self.schema.fields() {
            return Ok(batch);
        }
        let columns = batch
            .columns()
            .iter()
            .zip(self.schema.fields())
            .map(|(column, field)| cast(column, field.data_type()))
            .collect::<Result<Vec<ArrayRef>, _>>()
            .map_err(|e| QueryError::Internal(e.to_string()))?;
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| QueryError::Internal(e.to_string()))
    }
}

impl Stream for QueryStream {
    type Item = Result<RecordBatch, QueryError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.audit.is_none() {
            // Ended (finished, failed or timed out): nothing more.
            return Poll::Ready(None);
        }
        if let Some(cancel) = self.cancel.as_mut() {
            match cancel.poll_unpin(cx) {
                Poll::Ready(true) => return self.stop(QueryError::Cancelled),
                // The request ended without a cancel: nothing more to watch.
                Poll::Ready(false) => self.cancel = None,
                Poll::Pending => {}
            }
        }
        if let Some(expiry) = self.expiry.as_mut()
            && expiry.as_mut().poll(cx).is_ready()
        {
            return self.stop(QueryError::TokenExpired);
        }
        if let Some((sleep, timeout)) = self.deadline.as_mut()
            && sleep.as_mut().poll(cx).is_ready()
        {
            let timeout = timeout.as_secs();
            return self.stop(QueryError::Timeout(timeout));
        }
        let item = match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(batch))) => {
                self.rows += batch.num_rows() as u64;
                Some(self.plain_batch(batch))
            }
            Poll::Ready(Some(Err(e))) => Some(Err(QueryError::from_datafusion(e, &self.tables))),
            Poll::Ready(None) => None,
            Poll::Pending => return Poll::Pending,
        };
        match &item {
            None => self.finish(Outcome::Ok, None),
            Some(Err(e)) => self.finish(Outcome::of(e), Some(e)),
            Some(Ok(_)) => {}
        }
        Poll::Ready(item)
    }
}

impl QueryStream {
    /// Ends the stream early with `error`: the plan is dropped now, releasing its memory
    /// and tasks, and the audit line written.
    fn stop(&mut self, error: QueryError) -> Poll<Option<Result<RecordBatch, QueryError>>> {
        (self.deadline, self.cancel, self.expiry) = (None, None, None);
        self.inner = Box::pin(EmptyRecordBatchStream::new(self.inner.schema()));
        self.finish(Outcome::of(&error), Some(&error));
        Poll::Ready(Some(Err(error)))
    }
}

/// `schema` with view types replaced by their plain forms, columns named as the client
/// wrote them (the engine's names are unique; PostgreSQL's need not be), and every column
/// nullable: what a statement is described with (before it runs) and the schema its batches
/// have must be equal, and the two disagree on nullability — constant folding proves
/// `current_date` non-null only in the physical plan — which Flight SQL clients refuse
/// (ADBC: "inconsistent schema"). PostgreSQL's wire has no nullability to lose.
pub(crate) fn plain_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let field = f.as_ref().clone().with_name(wire_name(f.name()));
            field
                .with_data_type(plain_type(f.data_type()))
                .with_nullable(true)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn plain_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        other => other.clone(),
    }
}

impl Drop for QueryStream {
    fn drop(&mut self) {
        self.finish(Outcome::Cancelled, None);
    }
}
