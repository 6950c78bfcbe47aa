//! The lake as a versioned set of tables, re-listed on a TTL.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::runtime_env::RuntimeEnv;
use futures::{StreamExt, TryStreamExt, stream};
use object_store::ObjectStoreExt;
use tracing::{info, warn};

use crate::config::LakeConfig;
use crate::discovery::{DataFile, DatasetFolder, datasets};
use crate::drift::{MergedSchema, merge};
use crate::error::LakeError;
use crate::footer::FooterCache;
use crate::latest::LatestTable;
use crate::naming::{department_slug, schema_name, sql_identifier};
use crate::partition::{Partition, PartitionSegment, date_key, partitions};
use crate::requests::{Counted, StoreRequests};
use crate::sidecar::Sidecar;
use crate::store::Zone;
use crate::unreadable::DamagedTable;
use crate::versions::{ListedVersions, Versioned};

/// Footers fetched at once while a dataset is listed: over a remote store a cold start
/// then costs about (files / this) request latencies, not one per file.
const FOOTER_FETCHES: usize = 64;

/// Whether a table is a whole dataset or its latest import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableKind {
    Dataset,
    /// `<dataset>_latest`: the rows whose `key` partition equals `value`.
    Latest {
        key: String,
        value: String,
    },
}

/// One table of the lake, with everything the catalogue and the engine need.
#[derive(Debug)]
pub struct LakeTable {
    pub zone: String,
    /// Department slug (`housing-repairs`).
    pub department: String,
    pub schema: String,
    pub name: String,
    pub kind: TableKind,
    /// The dataset folder, ending with `/`.
    pub url: String,
    pub partition_keys: Vec<String>,
    pub merged: MergedSchema,
    /// Files whose footer could not be read; queries over them fail naming the table.
    pub unreadable_files: Vec<String>,
    pub file_count: usize,
    /// The partitions this table reads (for `_latest`, the latest one).
    pub partitions: Vec<Partition>,
    pub sidecar: Option<Sidecar>,
    /// Why the sidecar was ignored, with its line.
    pub sidecar_error: Option<String>,
    pub provider: Arc<dyn TableProvider>,
}

impl LakeTable {
    /// `schema.table`.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The full schema, partition columns included.
    pub fn table_schema(&self) -> SchemaRef {
        self.provider.schema()
    }
}

/// Everything listed at one moment. `version` changes only when what SQL can see changes.
#[derive(Debug, Default)]
pub struct LakeSnapshot {
    pub version: u64,
    pub tables: Vec<Arc<LakeTable>>,
    /// Zones that could not be listed, with the reason (admin detail).
    pub zone_errors: Vec<String>,
}

/// The lake: zones, caches and the current snapshot.
pub struct Lake {
    zones: Vec<Zone>,
    ttl: Duration,
    footers: FooterCache,
    requests: StoreRequests,
    current: RwLock<(Arc<LakeSnapshot>, Instant)>,
    refreshing: Arc<tokio::sync::Mutex<()>>,
    /// Set when a read found the lake changed: the next snapshot lists it again at once.
    relist: Arc<AtomicBool>,
    versions: ListedVersions,
}

impl Lake {
    /// Opens every configured zone (relative paths against `base_dir`). Nothing is listed yet.
    pub fn open(config: &LakeConfig, base_dir: &FsPath) -> Result<Lake, LakeError> {
        let mut zones = config
            .zones
            .iter()
            .map(|(name, zone)| Zone::open(name, zone, base_dir))
            .collect::<Result<Vec<_>, _>>()?;
        let requests = StoreRequests::default();
        let latency = Duration::from_millis(config.simulated_request_latency_ms);
        for zone in &mut zones {
            let counted = Counted::new(Arc::clone(&zone.store), requests.clone(), latency);
            zone.store = Arc::new(counted);
        }
        Ok(Lake {
            zones,
            ttl: Duration::from_secs(config.listing_ttl_secs),
            footers: FooterCache::new(config.footer_cache_entries),
            requests,
            current: RwLock::new((Arc::new(LakeSnapshot::default()), Instant::now())),
            refreshing: Arc::new(tokio::sync::Mutex::new(())),
            relist: Arc::new(AtomicBool::new(false)),
            versions: ListedVersions::default(),
        })
    }

    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// The object-store requests every zone has made.
    pub fn requests(&self) -> &StoreRequests {
        &self.requests
    }

