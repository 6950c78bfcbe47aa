//! Query execution on threads of its own.
//!
//! DataFusion runs a plan's partitions as tasks on whichever runtime polls it. On the
//! runtime that also accepts connections and speaks the protocols, one CPU-heavy query
//! starves every other client of even a handshake or a cancel request; here plans run on
//! a runtime of their own, and only finished batches cross to the caller's.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream, execute_stream};
use futures::{Future, Stream, StreamExt};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cooperative::QueryStop;

/// Batches a query may have ready ahead of its client; more would only buffer.
const AHEAD: usize = 2;

/// Where plans run. Cheap to clone; the runtime lives while any clone does.
#[derive(Clone)]
pub struct Executor {
    handle: Handle,
    _runtime: Arc<Owned>,
}

/// A runtime that may be dropped from async code (a plain `Runtime` panics there).
struct Owned(Option<Runtime>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Executor {
    /// A runtime of `threads` worker threads, for queries only.
    pub fn dedicated(threads: usize) -> std::io::Result<Executor> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("lakegate-query")
            .enable_all()
            .build()?;
        Ok(Executor {
            handle: runtime.handle().clone(),
            _runtime: Arc::new(Owned(Some(runtime))),
        })
    }

    /// Starts `plan` on the query runtime. The returned stream yields its batches; dropping
    /// it stops the query at once, wherever it is.
    pub fn run(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        context: Arc<TaskContext>,
    ) -> SendableRecordBatchStream {
        let schema = plan.schema();
        let stop = Arc::new(QueryStop::default());
        let context = with_stop(context, &stop);
        let (sender, receiver) = mpsc::channel(AHEAD);
        let task = self.handle.spawn(async move {
            let mut batches = match execute_stream(plan, context) {
                Ok(batches) => batches,
                Err(e) => {
                    let _ = sender.send(Err(e)).await;
                    return;
                }
            };
            while let Some(batch) = batches.next().await {
                if sender.send(batch).await.is_err() {
                    return;
                }
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(
            schema,
            Remote {
                receiver,
                task: Some(task),
                stop,
            },
        ))
    }
}

/// The caller's end of a running query.
struct Remote {
    receiver: mpsc::Receiver<Result<RecordBatch, DataFusionError>>,
    /// `None` once it has ended and been checked.
    task: Option<JoinHandle<()>>,
    /// Stops the plan's operators when the results are no longer wanted: aborting the task
    /// takes effect only when it yields.
    stop: Arc<QueryStop>,
}

/// `context` with `stop` in its configuration, where every [`Interruptible`] operator of
/// the plan finds it.
///
/// [`Interruptible`]: crate::cooperative::Interruptible
fn with_stop(context: Arc<TaskContext>, stop: &Arc<QueryStop>) -> Arc<TaskContext> {
    let config = context
        .session_config()
        .clone()
        .with_extension(Arc::clone(stop));
    let context = Arc::try_unwrap(context).unwrap_or_else(|shared| {
        TaskContext::new(
            shared.task_id(),
            shared.session_id(),
            shared.session_config().clone(),
            shared.scalar_functions().clone(),
            shared.higher_order_functions().clone(),
            shared.aggregate_functions().clone(),
            shared.window_functions().clone(),
            shared.runtime_env(),
        )
    });
    Arc::new(context.with_session_config(config))
}

impl Stream for Remote {
    type Item = Result<RecordBatch, DataFusionError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(item) = futures::ready!(self.receiver.poll_recv(cx)) {
            return Poll::Ready(Some(item));
        }
        // The query's task is done; a panic there must not read as a complete result.
        let Some(task) = self.task.as_mut() else {
            return Poll::Ready(None);
        };
        let ended = futures::ready!(Pin::new(task).poll(cx));
        self.task = None;
        Poll::Ready(ended.err().map(|e| {
            Err(DataFusionError::Execution(format!(
                "the query stopped unexpectedly: {e}"
            )))
        }))
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            self.stop.stop();
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn planned(sql: &str) -> (Arc<dyn ExecutionPlan>, Arc<TaskContext>) {
        let ctx = SessionContext::new();
        let frame = ctx.sql(sql).await.expect("plans");
        let context = Arc::new(frame.task_ctx());
        (
            frame.create_physical_plan().await.expect("physical"),
            context,
        )
    }

    #[tokio::test]
    async fn runs_on_its_own_threads_and_returns_every_row() {
        let executor = Executor::dedicated(2).expect("runtime");
        let (plan, context) = planned("SELECT * FROM generate_series(1, 100000)").await;
        let batches: Vec<_> = executor.run(plan, context).collect().await;
        let rows: usize = batches
            .into_iter()
            .map(|b| b.expect("batch").num_rows())
            .sum();
        assert_eq!(rows, 100_000);
    }

    #[tokio::test]
    async fn errors_reach_the_caller() {
        let executor = Executor::dedicated(1).expect("runtime");
        let (plan, context) = planned("SELECT 1 / (v - v) FROM (VALUES (1)) t(v)").await;
        let batches: Vec<_> = executor.run(plan, context).collect().await;
        assert!(batches.iter().any(|b| b.is_err()), "{batches:?}");
    }

    #[tokio::test]
    async fn dropping_the_stream_stops_the_query() {
        let executor = Executor::dedicated(1).expect("runtime");
        let (plan, context) =
            planned("SELECT count(*) FROM generate_series(1, 100000000000)").await;
        let stream = executor.run(plan, context);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(stream);
        // With the single query thread freed, another query runs at once.
        let (plan, context) = planned("SELECT 1").await;
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            executor.run(plan, context).collect::<Vec<_>>(),
        )
        .await
        .expect("the first query was stopped");
        assert_eq!(answer.len(), 1);
    }
}
