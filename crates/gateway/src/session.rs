//! A principal's session: plan and run statements.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::TableReference;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::planner::object_name_to_table_reference;
use futures::future::BoxFuture;

use lakegate_engine::Executor;
use lakegate_pgcompat::{SessionZone, formatting_udfs};
use lakegate_policy::TableRules;

use moka::sync::Cache;
use tokio::sync::OnceCell;

use crate::audit::{AuditEntry, Outcome};
use crate::changes::{LakeChanges, retry_once};
use crate::error::QueryError;
use crate::origin::{Origin, RelationOids, origins, relation_oids};
use crate::stream::{QueryStream, plain_schema};
use crate::{LogicalPlan, ParamValues, ScalarValue, Statement};

/// Schemas of the engine's own, not of the lake.
const SYSTEM_SCHEMAS: &[&str] = &["pg_catalog", "information_schema"];

/// A lake table as one principal sees it.
#[derive(Debug, Clone)]
pub struct VisibleTable {
    pub schema: String,
    pub name: String,
    /// Only the columns the principal may see.
    pub columns: SchemaRef,
}

/// A principal's DataFusion session. Cheap to clone.
#[derive(Clone)]
pub struct Session {
    ctx: Arc<SessionContext>,
    rules: Arc<BTreeMap<String, TableRules>>,
    /// `pg_class` OIDs of the session's relations, read once.
    oids: Arc<OnceCell<RelationOids>>,
    /// Logical plans by statement text. A session is rebuilt when the lake or the policy
    /// changes, so a plan here is always of the current tables under the current policy.
    plans: Cache<String, LogicalPlan>,
    executor: Executor,
    changes: LakeChanges,
}

/// Statements whose plans a session keeps.
const PLANS_KEPT: u64 = 256;

impl Session {
    pub(crate) fn new(
        ctx: SessionContext,
        rules: BTreeMap<String, TableRules>,
        executor: Executor,
        changes: LakeChanges,
    ) -> Session {
        Session {
            executor,
            changes,
            ctx: Arc::new(ctx),
            rules: Arc::new(rules),
            oids: Arc::new(OnceCell::new()),
            plans: Cache::new(PLANS_KEPT),
        }
    }

    /// Plans a statement the guard classified as a query, in the connection's time zone
    /// (`timestamptz` values, casts and literals are of it). Parameters (`$1`) stay open.
    /// A statement planned before in this session and zone is not planned again: dashboards
    /// repeat theirs, and Flight SQL and the extended protocol describe a query before
    /// running it.
    pub async fn plan(
        &self,
        statement: &Statement,
        zone: &SessionZone,
    ) -> Result<LogicalPlan, QueryError> {
        let key = format!("{zone}\n{statement}");
        if let Some(plan) = self.plans.get(&key) {
            return Ok(plan);
        }
        let plan = self.plan_anew(statement, zone).await?;
        self.plans.insert(key, plan.clone());
        Ok(plan)
    }

    /// The session's state with `zone` as DataFusion's time zone, so that `timestamptz` is
    /// `Timestamp(_, zone)` and local times are read and truncated in it.
    fn state(&self, zone: &SessionZone) -> SessionState {
        let mut state = self.ctx.state();
        state.config_mut().options_mut().execution.time_zone = Some(zone.arrow_name());
        // Functions read the configuration from the execution properties, which
        // `SessionContext::state` filled from the session's own before the zone was set.
        state.mark_start_execution();
        for udf in formatting_udfs(zone) {
            // Replacing a function of the same name cannot fail.
            let _ = state.register_udf(Arc::new(udf));
        }
        state
    }

