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
//! The cost is one budget check per batch per operator.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::{ExecutionPlan, replace_children_if_necessary};

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
/// is kept, not doubled).
fn cooperative(node: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    let operator = match node.downcast_ref::<CooperativeExec>() {
        Some(wrapper) => Arc::clone(wrapper.input()),
        None => Arc::clone(&node),
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
    Ok(Arc::new(CooperativeExec::new(operator)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::SessionContext;

    fn unwrapped(plan: &Arc<dyn ExecutionPlan>, parent_wraps: bool) -> usize {
        let wraps = plan.is::<CooperativeExec>();
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
        assert!(
            !text.contains("CooperativeExec\n  CooperativeExec"),
            "{text}"
        );
    }
}
