//! Building a principal's session from a lake snapshot and the policy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::Schema;
use datafusion::catalog::information_schema::INFORMATION_SCHEMA;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, TableProvider};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::optimizer::analyzer::resolve_grouping_function::ResolveGroupingFunction;
use datafusion::optimizer::analyzer::type_coercion::TypeCoercion;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_pg_catalog::setup_pg_catalog;
use lakegate_lake::{Lake, LakeSnapshot, LakeTable, Sidecar, UnreadableTable};
use lakegate_policy::{Policy, Principal, TableRules};
use tracing::error;

use crate::activity::{Activity, StatActivity};
use crate::bounds::bounded_udfs;
use crate::caches::{CacheLookups, RuntimeCaches};
use crate::casts::{PostgresCasts, PostgresIntegers};
use crate::catalog::LakeCatalog;
use crate::claims::claim_udf;
use crate::comments::{Comments, TableComments};
use crate::compat::{
    PartitionAncestors, function_description_udfs, is_visible_udfs, json_build_object_udf,
    like_escape_udf, pg_expandarray_udf, pg_get_serial_sequence_udf, pg_get_triggerdef_udf,
    pg_size_pretty_udf, pg_subscripts_udf, privilege_udfs, session_user_udf, to_regtype_udf,
};
use crate::compile::{CompileError, compile};
use crate::cooperative::CooperativeOperators;
use crate::dictionary::{self, Visible, dictionary};
use crate::division::division_udf;
use crate::error::EngineError;
use crate::executor::Executor;
use crate::extract::extract_udfs;
use crate::formatting::formatting_udfs;
use crate::information::InformationSchema;
use crate::keys::Keys;
use crate::mask::HashKey;
use crate::roles::PrincipalRole;
use crate::secure::SecureTable;
use crate::version::version_udf;
use crate::zone::SessionZone;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The database name (`current_database()`, the Flight catalog).
    pub database: String,
    /// Threads a query may use; 0 means one per core.
    pub target_partitions: usize,
    /// The key of the `hash` mask.
    pub hash_key: Option<HashKey>,
    pub memory: MemoryConfig,
}

/// Memory the engine may use, and what it keeps cached.
#[derive(Debug, Clone)]
pub struct MemoryConfig {
    /// Bytes all running queries may hold together; sorts, joins and aggregations spill to
    /// disk past it, and a query that cannot spill fails with "out of memory". 0: no limit.
    pub limit: usize,
    /// Where spill files go; the system's temporary folder when `None`.
    pub spill_dir: Option<std::path::PathBuf>,
    /// Bytes of Parquet metadata (footers, page indexes) kept, so a warm query reads none.
    pub metadata_cache: usize,
    /// Bytes of per-file statistics kept.
    pub statistics_cache: usize,
    /// Bytes of file listings kept (for the listing TTL).
    pub listing_cache: usize,
}

/// Forgets what the runtime's caches hold of one dataset, when a read found that one of its
/// files is no longer the version its listing describes. Cheap to clone.
#[derive(Clone)]
pub struct DatasetCaches(Arc<RuntimeCaches>);

impl DatasetCaches {
    /// Forgets the dataset folder's listing, its files' footers and statistics, and the
    /// versions its reads were held to: the next scan lists and reads it as it is now.
    pub fn forget(&self, dataset: &object_store::path::Path) {
        self.0.forget(dataset);
    }
}

/// Builds sessions. Holds the runtime every session shares.
pub struct Engine {
    runtime: Arc<RuntimeEnv>,
    caches: Arc<RuntimeCaches>,
    lookups: CacheLookups,
    executor: Executor,
    config: EngineConfig,
    /// Parses policy filters; knows the `claim` placeholder.
    parser: SessionContext,
}

/// The default schema, present (and empty) for every principal, as clients expect.
const PUBLIC: &str = "public";