    /// How long a listing is trusted.
    pub fn listing_ttl(&self) -> Duration {
        self.ttl
    }

    /// The version of each data file that the engine's listings describe: record them
    /// there, and every read through the stores given to DataFusion is of that version.
    pub fn versions(&self) -> &ListedVersions {
        &self.versions
    }

    /// Makes every zone's store known to a DataFusion runtime, reading only the listed
    /// version of each data file ([`Versioned`]).
    pub fn register_stores(&self, runtime: &RuntimeEnv) {
        for zone in &self.zones {
            let store = Versioned::new(Arc::clone(&zone.store), self.versions.clone());
            runtime.register_object_store(&zone.store_url, Arc::new(store));
        }
    }

    /// Marks the lake as changed (a read found a data file rewritten or gone): the next
    /// [`Lake::snapshot`] lists it again in the background, whatever the TTL.
    pub fn relist_soon(&self) {
        self.relist.store(true, Ordering::Relaxed);
    }

    /// The current snapshot. When it is older than the TTL a re-listing starts in the
    /// background and this call still answers at once with what is known.
    pub fn snapshot(self: &Arc<Self>) -> Arc<LakeSnapshot> {
        let (snapshot, listed_at) = self.read_current();
        if (listed_at.elapsed() >= self.ttl || self.relist.load(Ordering::Relaxed))
            && let Ok(guard) = Arc::clone(&self.refreshing).try_lock_owned()
        {
            self.relist.store(false, Ordering::Relaxed);
            let lake = Arc::clone(self);
            tokio::spawn(async move {
                let _guard = guard;
                lake.list_all().await;
            });
        }
        snapshot
    }

    /// Lists every zone now and installs the result.
    pub async fn refresh(&self) -> Arc<LakeSnapshot> {
        let _guard = self.refreshing.lock().await;
        self.list_all().await
    }

    fn read_current(&self) -> (Arc<LakeSnapshot>, Instant) {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        (Arc::clone(&current.0), current.1)
    }

    async fn list_all(&self) -> Arc<LakeSnapshot> {
        let (previous, _) = self.read_current();
        let mut tables = Vec::new();
        let mut zone_errors = Vec::new();
        for zone in &self.zones {
            match self.list_zone(zone).await {
                Ok(found) => tables.extend(found),
                Err(e) => {
                    warn!(zone = %zone.name, error = %e, "zone listing failed; keeping its previous tables");
                    zone_errors.push(e.to_string());
                    tables.extend(
                        previous
                            .tables
                            .iter()
                            .filter(|t| t.zone == zone.name)
                            .cloned(),
                    );
                }
            }
        }
        let fingerprint = fingerprint(&tables);
        let version = if fingerprint == previous.version && previous.version != 0 {
            previous.version
        } else {
            fingerprint.max(1)
        };
        let snapshot = Arc::new(LakeSnapshot {
            version,
            tables,
            zone_errors,
        });
        if version != previous.version {
            info!(tables = snapshot.tables.len(), version, "lake listed");
        }
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        *current = (Arc::clone(&snapshot), Instant::now());
        snapshot
    }

