//! SQL cursors (`DECLARE`, `FETCH`, `CLOSE`): the query starts at `DECLARE` and each
//! `FETCH` takes the next rows from its stream, so a client pages through a large result
//! without the server holding it.

use std::collections::HashMap;

use futures::StreamExt;
use lakegate_gateway::arrow::datatypes::SchemaRef;
use lakegate_gateway::arrow::record_batch::RecordBatch;
use lakegate_gateway::{QueryError, QueryStream};
use tokio::sync::Mutex;

/// A connection's open cursors, by name.
#[derive(Default)]
pub struct Cursors {
    open: Mutex<HashMap<String, Cursor>>,
}

/// Cursors a connection may hold open at once: each holds a running query and up to its
/// first rows (the gateway holds back 8 MiB), so their number is bounded.
const MAX_OPEN: usize = 64;

impl Cursors {
    /// Opens a cursor over `results`; refused (and the results handed back, so the front
    /// end can end the statement with the error) when the name is taken or the
    /// connection holds as many cursors as it may.
    pub async fn declare(
        &self,
        name: &str,
        results: QueryStream,
    ) -> Result<(), (QueryError, QueryStream)> {
        let mut open = self.open.lock().await;
        if open.contains_key(name) {
            return Err((QueryError::DuplicateCursor(name.to_string()), results));
        }
        if open.len() >= MAX_OPEN {
            let error = QueryError::LimitExceeded(format!(
                "a connection may hold at most {MAX_OPEN} open cursors; CLOSE one first"
            ));
            return Err((error, results));
        }
        open.insert(
            name.to_string(),
            Cursor {
                results,
                pending: None,
            },
        );
        Ok(())
    }

    /// The columns of an open cursor.
    pub async fn schema(&self, name: &str) -> Option<SchemaRef> {
        self.open.lock().await.get(name).map(|c| c.results.schema())
    }

    /// Up to `rows` more rows of the cursor (all that are left when `None`).
    pub async fn fetch(
        &self,
        name: &str,
        rows: Option<u64>,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), QueryError> {
        let mut open = self.open.lock().await;
        let cursor = open
            .get_mut(name)
            .ok_or_else(|| QueryError::NoSuchCursor(name.to_string()))?;
        let batches = cursor.fetch(rows).await?;
        Ok((cursor.results.schema(), batches))
    }

    /// Closes one cursor, or all of them.
    pub async fn close(&self, name: Option<&str>) -> Result<(), QueryError> {
        let mut open = self.open.lock().await;
        match name {
            None => open.clear(),
            Some(name) => {
                open.remove(name)
                    .ok_or_else(|| QueryError::NoSuchCursor(name.to_string()))?;
            }
        }
        Ok(())
    }
}

struct Cursor {
    results: QueryStream,
    /// The rows of the last batch that were not fetched yet.
    pending: Option<RecordBatch>,
}

impl Cursor {
    async fn fetch(&mut self, rows: Option<u64>) -> Result<Vec<RecordBatch>, QueryError> {
        let mut wanted = rows.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        while wanted > 0 {
            let batch = match self.pending.take() {
                Some(batch) => batch,
                None => match self.results.next().await {
                    Some(batch) => batch?,
                    None => break,
                },
            };
            let n = batch.num_rows() as u64;
            if n <= wanted {
                wanted -= n;
                out.push(batch);
            } else {
                let take = wanted as usize;
                out.push(batch.slice(0, take));
                self.pending = Some(batch.slice(take, batch.num_rows() - take));
                wanted = 0;
            }
        }
        Ok(out)
    }
}