impl Engine {
    /// A runtime whose object stores are the lake's zones and whose file-listing cache
    /// lives as long as the lake's listing TTL.
    pub fn new(lake: &Lake, config: EngineConfig) -> Result<Engine, EngineError> {
        let memory = &config.memory;
        let lookups = CacheLookups::default();
        let ttl = lake.listing_ttl().max(Duration::from_millis(1));
        let caches = Arc::new(RuntimeCaches::new(memory, ttl, &lookups, lake.versions()));
        let mut runtime = RuntimeEnvBuilder::new().with_cache_manager(caches.config(memory));
        if memory.limit > 0 {
            // Fair shares: one large query cannot starve the others of the pool.
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(memory.limit)));
        }
        if let Some(dir) = &memory.spill_dir {
            runtime = runtime.with_temp_file_path(dir);
        }
        let runtime = runtime.build_arc()?;
        lake.register_stores(&runtime);
        let parser = SessionContext::new();
        parser.register_udf(claim_udf());
        let threads = match config.target_partitions {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Ok(Engine {
            runtime,
            caches,
            lookups,
            executor: Executor::dedicated(threads)?,
            config,
            parser,
        })
    }

    /// Hits and misses of the runtime's caches; the server's other caches count here too.
    pub fn cache_lookups(&self) -> &CacheLookups {
        &self.lookups
    }

    /// Forgets every file listing, so the next scan of each table lists it again.
    pub fn forget_listings(&self) {
        self.caches.listings.clear();
    }

    /// What forgets one dataset's cached listing, footers and statistics.
    pub fn dataset_caches(&self) -> DatasetCaches {
        DatasetCaches(Arc::clone(&self.caches))
    }

    /// Where every session's queries run.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    pub fn database(&self) -> &str {
        &self.config.database
    }

    /// A session holding exactly the tables `principal` may read, and the rules each one
    /// is read under (by `schema.table`), for the audit log.
    pub fn session(
        &self,
        principal: &Principal,
        policy: &Policy,
        snapshot: &LakeSnapshot,
        activity: Arc<dyn Activity>,
    ) -> Result<(SessionContext, BTreeMap<String, TableRules>), EngineError> {
        let ctx = self.empty_session();
        let catalog = ctx
            .catalog(&self.config.database)
            .ok_or_else(|| EngineError::PgCatalog("default catalog missing".to_string()))?;
        let mut schemas: BTreeMap<String, Arc<MemorySchemaProvider>> = BTreeMap::new();
        let mut applied = BTreeMap::new();
        let mut comments = Comments::new();
        let mut visible = Vec::new();
        for table in &snapshot.tables {
            let qualified = table.qualified_name();
            let Some(rules) =
                policy.table_rules(principal, &table.zone, &table.department, &qualified)
            else {
                continue;
            };
            let provider = self.secure(table, &rules, principal);
            if let Some(sidecar) = &table.sidecar {
                comments.insert(
                    (table.schema.clone(), table.name.clone()),
                    table_comments(sidecar, &provider.schema()),
                );
            }
            visible.push(Visible {
                table,
                columns: provider.schema(),
                filtered: sees_some_rows(&rules),
            });
            applied.insert(qualified, rules);
            schemas
                .entry(table.schema.clone())
                .or_insert_with(|| Arc::new(MemorySchemaProvider::new()))
                .register_table(table.name.clone(), provider)?;
        }
        for (name, schema) in schemas {
            catalog.register_schema(&name, schema)?;
        }
        let keys = Arc::new(Keys::new(&visible));
        catalog.register_schema(dictionary::SCHEMA, dictionary(&visible, &keys)?)?;
        let catalogs = Arc::clone(ctx.state().catalog_list());
        let information =
            InformationSchema::new(catalogs, Arc::clone(&keys), &self.config.database);
        catalog.register_schema(INFORMATION_SCHEMA, Arc::new(information))?;
        let role = PrincipalRole {
            username: principal.username.clone(),
        };
        setup_pg_catalog(&ctx, &self.config.database, role)
            .map_err(|e| EngineError::PgCatalog(e.to_string()))?;
        if let Some(pg_catalog) = catalog.schema("pg_catalog") {
            catalog.register_schema(
                "pg_catalog",
                Arc::new(LakeCatalog::new(
                    pg_catalog,
                    comments,
                    Arc::clone(&keys),
                    StatActivity {
                        activity,
                        subject: principal.subject.clone(),
                        database: self.config.database.clone(),
                    },
                )),
            )?;
        }
        for udf in keys.udfs() {
            ctx.register_udf(udf);
        }
        ctx.register_udf(version_udf());
        for udf in crate::sql_functions::udfs() {
            ctx.register_udf(udf);
        }
        for udf in formatting_udfs(&SessionZone::default())
            .into_iter()
            .chain(bounded_udfs())
            .chain(extract_udfs())
            .chain([division_udf()])
        {
            ctx.register_udf(udf);
        }
        ctx.register_udf(to_regtype_udf());
        ctx.register_udf(like_escape_udf());
        ctx.register_udf(json_build_object_udf());
        ctx.register_udf(pg_get_serial_sequence_udf());
        ctx.register_udf(pg_size_pretty_udf());
        ctx.register_udf(pg_expandarray_udf());
        ctx.register_udf(crate::settings::current_setting_udf());
        ctx.register_udf(crate::settings::set_config_udf());
        ctx.register_udf(session_user_udf(&principal.username));
        ctx.register_udf(pg_get_triggerdef_udf());
        ctx.register_udtf("pg_partition_ancestors", Arc::new(PartitionAncestors));
        ctx.register_udf(pg_subscripts_udf());
        // Lake tables have no heap or index files; sized as pg_relation_size sizes them.
        ctx.register_udf(
            datafusion_pg_catalog::pg_catalog::create_pg_relation_size_udf()
                .with_aliases(["pg_table_size", "pg_indexes_size"]),
        );
        for udf in is_visible_udfs()
            .into_iter()
            .chain(function_description_udfs())
            .chain(privilege_udfs())
        {
            ctx.register_udf(udf);
        }
        Ok((ctx, applied))
    }

    /// Type-checks every grant and restrict naming a table against its schema, as any
    /// principal holding every claim they use would get them. Returns the failures.
    pub fn type_check(&self, table: &LakeTable, policy: &Policy) -> Vec<(String, CompileError)> {
        policy
            .rules_naming(&table.qualified_name())
            .into_iter()
            .filter_map(|(name, rules)| {
                let principal = principal_with_every_claim(&rules);
                compile(
                    &table.table_schema(),
                    &rules,
                    &principal,
                    &self.parser,
                    self.config.hash_key.as_ref(),
                )
                .err()
                .map(|e| (name, e))
            })
            .collect()
    }

    /// The table as `principal` may read it; unreadable if its rules no longer type-check.
    fn secure(
        &self,
        table: &LakeTable,
        rules: &TableRules,
        principal: &Principal,
    ) -> Arc<dyn TableProvider> {
        let qualified = table.qualified_name();
        match compile(
            &table.table_schema(),
            rules,
            principal,
            &self.parser,
            self.config.hash_key.as_ref(),
        ) {
            Ok(compiled) => Arc::new(SecureTable::new(
                Arc::clone(&table.provider),
                &qualified,
                compiled,
            )),
            Err(reason) => {
                error!(table = %qualified, subject = %principal.subject, %reason, "ALERT: policy does not type-check; table unreadable for this principal");
                Arc::new(UnreadableTable::new(
                    table.table_schema(),
                    table.provider.table_type(),
                ))
            }
        }
    }

    fn empty_session(&self) -> SessionContext {
        let mut config = SessionConfig::new()
            .with_default_catalog_and_schema(&self.config.database, PUBLIC)
            .with_create_default_catalog_and_schema(true)
            // Our own `information_schema` (with PostgreSQL's type names and the lake's
            // keys) is registered in each session instead.
            .with_information_schema(false);
        if self.config.target_partitions > 0 {
            config = config.with_target_partitions(self.config.target_partitions);
        }
        let optimizer = &mut config.options_mut().optimizer;
        // A join whose smaller side is estimated under these is built once and probed from
        // every partition, instead of both sides being repartitioned by key first: on the
        // few cores a council's server has, the shuffle costs more than the single build
        // (on 2 cores, DataFusion alone runs TPC-H Q7 and Q18 in 0.65–0.75 of the time).
        optimizer.hash_join_single_partition_threshold = 64 << 20;
        optimizer.hash_join_single_partition_threshold_rows = 4 << 20;
        // In PostgreSQL a literal with a decimal point is `numeric`, never a float:
        // `0.1 + 0.2 = 0.3` holds, and BI tools' inlined filter values compare exactly.
        config.options_mut().sql_parser.parse_float_as_decimal = true;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(Arc::clone(&self.runtime))
            .with_default_features()
            // PostgreSQL's literal types before DataFusion's own rules (grouping functions,
            // type coercion); PostgreSQL's casts after them, when every cast is in place.
            .with_analyzer_rules(vec![
                Arc::new(PostgresIntegers),
                Arc::new(ResolveGroupingFunction::new()),
                Arc::new(TypeCoercion::new()),
                Arc::new(PostgresCasts),
            ])
            .with_physical_optimizer_rule(Arc::new(CooperativeOperators))
            .build();
        SessionContext::new_with_state(state)
    }
}