    async fn list_zone(&self, zone: &Zone) -> Result<Vec<Arc<LakeTable>>, LakeError> {
        let objects: Vec<_> = zone
            .store
            .list(Some(&zone.prefix))
            .try_collect()
            .await
            .map_err(|source| LakeError::Store {
                zone: zone.name.clone(),
                source,
            })?;
        let folders = datasets(&zone.prefix, objects);
        let names = table_names(&folders);
        let mut tables = Vec::new();
        for (folder, name) in folders.iter().zip(names) {
            tables.extend(self.tables_for(zone, folder, name).await?);
        }
        Ok(tables)
    }

    /// The dataset's table and, when it is partitioned by date, its `_latest` view.
    async fn tables_for(
        &self,
        zone: &Zone,
        folder: &DatasetFolder,
        name: String,
    ) -> Result<Vec<Arc<LakeTable>>, LakeError> {
        let department = department_slug(&folder.department);
        let schema = schema_name(&department, &zone.name);
        let keys = folder.partition_keys();
        let mut file_schemas = Vec::new();
        let mut unreadable = Vec::new();
        let fetches: Vec<_> = (folder.files.iter())
            .map(|file| self.footers.schema(&zone.store, &file.meta))
            .collect();
        let footers: Vec<_> = stream::iter(fetches)
            .buffered(FOOTER_FETCHES)
            .collect()
            .await;
        for (file, footer) in folder.files.iter().zip(footers) {
            match footer {
                Ok(s) => file_schemas.push(s),
                Err(e) => {
                    warn!(table = %format!("{schema}.{name}"), file = %file.meta.location, error = %e, "unreadable Parquet file");
                    unreadable.push(file);
                }
            }
        }
        let merged = merge(file_schemas.iter().map(|s| s.as_ref()), &keys);
        let (sidecar, sidecar_error) = self.sidecar(zone, folder).await;
        let mut path = folder.folders.clone();
        path.insert(0, folder.department.clone());
        let url = zone.folder_url(&path).to_string();
        let qualified = format!("{schema}.{name}");
        let listing = listing_table(&url, &keys, merged.schema.clone()).map_err(|source| {
            LakeError::Table {
                table: qualified.clone(),
                source,
            }
        })?;
        let readable = |provider: Arc<dyn TableProvider>, damaged: Vec<&DataFile>| {
            if damaged.is_empty() {
                return provider;
            }
            let damaged = damaged.iter().map(|f| f.meta.clone()).collect();
            let store = Arc::clone(&zone.store);
            let relist = Arc::clone(&self.relist);
            Arc::new(DamagedTable::new(provider, store, damaged, relist)) as Arc<dyn TableProvider>
        };
        let unreadable_files: Vec<String> = unreadable
            .iter()
            .map(|f| f.meta.location.to_string())
            .collect();
        let base = LakeTable {
            zone: zone.name.clone(),
            department,
            schema,
            name: name.clone(),
            kind: TableKind::Dataset,
            url,
            partition_keys: keys.clone(),
            merged,
            unreadable_files: unreadable_files.clone(),
            file_count: folder.files.len(),
            partitions: partitions(&keys, folder.files.iter().map(file_partition)),
            sidecar,
            sidecar_error,
            provider: readable(Arc::clone(&listing), unreadable.clone()),
        };
        let latest = latest_partition(folder, &keys).map(|(key, value)| {
            let in_latest = |f: &DataFile| {
                f.partitions
                    .iter()
                    .any(|p| p.key == key && p.value == value)
            };
            let view: Arc<dyn TableProvider> =
                Arc::new(LatestTable::new(Arc::clone(&listing), key, &value));
            LakeTable {
                name: format!("{name}_latest"),
                kind: TableKind::Latest {
                    key: key.to_string(),
                    value: value.clone(),
                },
                provider: readable(
                    view,
                    unreadable
                        .iter()
                        .copied()
                        .filter(|f| in_latest(f))
                        .collect(),
                ),
                file_count: folder.files.iter().filter(|f| in_latest(f)).count(),
                partitions: partitions(
                    &keys,
                    folder
                        .files
                        .iter()
                        .filter(|f| in_latest(f))
                        .map(file_partition),
                ),
                zone: base.zone.clone(),
                department: base.department.clone(),
                schema: base.schema.clone(),
                url: base.url.clone(),
                partition_keys: keys.clone(),
                merged: base.merged.clone(),
                unreadable_files: unreadable_files.clone(),
                sidecar: base.sidecar.clone(),
                sidecar_error: None,
            }
        });
        let mut out = vec![Arc::new(base)];
        out.extend(latest.map(Arc::new));
        Ok(out)
    }

