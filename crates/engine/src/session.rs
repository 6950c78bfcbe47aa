//! Building a principal's session from a lake snapshot and the policy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, TableProvider};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use lakegate_lake::{Lake, LakeSnapshot, LakeTable, UnreadableTable};
use lakegate_pgcompat::{Activity, SessionFacts, Visible};
use lakegate_policy::{Policy, Principal, TableRules};
use tracing::error;

use crate::caches::{CacheLookups, RuntimeCaches};
use crate::claims::claim_udf;
use crate::compile::{CompileError, compile};
use crate::cooperative::CooperativeOperators;
use crate::error::EngineError;
use crate::executor::Executor;
use crate::mask::HashKey;
use crate::secure::SecureTable;

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

/// Memory the engine may use, and what it keeps cached. The default (all zeros) sets no
/// memory limit and caches nothing.
#[derive(Debug, Clone, Default)]
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
        let mut visible = Vec::new();
        for table in &snapshot.tables {
            let qualified = table.qualified_name();
            let Some(rules) =
                policy.table_rules(principal, &table.zone, &table.department, &qualified)
            else {
                continue;
            };
            let provider = self.secure(table, &rules, principal);
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
        let facts = SessionFacts {
            database: self.config.database.clone(),
            username: principal.username.clone(),
            subject: principal.subject.clone(),
            activity,
        };
        lakegate_pgcompat::install(&ctx, &catalog, &facts, &visible)?;
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
        configured_session(&self.config, Arc::clone(&self.runtime))
    }
}

/// A session with every rule of the house and nothing in it: PostgreSQL's types and
/// functions (pgcompat's configuration and analyzer rules), interruptible operators, and the
/// join settings for few cores. Every principal's session starts as this one, and the
/// security core's tests run on it, so they see the optimizer a user's query meets.
pub(crate) fn configured_session(
    config: &EngineConfig,
    runtime: Arc<RuntimeEnv>,
) -> SessionContext {
    let mut session = lakegate_pgcompat::configure(
        SessionConfig::new()
            .with_default_catalog_and_schema(&config.database, PUBLIC)
            .with_create_default_catalog_and_schema(true),
    );
    if config.target_partitions > 0 {
        session = session.with_target_partitions(config.target_partitions);
    }
    let optimizer = &mut session.options_mut().optimizer;
    // A join whose smaller side is estimated under these is built once and probed from
    // every partition, instead of both sides being repartitioned by key first: on the
    // few cores a council's server has, the shuffle costs more than the single build
    // (on 2 cores, DataFusion alone runs TPC-H Q7 and Q18 in 0.65–0.75 of the time).
    optimizer.hash_join_single_partition_threshold = 64 << 20;
    optimizer.hash_join_single_partition_threshold_rows = 4 << 20;
    let state = SessionStateBuilder::new()
        .with_config(session)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_analyzer_rules(lakegate_pgcompat::analyzer_rules())
        .with_physical_optimizer_rule(Arc::new(CooperativeOperators))
        .build();
    SessionContext::new_with_state(state)
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
