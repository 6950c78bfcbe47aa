//! Every operator yields to the runtime between batches, so a cancelled query stops at once.
//!
//! A query is stopped by dropping its stream, which aborts its task; tokio can only abort a
//! task when the task yields. DataFusion's own rule (`EnsureCooperative`) makes the scans
//! yield, which is enough while operators read their inputs; but a join working from rows
//! it has buffered (a cross join's output, a hash join's probe), a sort or an aggregation
//! emitting its state, or a window over a buffered partition produce batch after batch
//! without reading anything, and the task never yields: a cancelled three-way cross join
//! kept every query thread busy for seconds. Wrapping each operator in `CooperativeExec`
//! spends tokio's task budget on every batch it passes up, so the task yields (and an abort
//! takes effect) at least once per budget's worth of batches, whatever the operator does.
//!
//! A budget is 128 batches, and an operator's batch can be expensive (a cross join's
//! 8,192 concatenated rows hashed for repartitioning): a cancelled aggregation still kept
//! two threads busy for 1.4 s. So each wrapper also checks the query's [`QueryStop`] flag,
//! set the moment its stream is dropped, before every batch: the next operator to ask for a
//! batch gets an error instead, and the whole plan unwinds within one batch's work. The
//! cost is one budget check and one atomic load per batch per operator.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::Statistics;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{RecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coop::{CooperativeExec, make_cooperative};
use datafusion::physical_plan::execution_plan::CardinalityEffect;
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
    replace_children_if_necessary,
};
use futures::{Stream, StreamExt};

/// Set when a query's results are no longer wanted (cancel, timeout, disconnect): every
/// [`Interruptible`] operator of the query stops. Carried as an extension of the query's
/// task context.
#[derive(Debug, Default)]
pub struct QueryStop(AtomicBool);

impl QueryStop {
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The physical optimizer rule that wraps every operator with inputs in `CooperativeExec`.
/// Runs last, after DataFusion's own rules (which match on concrete operator types).
#[derive(Debug, Default)]
pub struct CooperativeOperators;

impl PhysicalOptimizerRule for CooperativeOperators {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        cooperative(plan)
    }

    fn name(&self) -> &str {
        "cooperative_operators"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `node` with every operator below and including it wrapped once (a wrapper already there
/// is replaced, not doubled).
fn cooperative(node: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    let operator = if let Some(wrapper) = node.downcast_ref::<CooperativeExec>() {
        Arc::clone(wrapper.input())
    } else if let Some(wrapper) = node.downcast_ref::<Interruptible>() {
        Arc::clone(&wrapper.input)
    } else {
        Arc::clone(&node)
    };
    if operator.children().is_empty() {
        return Ok(node);
    }
    let children = operator
        .children()
        .into_iter()
        .map(|child| cooperative(Arc::clone(child)))
        .collect::<Result<Vec<_>>>()?;
    let operator = replace_children_if_necessary(operator, children)?;
    Ok(Arc::new(Interruptible { input: operator }))
}

/// An operator whose batches pass through tokio's budget and stop when its query is
/// stopped. Otherwise the operator itself: same schema, properties and statistics.
#[derive(Debug)]
pub struct Interruptible {
    input: Arc<dyn ExecutionPlan>,
}

impl DisplayAs for Interruptible {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interruptible")
    }
}

impl ExecutionPlan for Interruptible {
    fn name(&self) -> &str {
        "Interruptible"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(Interruptible { input })),
            _ => Err(DataFusionError::Internal(
                "Interruptible has one child".to_string(),
            )),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let stop = context.session_config().get_extension::<QueryStop>();
        let input = self.input.execute(partition, context)?;
        let input = match stop {
            Some(stop) => Box::pin(Stoppable { input, stop }),
            None => input,
        };
        Ok(make_cooperative(input))
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(Arc::clone(&input_stats[0]))
    }

    fn supports_limit_pushdown(&self) -> bool {
        true
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        CardinalityEffect::Equal
    }
}

/// A stream that ends with an error as soon as its query is stopped.
struct Stoppable {
    input: SendableRecordBatchStream,
    stop: Arc<QueryStop>,
}

impl Stream for Stoppable {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.stop.stopped() {
            return Poll::Ready(Some(Err(DataFusionError::Execution(
                "the query was stopped".to_string(),
            ))));
        }
        self.input.poll_next_unpin(cx)
    }
}

impl RecordBatchStream for Stoppable {
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::SessionContext;

    fn unwrapped(plan: &Arc<dyn ExecutionPlan>, parent_wraps: bool) -> usize {
        let wraps = plan.is::<Interruptible>() || plan.is::<CooperativeExec>();
        let own = usize::from(!wraps && !parent_wraps && !plan.children().is_empty());
        own + plan
            .children()
            .iter()
            .map(|c| unwrapped(c, wraps))
            .sum::<usize>()
    }

    #[tokio::test]
    async fn every_operator_with_inputs_is_wrapped_once() {
        let ctx = SessionContext::new();
        let plan = ctx
            .sql("SELECT a.value, count(*) FROM generate_series(1, 10) a, generate_series(1, 10) b GROUP BY 1 ORDER BY 1")
            .await
            .expect("plans")
            .create_physical_plan()
            .await
            .expect("physical");
        assert!(unwrapped(&plan, false) > 0);
        let config = ConfigOptions::default();
        let plan = CooperativeOperators
            .optimize(plan, &config)
            .expect("optimizes");
        assert_eq!(unwrapped(&plan, false), 0);
        let text = displayable(plan.as_ref()).indent(false).to_string();
        let again = CooperativeOperators
            .optimize(Arc::clone(&plan), &config)
            .expect("optimizes");
        assert_eq!(
            text,
            displayable(again.as_ref()).indent(false).to_string(),
            "wrapping twice changes nothing"
        );
        assert!(!text.contains("Interruptible\n  Interruptible"), "{text}");
    }
}