    async fn sidecar(
        &self,
        zone: &Zone,
        folder: &DatasetFolder,
    ) -> (Option<Sidecar>, Option<String>) {
        let Some(location) = &folder.sidecar else {
            return (None, None);
        };
        let text = match zone.store.get(location).await {
            Ok(got) => got.bytes().await,
            Err(e) => Err(e),
        };
        match text {
            Ok(bytes) => match Sidecar::parse(&String::from_utf8_lossy(&bytes)) {
                Ok(s) => (Some(s), None),
                Err(e) => {
                    warn!(sidecar = %location, error = %e, "ignoring catalogue sidecar");
                    (None, Some(e.to_string()))
                }
            },
            Err(e) => (None, Some(e.to_string())),
        }
    }
}

/// Table names per schema: the dataset folder's own name, or the whole path below the
/// department joined with `_` where two datasets of a schema would otherwise collide.
fn table_names(folders: &[DatasetFolder]) -> Vec<String> {
    let short = |f: &DatasetFolder| sql_identifier(f.folders.last().map_or("", |s| s.as_str()));
    let mut counts: HashMap<(String, String), usize> = HashMap::new();
    for f in folders {
        *counts
            .entry((department_slug(&f.department), short(f)))
            .or_default() += 1;
    }
    folders
        .iter()
        .map(|f| {
            if counts[&(department_slug(&f.department), short(f))] > 1 {
                sql_identifier(&f.folders.join("_"))
            } else {
                short(f)
            }
        })
        .collect()
}

/// The greatest date partition among the dataset's files, from the listing alone.
fn latest_partition<'a>(folder: &DatasetFolder, keys: &'a [String]) -> Option<(&'a str, String)> {
    let key = date_key(keys)?;
    let value = folder
        .files
        .iter()
        .filter_map(|f| f.partitions.iter().find(|p| p.key == key))
        .map(|p| p.value.clone())
        .max()?;
    let key = keys.iter().find(|k| k.as_str() == key)?;
    Some((key.as_str(), value))
}