/// A principal holding a value for every claim the rules' filters name, so type-checking
/// sees the whole filter rather than the `false` a missing claim binds to.
fn principal_with_every_claim(rules: &TableRules) -> Principal {
    let filters = rules
        .grants
        .iter()
        .filter_map(|g| g.row_filter.as_deref())
        .chain(rules.restricts.iter().map(|(_, f)| f.as_str()));
    let mut principal = Principal {
        subject: "type-check".to_string(),
        username: "type-check".to_string(),
        departments: ["x".to_string()].into(),
        groups: ["x".to_string()].into(),
        ..Default::default()
    };
    for filter in filters {
        for part in filter.split("claim(").skip(1) {
            let name = part.trim_start_matches(['\'', '"', ' ']);
            let name: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            principal.attributes.insert(name, vec!["x".to_string()]);
        }
    }
    principal
}

/// Whether `rules` keep some rows from the principal: a restrict, or grants that all filter
/// (one grant without a filter shows every row, as grants' filters are ORed).
fn sees_some_rows(rules: &TableRules) -> bool {
    !rules.restricts.is_empty()
        || (!rules.grants.is_empty() && rules.grants.iter().all(|g| g.row_filter.is_some()))
}

/// A table's comments from its catalogue entry, for the columns the principal sees.
fn table_comments(sidecar: &Sidecar, visible: &Schema) -> TableComments {
    let columns = visible
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let text = sidecar.columns.get(f.name())?.description.clone()?;
            Some((i32::try_from(i + 1).ok()?, text))
        })
        .collect();
    TableComments {
        table: sidecar.description.clone(),
        columns,
    }
}
