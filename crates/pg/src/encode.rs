//! Arrow batches to pg rows, batch by batch.

use std::sync::Arc;

use arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
use futures::{Stream, StreamExt, stream};
use lakegate_gateway::arrow::record_batch::RecordBatch;
use lakegate_gateway::{QueryError, QueryStream};
use pgwire::api::portal::Format;
use pgwire::api::results::QueryResponse;
use pgwire::error::PgWireResult;
use pgwire::types::format::FormatOptions;

use crate::connection::CancelSignal;
use crate::error::query_error_with_id;

/// A query response whose rows are encoded one record batch at a time as the client reads
/// them; nothing is collected. A cancel ends the rows with `57014`.
pub fn query_response(
    results: QueryStream,
    format: &Format,
    options: Arc<FormatOptions>,
    cancel: CancelSignal,
) -> PgWireResult<QueryResponse> {
    let fields = Arc::new(arrow_schema_to_pg_fields(
        &results.schema(),
        format,
        Some(options),
    )?);
    let row_fields = Arc::clone(&fields);
    let id = results.query_id().unwrap_or_default().to_string();
    let rows = cancellable(results, cancel).flat_map(move |batch| match batch {
        Ok(batch) => stream::iter(encode_recordbatch(Arc::clone(&row_fields), batch)).left_stream(),
        Err(e) => {
            let error = query_error_with_id(&e, &id);
            stream::once(async move { Err(error) }).right_stream()
        }
    });
    Ok(QueryResponse::new(fields, rows))
}

/// The batches until the client cancels; then one `Cancelled` error and the end.
fn cancellable(
    results: QueryStream,
    cancel: CancelSignal,
) -> impl Stream<Item = Result<RecordBatch, QueryError>> + Send {
    stream::unfold(Some((results, Some(cancel))), |state| async move {
        let (mut results, cancel) = state?;
        let Some(signal) = cancel else {
            let next = results.next().await?;
            return Some((next, Some((results, None))));
        };
        tokio::select! {
            biased;
            fired = signal.clone() => {
                if fired {
                    Some((Err(QueryError::Cancelled), None))
                } else {
                    // The request ended without a cancel: stop watching.
                    let next = results.next().await?;
                    Some((next, Some((results, None))))
                }
            }
            next = results.next() => next.map(|item| (item, Some((results, Some(signal))))),
        }
    })
}