    async fn plan_anew(
        &self,
        statement: &Statement,
        zone: &SessionZone,
    ) -> Result<LogicalPlan, QueryError> {
        let state = self.state(zone);
        let statement = DfStatement::Statement(Box::new(statement.clone()));
        missing_relation(&state, &statement)?;
        let plan = state
            .statement_to_plan(statement)
            .await
            .map_err(|e| QueryError::from_datafusion(e, &[]))?;
        // Defence in depth behind the guard: the engine itself refuses writes.
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|_| lakegate_policy::Forbidden::Statement("this".to_string()))?;
        // A statement without parameters is analyzed now, so that what Describe reports is
        // the schema rows are sent in: the analyzer gives literals and casts PostgreSQL's
        // types. (With parameters, their types are still open; it is analyzed when run.)
        // Analyzing again when it runs changes nothing.
        let has_parameters = plan
            .get_parameter_types()
            .map(|types| !types.is_empty())
            .unwrap_or(true);
        if has_parameters {
            return Ok(plan);
        }
        state
            .analyzer()
            .execute_and_check(plan, state.config_options(), |_, _| {})
            .map_err(|e| QueryError::from_datafusion(e, &[]))
    }

    /// The types of `$1…$n`, in order; `None` where the plan does not decide one.
    pub fn parameter_types(plan: &LogicalPlan) -> Result<Vec<Option<DataType>>, QueryError> {
        let types = plan
            .get_parameter_types()
            .map_err(|e| QueryError::from_datafusion(e, &[]))?;
        let mut numbered: Vec<(usize, Option<DataType>)> = types
            .into_iter()
            .filter_map(|(id, t)| id.trim_start_matches('$').parse().ok().map(|n| (n, t)))
            .collect();
        numbered.sort_by_key(|(n, _)| *n);
        let count = numbered.last().map_or(0, |(n, _)| *n);
        let mut out = vec![None; count];
        for (n, t) in numbered {
            if n >= 1 {
                out[n - 1] = t;
            }
        }
        Ok(out)
    }

    /// The lake tables this principal can see, by schema then name, with the columns it
    /// sees. The system schemas (`pg_catalog`, `information_schema`) are left out.
    /// Runs a catalog query of the server's own (Flight SQL's key calls) in this session.
    pub async fn catalog_rows(&self, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
        let frame = self
            .ctx
            .sql(sql)
            .await
            .map_err(|e| QueryError::from_datafusion(e, &[]))?;
        frame
            .collect()
            .await
            .map_err(|e| QueryError::from_datafusion(e, &[]))
    }

    pub async fn tables(&self) -> Vec<VisibleTable> {
        let catalog_name = self
            .ctx
            .copied_config()
            .options()
            .catalog
            .default_catalog
            .clone();
        let Some(catalog) = self.ctx.catalog(&catalog_name) else {
            return Vec::new();
        };
        let mut schemas = catalog.schema_names();
        schemas.retain(|s| !SYSTEM_SCHEMAS.contains(&s.as_str()));
        schemas.sort();
        let mut tables = Vec::new();
        for schema_name in schemas {
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            let mut names = schema.table_names();
            names.sort();
            for name in names {
                if let Ok(Some(table)) = schema.table(&name).await {
                    tables.push(VisibleTable {
                        schema: schema_name.clone(),
                        columns: plain_schema(&table.schema()),
                        name,
                    });
                }
            }
        }
        tables
    }

    /// The schema a plan's results reach clients with once `params` are bound: a plan with
    /// parameters leaves their types (and so its result's) open until they are.
    pub fn bound_schema(
        &self,
        plan: &LogicalPlan,
        params: &ParamValues,
        zone: &SessionZone,
    ) -> Result<SchemaRef, QueryError> {
        let state = self.state(zone);
        let bound = plan
            .clone()
            .replace_params_with_values(params)
            .and_then(|plan| {
                state
                    .analyzer()
                    .execute_and_check(plan, state.config_options(), |_, _| {})
            })
            .map_err(|e| QueryError::from_datafusion(e, &[]))?;
        Ok(Session::result_schema(&bound))
    }

    /// The columns a plan's rows will have, for Describe. With parameters the plan is not
    /// analyzed until they are bound, and PostgreSQL's rules (the analyzer) decide result
    /// types only then (`$1::int4 + 1` is `int4`); so it is analyzed here with each
    /// parameter bound to a NULL of its type, the types of rows not depending on values.
    /// Without parameters, or where that analysis fails, the plan's own schema.
    pub fn described_schema(
        &self,
        plan: &LogicalPlan,
        parameter_types: &[Option<DataType>],
        zone: &SessionZone,
    ) -> SchemaRef {
        if parameter_types.is_empty() {
            return Session::result_schema(plan);
        }
        let nulls: Vec<ScalarValue> = parameter_types
            .iter()
            .map(|t| {
                t.as_ref()
                    .and_then(|t| ScalarValue::try_from(t).ok())
                    .unwrap_or(ScalarValue::Null)
            })
            .collect();
        self.bound_schema(plan, &ParamValues::from(nulls), zone)
            .unwrap_or_else(|_| Session::result_schema(plan))
    }

    /// The schema a plan's results reach clients with (view types cast to plain ones).
    pub fn result_schema(plan: &LogicalPlan) -> SchemaRef {
        plain_schema(plan.schema().as_arrow())
    }

    /// Each result column's table OID and attribute number, where it is a table's column.
    pub async fn column_origins(&self, plan: &LogicalPlan) -> Vec<Origin> {
        let oids = self.oids.get_or_init(|| relation_oids(&self.ctx)).await;
        origins(plan, oids)
    }

    /// Runs a plan, binding parameters first, and streams its batches. The audit entry is
    /// finished by the stream (or here, if the plan cannot start).
    pub async fn execute(
        &self,
        plan: LogicalPlan,
        params: Option<ParamValues>,
        zone: &SessionZone,
        mut audit: AuditEntry,
    ) -> Result<QueryStream, QueryError> {
        let tables = tables_read(&plan);
        audit.set_tables(
            tables
                .iter()
                .map(|t| (t.clone(), self.rules.get(t).cloned()))
                .collect(),
        );
        let origins = self.column_origins(&plan).await;
        match self.start(plan, params, zone, &tables).await {
            Ok(stream) => Ok(QueryStream::new(stream, tables, origins, audit)),
            Err(e) => {
                audit.finish(Outcome::of(&e), 0, Some(&e));
                Err(e)
            }
        }
    }

    /// Plans and starts the statement. A data file found changed since its dataset was
    /// listed (while planning reads footers and statistics, or before any row is sent) makes
    /// the dataset's caches be dropped and the statement run once more.
    async fn start(
        &self,
        plan: LogicalPlan,
        params: Option<ParamValues>,
        zone: &SessionZone,
        tables: &[String],
    ) -> Result<SendableRecordBatchStream, QueryError> {
        let plan = match params {
            Some(params) => plan
                .replace_params_with_values(&params)
                .map_err(|e| QueryError::from_datafusion(e, tables))?,
            None => plan,
        };
        let (state, executor) = (self.state(zone), self.executor.clone());
        let run =
            move || -> BoxFuture<'static, Result<SendableRecordBatchStream, DataFusionError>> {
                let frame = DataFrame::new(state.clone(), plan.clone());
                let executor = executor.clone();
                Box::pin(async move {
                    let context = Arc::new(frame.task_ctx());
                    let plan = frame.create_physical_plan().await?;
                    Ok(executor.run(plan, context))
                })
            };
        let batches = match run().await {
            Ok(batches) => batches,
            Err(error) => match LakeChanges::cause(&error) {
                Some(changed) => {
                    self.changes.forget(&changed);
                    return run()
                        .await
                        .map_err(|e| QueryError::from_datafusion(e, tables));
                }
                None => return Err(QueryError::from_datafusion(error, tables)),
            },
        };
        Ok(retry_once(batches, self.changes.clone(), Box::new(run)))
    }
}

