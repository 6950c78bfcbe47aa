//! Query results as a stream of encodable Arrow batches.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::Stream;

use crate::error::QueryError;

/// Batches straight from the scan, one at a time (nothing is collected), with view types
/// cast to their plain forms: encoders would otherwise see (and IPC would send) the whole
/// shared buffers behind every view.
pub struct QueryStream {
    inner: SendableRecordBatchStream,
    schema: SchemaRef,
    tables: Vec<String>,
}

impl QueryStream {
    pub(crate) fn new(inner: SendableRecordBatchStream, tables: Vec<String>) -> QueryStream {
        let schema = plain_schema(&inner.schema());
        QueryStream {
            inner,
            schema,
            tables,
        }
    }

    /// The schema every batch has.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
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
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(batch))) => Poll::Ready(Some(self.plain_batch(batch))),
            Poll::Ready(Some(Err(e))) => {
                Poll::Ready(Some(Err(QueryError::from_datafusion(e, &self.tables))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// `schema` with view types replaced by their plain forms.
pub(crate) fn plain_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(plain_type(f.data_type())))
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
