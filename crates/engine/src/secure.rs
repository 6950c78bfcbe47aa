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

#[cfg(test)]
mod tests {
    //! The barrier's promise, as a property: whatever the rows and whatever the principal's
    //! claims, a function the user writes in a query never sees a row the policy filters
    //! out, and a masked column never shows a raw value.

    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::logical_expr::{
        ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
    };
    use datafusion::prelude::SessionContext;
    use lakegate_policy::{AppliedGrant, MaskKind, Principal, TableRules};
    use proptest::prelude::*;

    use super::*;
    use crate::claims::claim_udf;
    use crate::compile::compile;

    const WARDS: [&str; 4] = ["E05009367", "E05009368", "E05009369", "E05009370"];

    /// `spy(text)`: true, recording every value it is called on.
    #[derive(Debug)]
    struct Spy {
        seen: Arc<Mutex<Vec<String>>>,
        signature: Signature,
    }

    impl PartialEq for Spy {
        fn eq(&self, _: &Self) -> bool {
            true
        }
    }
    impl Eq for Spy {}
    impl std::hash::Hash for Spy {
        fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
    }

    impl ScalarUDFImpl for Spy {
        fn name(&self) -> &str {
            "spy"
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn return_type(&self, _: &[DataType]) -> Result<DataType> {
            Ok(DataType::Boolean)
        }
        fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
            let values = args.args[0].to_array(args.number_rows)?;
            let values = datafusion::arrow::compute::cast(&values, &DataType::Utf8)?;
            let mut seen = self.seen.lock().unwrap();
            seen.extend(values.as_string::<i32>().iter().flatten().map(String::from));
            Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::Boolean(Some(true)),
            ))
        }
    }

    fn table(rows: &[(usize, String)]) -> Arc<dyn TableProvider> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("ward", DataType::Utf8, false),
            Field::new("secret", DataType::Utf8, true),
        ]));
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows.len() as i64));
        let wards: ArrayRef = Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(w, _)| WARDS[*w]),
        ));
        let secrets: ArrayRef = Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(_, s)| s.as_str()),
        ));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![ids, wards, secrets]).unwrap();
        // Two partitions, so that parallel plans are exercised too.
        let half = batch.num_rows() / 2;
        let parts = vec![
            vec![batch.slice(0, half)],
            vec![batch.slice(half, batch.num_rows() - half)],
        ];
        Arc::new(MemTable::try_new(schema, parts).unwrap())
    }

    fn rules() -> TableRules {
        TableRules {
            grants: vec![AppliedGrant {
                name: "ward officers".to_string(),
                row_filter: Some("ward IN (claim('wards'))".to_string()),
                excluded: Default::default(),
                masks: BTreeMap::from([("secret".to_string(), MaskKind::Redact)]),
            }],
            restricts: vec![],
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn user_functions_never_see_filtered_rows_and_masks_hold(
            rows in prop::collection::vec((0..WARDS.len(), "[a-w]{1,8}"), 0..60),
            allowed in prop::collection::btree_set(0..WARDS.len(), 0..=WARDS.len()),
            query in 0..5usize,
        ) {
            let mut principal = Principal::default();
            if !allowed.is_empty() {
                principal.attributes.insert(
                    "wards".to_string(),
                    allowed.iter().map(|w| WARDS[*w].to_string()).collect(),
                );
            }
            let parser = SessionContext::new();
            parser.register_udf(claim_udf());
            let inner = table(&rows);
            let compiled = compile(&inner.schema(), &rules(), &principal, &parser, None).unwrap();
            // The engine's own session: the optimizer a user's query meets.
            let config = crate::session::EngineConfig {
                database: "lake".to_string(),
                target_partitions: 2,
                hash_key: None,
                memory: crate::session::MemoryConfig::default(),
            };
            let ctx = crate::session::configured_session(&config, Arc::default());
            ctx.register_table("t", Arc::new(SecureTable::new(inner, "t", compiled))).unwrap();
            let seen = Arc::new(Mutex::new(Vec::new()));
            ctx.register_udf(ScalarUDF::new_from_impl(Spy {
                seen: Arc::clone(&seen),
                signature: Signature::any(1, Volatility::Immutable),
            }));
            let sql = [
                "SELECT id, secret FROM t WHERE spy(ward) ORDER BY id",
                "SELECT id, secret FROM t WHERE spy(ward) AND spy(secret) ORDER BY id",
                "SELECT id, secret FROM t WHERE ward <> 'nowhere' AND spy(ward) ORDER BY id",
                "SELECT id, secret FROM (SELECT * FROM t WHERE spy(ward) LIMIT 1000) s ORDER BY id",
            ][query % 4];
            // A masked column compared with one of its raw values: were the comparison
            // pushed below the mask, it would find the row by its raw value.
            let probe = rows.first().map(|(_, secret)| secret.clone()).unwrap_or_default();
            let by_raw = format!("SELECT id, secret FROM t WHERE secret = '{probe}' AND spy(ward)");
            let sql = if query == 4 { by_raw.as_str() } else { sql };
            let batches = tokio::runtime::Runtime::new().unwrap().block_on(async {
                ctx.sql(sql).await?.collect().await
            }).unwrap();

            let allowed_wards: Vec<&str> = allowed.iter().map(|w| WARDS[*w]).collect();
            // Redacted values are all `x`, which no raw value is: the probe finds nothing.
            let expected: Vec<i64> = rows
                .iter()
                .enumerate()
                .filter(|(_, (w, _))| allowed.contains(w) && query != 4)
                .map(|(i, _)| i as i64)
                .collect();
            let mut ids = Vec::new();
            for batch in &batches {
                ids.extend(batch.column(0).as_primitive::<datafusion::arrow::datatypes::Int64Type>().values().iter().copied());
                let secrets = datafusion::arrow::compute::cast(batch.column(1), &DataType::Utf8).unwrap();
                for (i, secret) in secrets.as_string::<i32>().iter().enumerate() {
                    let raw = &rows[ids[ids.len() - batch.num_rows() + i] as usize].1;
                    prop_assert_ne!(secret, Some(raw.as_str()), "a masked value left raw");
                }
            }
            prop_assert_eq!(ids, expected);
            for value in seen.lock().unwrap().iter() {
                // `spy(secret)` sees masked values ("xxxx"); `spy(ward)` only allowed wards.
                prop_assert!(
                    allowed_wards.contains(&value.as_str()) || value.chars().all(|c| c == 'X' || c == 'x'),
                    "the user's function saw {} of a filtered row", value
                );
            }
        }
    }
}
