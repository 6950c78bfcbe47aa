//! A statement run once more when a data file changed under the cached listing it was
//! planned with ([`ObjectChanged`]): the reader gets the data as it is now, not an error
//! for a valid file, and the count and the rows agree.

use std::collections::VecDeque;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use futures::future::BoxFuture;
use lakegate_engine::DatasetCaches;
use lakegate_lake::{Lake, ObjectChanged};
use tracing::info;

/// What a session does when a read finds a file changed: forget the dataset's cached
/// listing, footers and statistics, and have the lake listed again. Cheap to clone.
#[derive(Clone)]
pub(crate) struct LakeChanges {
    caches: DatasetCaches,
    lake: Arc<Lake>,
}

impl LakeChanges {
    pub fn new(caches: DatasetCaches, lake: Arc<Lake>) -> LakeChanges {
        LakeChanges { caches, lake }
    }

    /// The changed file, if that is why `error` happened.
    pub fn cause(error: &DataFusionError) -> Option<ObjectChanged> {
        ObjectChanged::find(error).cloned()
    }

    pub fn forget(&self, changed: &ObjectChanged) {
        info!(file = %changed.location, dataset = %changed.dataset, "a data file changed after it was listed; listing the dataset again");
        self.caches.forget(&changed.dataset);
        self.lake.relist_soon();
    }
}

/// Starts the statement again (after the changed dataset's caches were dropped).
pub(crate) type Restart = Box<
    dyn FnOnce() -> BoxFuture<'static, Result<SendableRecordBatchStream, DataFusionError>> + Send,
>;

/// Rows held back before the first is sent, so that a change found while the statement is
/// still reading its first files can be answered by running it again: most BI statements'
/// whole results fit, and files are read in parallel, in no fixed order.
const HOLD_BACK_BYTES: usize = 8 << 20;

struct Attempt {
    batches: SendableRecordBatchStream,
    retry: Option<(LakeChanges, Restart)>,
    /// Batches not yet sent, while the statement may still run again.
    held: VecDeque<RecordBatch>,
    held_bytes: usize,
    holding: bool,
}

impl Attempt {
    /// The next batch to send: held ones first, once holding has stopped.
    fn release(&mut self) -> Option<RecordBatch> {
        if self.holding {
            None
        } else {
            self.held.pop_front()
        }
    }
}

/// `batches`, run once more by `restart` if a file changed before any row was sent. Rows
/// are held back (up to [`HOLD_BACK_BYTES`]) so that a change found early is not one after
/// rows went out; after that a change is an error (a new run could repeat or miss rows).
pub(crate) fn retry_once(
    batches: SendableRecordBatchStream,
    changes: LakeChanges,
    restart: Restart,
) -> SendableRecordBatchStream {
    let schema = batches.schema();
    let attempt = Attempt {
        batches,
        retry: Some((changes, restart)),
        held: VecDeque::new(),
        held_bytes: 0,
        holding: true,
    };
    let stream = futures::stream::unfold(Some(attempt), |attempt| async move {
        let mut attempt = attempt?;
        loop {
            if let Some(batch) = attempt.release() {
                return Some((Ok(batch), Some(attempt)));
            }
            match attempt.batches.next().await {
                None if attempt.holding => attempt.holding = false,
                None => return None,
                Some(Ok(batch)) if attempt.holding => {
                    attempt.held_bytes += batch.get_array_memory_size();
                    attempt.held.push_back(batch);
                    attempt.holding = attempt.held_bytes < HOLD_BACK_BYTES;
                }
                Some(Ok(batch)) => return Some((Ok(batch), Some(attempt))),
                Some(Err(error)) => {
                    let changed = LakeChanges::cause(&error);
                    let retry = attempt.retry.take();
                    let (Some(changed), Some((changes, restart)), true) =
                        (changed, retry, attempt.holding)
                    else {
                        return Some((Err(error), None));
                    };
                    changes.forget(&changed);
                    attempt.held.clear();
                    attempt.held_bytes = 0;
                    match restart().await {
                        Ok(batches) => attempt.batches = batches,
                        Err(error) => return Some((Err(error), None)),
                    }
                }
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}
