//! The table provider every session sees: a lake table as one principal may read it.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::DFSchema;
use datafusion::datasource::TableType;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::projection::ProjectionExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;

use crate::barrier::SecuredScanExec;
use crate::compile::Compiled;

/// Row filter on raw values, then masks, then the visible columns, all below the barrier;
/// the user's query runs above it. Only leakproof conjuncts (an unmasked column compared
/// with a literal) are pushed down, for pruning; everything else the user writes sees only
/// rows the policy lets through.
#[derive(Debug)]
pub struct SecureTable {
    inner: Arc<dyn TableProvider>,
    name: String,
    rules: Arc<Compiled>,
}

impl SecureTable {
    pub fn new(inner: Arc<dyn TableProvider>, name: &str, rules: Compiled) -> Self {
        SecureTable {
            inner,
            name: name.to_string(),
            rules: Arc::new(rules),
        }
    }

    fn is_raw_column(&self, name: &str) -> bool {
        self.rules
            .schema
            .index_of(name)
            .is_ok_and(|i| self.rules.raw[i])
    }

    /// `column op literal` on a raw column: evaluating it cannot fail or reveal anything.
    fn is_leakproof(&self, filter: &Expr) -> bool {
        let column_literal = |a: &Expr, b: &Expr| match (a, b) {
            (Expr::Column(c), Expr::Literal(_, _)) => self.is_raw_column(&c.name),
            _ => false,
        };
        match filter {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                matches!(
                    op,
                    Operator::Eq
                        | Operator::NotEq
                        | Operator::Lt
                        | Operator::LtEq
                        | Operator::Gt
                        | Operator::GtEq
                ) && (column_literal(left, right) || column_literal(right, left))
            }
            Expr::InList(list) => {
                matches!(list.expr.as_ref(), Expr::Column(c) if self.is_raw_column(&c.name))
                    && list.list.iter().all(|e| matches!(e, Expr::Literal(_, _)))
            }
            _ => false,
        }
    }
}

#[async_trait]
impl TableProvider for SecureTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.rules.schema)
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if self.is_leakproof(f) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let selected: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.rules.outputs.len()).collect(),
        };
        let outputs: Vec<Expr> = selected
            .iter()
            .map(|i| self.rules.outputs[*i].clone())
            .collect();
        let pushed: Vec<Expr> = filters
            .iter()
            .filter(|f| self.is_leakproof(f))
            .cloned()
            .collect();
        let mut needed = BTreeSet::new();
        for expr in outputs
            .iter()
            .chain(&pushed)
            .chain(self.rules.filter.iter())
        {
            for column in expr.column_refs() {
                needed.insert(column.name.clone());
            }
        }
        let inner_schema = self.inner.schema();
        let inner_projection: Vec<usize> = (0..inner_schema.fields().len())
            .filter(|i| needed.contains(inner_schema.field(*i).name()))
            .collect();
        // A limit below the row filter would drop rows the filter keeps.
        let inner_limit = if self.rules.filter.is_none() {
            limit
        } else {
            None
        };
        let mut plan = self
            .inner
            .scan(state, Some(&inner_projection), &pushed, inner_limit)
            .await?;
        // The optimizer cannot see below the barrier, so split the files across cores here.
        let config = state.config_options();
        let cores = config.execution.target_partitions;
        let streams = scan_streams(plan.as_ref(), cores);
        let split = if streams > cores {
            // Small files are worth splitting for their latency, not their size.
            let mut options = config.clone();
            options.optimizer.repartition_file_min_size = 0;
            plan.repartitioned(streams, &options)?
        } else {
            plan.repartitioned(cores, config)?
        };
        if let Some(split) = split {
            plan = split;
        }
        let scanned = DFSchema::try_from(plan.schema().as_ref().clone())?;
        // The user's leakproof conjuncts run with the policy's filter, on raw values, so
        // masks are computed only for rows the query can still want.
        let predicate = pushed
            .iter()
            .cloned()
            .chain(self.rules.filter.clone())
            .reduce(Expr::and);
        if let Some(predicate) = predicate {
            // Simplified as one expression, so a pushed `ward = 'x'` can narrow the policy's
            // `ward IN (…)` to a single comparison instead of evaluating both.
            let simplifier = ExprSimplifier::new(
                SimplifyContext::builder()
                    .with_schema(Arc::new(scanned.clone()))
                    .build(),
            );
            let predicate = simplifier.simplify(simplifier.coerce(predicate, &scanned)?)?;
            let predicate = state.create_physical_expr(predicate, &scanned)?;
            plan = Arc::new(FilterExec::try_new(predicate, plan)?);
        }
        let exprs = selected
            .iter()
            .zip(outputs)
            .map(|(i, expr)| {
                let alias = self.rules.schema.field(*i).name().clone();
                let expr = match expr {
                    Expr::Alias(alias) => *alias.expr,
                    other => other,
                };
                Ok(ProjectionExpr {
                    expr: state.create_physical_expr(expr, &scanned)?,
                    alias,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let plan = Arc::new(ProjectionExec::try_new(exprs, plan)?);
        Ok(Arc::new(SecuredScanExec::new(
            plan,
            &self.name,
            &self.rules.policy_hash,
            self.rules.filter.is_none(),
        )))
    }
}

/// Files a scan keeps in flight at most: each partition of a scan opens its files one after
/// another, so over a remote store a lake of small daily files would otherwise wait one
/// request latency per file per core.
const MAX_FILE_STREAMS: usize = 32;

/// How many partitions a scan is split into: one per core, or one per file (up to
/// [`MAX_FILE_STREAMS`]) when it reads more files than there are cores.
fn scan_streams(plan: &dyn ExecutionPlan, cores: usize) -> usize {
    let files = plan
        .downcast_ref::<DataSourceExec>()
        .and_then(|exec| exec.data_source().downcast_ref::<FileScanConfig>())
        .map_or(0, |scan| {
            scan.file_groups.iter().map(|g| g.len()).sum::<usize>()
        });
    cores.max(files.min(MAX_FILE_STREAMS))
}
