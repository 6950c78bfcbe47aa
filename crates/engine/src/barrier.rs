//! The barrier: the secured scan as one opaque plan node.
//!
//! Below it: the table scan, the policy's row filter on raw values, and the masked
//! projection. Above it: the user's query. It has no children as far as the optimizer can
//! see, so no user expression, dynamic filter or statistic crosses it; no column statistic
//! and no exact row count leaves it, so no `COUNT`, `MIN` or `MAX` is answered from Parquet
//! footers; and `EXPLAIN` shows only the table and a hash of the policy, never filter
//! literals or file paths. A table without a row filter reports its estimated size (rows
//! and bytes, marked inexact), which the user could count anyway and the join planner needs
//! to put the smaller side of a join in memory.

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, Statistics};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use datafusion::physical_plan::{StatisticsArgs, StatisticsContext};

/// A table read under a policy.
#[derive(Debug)]
pub struct SecuredScanExec {
    inner: Arc<dyn ExecutionPlan>,
    table: String,
    policy: String,
    /// Whether every row of the table is the user's to see, so its size may be estimated.
    sized: bool,
}

impl SecuredScanExec {
    pub fn new(inner: Arc<dyn ExecutionPlan>, table: &str, policy: &str, sized: bool) -> Self {
        SecuredScanExec {
            inner,
            table: table.to_string(),
            policy: policy.to_string(),
            sized,
        }
    }

    /// Unknown statistics, but for an unfiltered table's estimated rows and bytes.
    fn estimate(&self, args: &StatisticsArgs) -> Result<Arc<Statistics>> {
        let mut estimate = Statistics::new_unknown(&self.schema());
        if self.sized {
            let inner = StatisticsContext::new().compute(self.inner.as_ref(), args)?;
            estimate.num_rows = inner.num_rows.to_inexact();
            estimate.total_byte_size = inner.total_byte_size.to_inexact();
        }
        Ok(Arc::new(estimate))
    }
}

impl DisplayAs for SecuredScanExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "SecuredScanExec: table={}, policy={}",
            self.table, self.policy
        )
    }
}

impl ExecutionPlan for SecuredScanExec {
    fn name(&self) -> &str {
        "SecuredScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.inner.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.inner.execute(partition, context)
    }

    fn statistics_from_inputs(
        &self,
        _: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        self.estimate(args)
    }
}