fn listing_table(
    url: &str,
    keys: &[String],
    file_schema: SchemaRef,
) -> datafusion::error::Result<Arc<dyn TableProvider>> {
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(keys.iter().map(|k| (k.clone(), DataType::Utf8)).collect());
    let config = ListingTableConfig::new(ListingTableUrl::parse(url)?)
        .with_listing_options(options)
        .with_schema(file_schema);
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// A hash of what SQL can see: names, schemas and latest partitions.
fn fingerprint(tables: &[Arc<LakeTable>]) -> u64 {
    let mut hasher = DefaultHasher::new();
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for t in tables {
        by_name.insert(
            t.qualified_name(),
            format!("{:?}{:?}{:?}", t.table_schema(), t.kind, t.sidecar),
        );
    }
    by_name.hash(&mut hasher);
    hasher.finish()
}

fn file_partition(file: &DataFile) -> (&[PartitionSegment], u64) {
    (file.partitions.as_slice(), file.meta.size)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use datafusion::arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
    use object_store::ObjectMeta;
    use object_store::path::Path;
    use parquet::arrow::ArrowWriter;

    use super::*;
    use crate::config::ZoneConfig;
    use crate::discovery::DataFile;
    use crate::partition::PartitionSegment;

    fn folder(department: &str, folders: &[&str]) -> DatasetFolder {
        DatasetFolder {
            department: department.to_string(),
            folders: folders.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn colliding_dataset_names_join_their_folders() {
        let names = table_names(&[
            folder("housing", &["repairs", "mechanical", "jobs"]),
            folder("housing", &["repairs", "electrical", "jobs"]),
            folder("housing", &["tenancies"]),
            folder("parking", &["jobs"]),
        ]);
        assert_eq!(
            names,
            vec![
                "repairs_mechanical_jobs",
                "repairs_electrical_jobs",
                "tenancies",
                "jobs"
            ]
        );
    }

    #[test]
    fn latest_is_the_greatest_date_partition_in_the_listing() {
        let file = |date: &str| DataFile {
            meta: ObjectMeta {
                location: Path::from(format!("x/import_date={date}/f.parquet")),
                last_modified: Default::default(),
                size: 1,
                e_tag: None,
                version: None,
            },
            partitions: vec![
                PartitionSegment::parse(&format!("import_year={}", &date[..4])).unwrap(),
                PartitionSegment::parse(&format!("import_date={date}")).unwrap(),
            ],
        };
        let mut f = folder("parking", &["tickets"]);
        f.files = vec![file("20240605"), file("20241201"), file("20240930")];
        let keys = f.partition_keys();
        assert_eq!(
            latest_partition(&f, &keys),
            Some(("import_date", "20241201".to_string()))
        );
        f.files[1].partitions.pop();
        let keys = f.partition_keys();
        assert_eq!(
            latest_partition(&f, &keys),
            None,
            "not every file has a date"
        );
    }

    fn write(path: &std::path::Path, columns: Vec<(&str, ArrayRef)>) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut writer =
            ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None)
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[tokio::test]
    async fn a_listed_zone_becomes_tables_with_merged_schemas() {
        let dir = tempfile::tempdir().unwrap();
        let ds = dir.path().join("raw/Parking Dept/permits");
        write(
            &ds.join("import_year=2024/import_date=20240601/part-0.parquet"),
            vec![(
                "permit_id",
                Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef,
            )],
        );
        write(
            &ds.join("import_year=2024/import_date=20240602/part-0.parquet"),
            vec![
                ("permit_id", Arc::new(Int64Array::from(vec![3])) as ArrayRef),
                (
                    "channel",
                    Arc::new(StringArray::from(vec!["web"])) as ArrayRef,
                ),
            ],
        );
        std::fs::write(
            ds.join("import_year=2024/import_date=20240602/bad.parquet"),
            b"nope",
        )
        .unwrap();
        let config = LakeConfig {
            zones: BTreeMap::from([(
                "raw".to_string(),
                ZoneConfig {
                    url: "raw".to_string(),
                    s3: None,
                },
            )]),
            listing_ttl_secs: 60,
            footer_cache_entries: 100,
            simulated_request_latency_ms: 0,
        };
        let lake = Lake::open(&config, dir.path()).unwrap();
        let snapshot = lake.refresh().await;
        let names: Vec<String> = snapshot.tables.iter().map(|t| t.qualified_name()).collect();
        assert_eq!(
            names,
            vec![
                "parking_dept_raw_zone.permits",
                "parking_dept_raw_zone.permits_latest"
            ]
        );
        let permits = &snapshot.tables[0];
        assert_eq!(permits.department, "parking-dept");
        let schema = permits.table_schema();
        let fields: Vec<(&str, &DataType)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type()))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("permit_id", &DataType::Int64),
                ("channel", &DataType::Utf8),
                ("import_year", &DataType::Utf8),
                ("import_date", &DataType::Utf8),
            ]
        );
        assert_eq!(permits.unreadable_files.len(), 1);
        assert_eq!(
            snapshot.tables[1].kind,
            TableKind::Latest {
                key: "import_date".into(),
                value: "20240602".into()
            }
        );
        let again = lake.refresh().await;
        assert_eq!(
            again.version, snapshot.version,
            "an unchanged lake keeps its version"
        );
    }
}