/// Refuses a statement that reads a relation this session has not: missing and hidden alike,
/// with PostgreSQL's `42P01` and its message (the name as PostgreSQL prints it: case-folded,
/// schema-qualified if written so, without the database). Looked up before planning, so the
/// error is known by what it is, not by the text of DataFusion's. A name called with
/// arguments (`generate_series(1, 3)`) is a function, not a relation.
fn missing_relation(state: &SessionState, statement: &DfStatement) -> Result<(), QueryError> {
    let references = state
        .resolve_table_references(statement)
        .map_err(|e| QueryError::from_datafusion(e, &[]))?;
    let called = called_functions(statement, state);
    for reference in references {
        if called.contains(&reference) {
            continue;
        }
        let exists = match state.schema_for_ref(reference.clone()) {
            Ok(schema) => schema.table_exist(reference.table()),
            Err(_) => false,
        };
        if !exists {
            let name = match reference.schema() {
                Some(schema) => format!("{schema}.{}", reference.table()),
                None => reference.table().to_string(),
            };
            return Err(QueryError::TableNotFound(format!(
                "relation \"{name}\" does not exist"
            )));
        }
    }
    Ok(())
}

/// The names a statement calls as table functions (`FROM name(args)`), as references.
fn called_functions(statement: &DfStatement, state: &SessionState) -> Vec<TableReference> {
    use datafusion::sql::sqlparser::ast::{TableFactor, Visit, Visitor};
    use std::ops::ControlFlow;

    struct Calls(Vec<datafusion::sql::sqlparser::ast::ObjectName>);
    impl Visitor for Calls {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name,
                args: Some(_),
                ..
            } = factor
            {
                self.0.push(name.clone());
            }
            ControlFlow::Continue(())
        }
    }
    let DfStatement::Statement(statement) = statement else {
        return Vec::new();
    };
    let mut calls = Calls(Vec::new());
    let _ = statement.visit(&mut calls);
    let normalize = state.config_options().sql_parser.enable_ident_normalization;
    calls
        .0
        .into_iter()
        .filter_map(|name| object_name_to_table_reference(name, normalize).ok())
        .collect()
}

/// `schema.table` of every table a plan scans, for error messages and the audit.
fn tables_read(plan: &LogicalPlan) -> Vec<String> {
    let mut tables = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let name = match (scan.table_name.schema(), scan.table_name.table()) {
                (Some(schema), table) => format!("{schema}.{table}"),
                (None, table) => table.to_string(),
            };
            if !tables.contains(&name) {
                tables.push(name);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    tables
}
