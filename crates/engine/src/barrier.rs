//! The barrier: the secured scan as one opaque plan node.
//!
//! Below it: the table scan, the policy's row filter on raw values, and the masked
//! projection. Above it: the user's query. It has no children as far as the optimizer can
//! see, so no user expression, dynamic filter or statistic crosses it; it reports unknown
//! statistics so no `COUNT`, `MIN` or `MAX` is answered from Parquet footers; and `EXPLAIN`
//! shows only the table and a hash of the policy, never filter literals or file paths.

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, Statistics};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::StatisticsArgs;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};

/// A table read under a policy.
#[derive(Debug)]
pub struct SecuredScanExec {
    inner: Arc<dyn ExecutionPlan>,
    table: String,
    policy: String,
}

impl SecuredScanExec {
    pub fn new(inner: Arc<dyn ExecutionPlan>, table: &str, policy: &str) -> Self {
        SecuredScanExec {
            inner,
            table: table.to_string(),
            policy: policy.to_string(),
        }
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
        _: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(Arc::new(Statistics::new_unknown(&self.schema())))
    }

    fn partition_statistics(&self, _: Option<usize>) -> Result<Arc<Statistics>> {
        Ok(Arc::new(Statistics::new_unknown(&self.schema())))
    }
}
