//! DataFusion's runtime caches (Parquet metadata, file statistics, file listings), each
//! counting its hits and misses for `/metrics`; the listing cache clearable at once when
//! the lake is relisted on request, and every cache of one dataset when a read finds one
//! of its files changed. Each listing is also recorded in the lake's [`ListedVersions`], so
//! that files are read only in the version the listing describes.

use std::sync::Arc;
use std::time::Duration;

use datafusion::common::{HashMap, Result, TableReference};
use datafusion::execution::cache::cache_manager::{
    CacheManagerConfig, CachedFileList, FileMetadataCache, FileStatisticsCache, ListFilesCache,
    TableScopedPath,
};
use datafusion::execution::cache::default_cache::DefaultCache;
use datafusion::execution::cache::{Cache, CacheEntryInfo, CacheKey, CacheValue};
use lakegate_lake::ListedVersions;
use object_store::path::Path;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::session::MemoryConfig;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLookup {
    cache: &'static str,
    result: &'static str,
}

/// Lookups in every cache of the server, by cache and result (`hit`, `miss`); clones count
/// together.
#[derive(Debug, Clone, Default)]
pub struct CacheLookups(Family<CacheLookup, Counter>);

impl CacheLookups {
    pub fn record(&self, cache: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.0.get_or_create(&CacheLookup { cache, result }).inc();
    }

    /// Lookups of one cache with one result so far.
    pub fn get(&self, cache: &'static str, hit: bool) -> u64 {
        let result = if hit { "hit" } else { "miss" };
        self.0.get_or_create(&CacheLookup { cache, result }).get()
    }

    /// The counters, for a metrics registry.
    pub fn by_cache(&self) -> Family<CacheLookup, Counter> {
        self.0.clone()
    }
}

/// The runtime's caches, sized from the config.
pub(crate) struct RuntimeCaches {
    pub listings: Arc<ListFilesCache>,
    metadata: Arc<FileMetadataCache>,
    statistics: Arc<FileStatisticsCache>,
    /// Where every listing put in `listings` is recorded.
    versions: ListedVersions,
}

impl RuntimeCaches {
    pub fn new(
        memory: &MemoryConfig,
        listing_ttl: Duration,
        lookups: &CacheLookups,
        versions: &ListedVersions,
    ) -> Self {
        let listings = DefaultCache::new_with_ttl(memory.listing_cache, Some(listing_ttl));
        let recorded = versions.clone();
        let record: PutHook<TableScopedPath, CachedFileList> =
            Box::new(move |key, listing| recorded.record(&key.path, &listing.files));
        RuntimeCaches {
            listings: Counting::wrap(listings, "file_listing", lookups, Some(record)),
            metadata: Counting::wrap(
                DefaultCache::new(memory.metadata_cache),
                "parquet_metadata",
                lookups,
                None,
            ),
            statistics: Counting::wrap(
                DefaultCache::new(memory.statistics_cache),
                "file_statistics",
                lookups,
                None,
            ),
            versions: versions.clone(),
        }
    }

    /// Forgets what the caches hold of one dataset folder: its listing, its files' footers
    /// and statistics, and the versions its reads were held to, so the next scan lists and
    /// reads it as it is now.
    pub fn forget(&self, dataset: &Path) {
        self.versions.forget(dataset);
        let under = |path: &Path| path.prefix_match(dataset).is_some();
        for key in self.listings.list_entries().into_keys() {
            if under(&key.path) {
                self.listings.remove(&key);
            }
        }
        for key in self.metadata.list_entries().into_keys() {
            if under(&key) {
                self.metadata.remove(&key);
            }
        }
        for key in self.statistics.list_entries().into_keys() {
            if under(&key.path) {
                self.statistics.remove(&key);
            }
        }
    }

    pub fn config(&self, memory: &MemoryConfig) -> CacheManagerConfig {
        CacheManagerConfig::default()
            .with_list_files_cache(Some(Arc::clone(&self.listings)))
            .with_list_files_cache_limit(memory.listing_cache)
            .with_file_metadata_cache(Some(Arc::clone(&self.metadata)))
            .with_metadata_cache_limit(memory.metadata_cache)
            .with_file_statistics_cache(Some(Arc::clone(&self.statistics)))
            .with_file_statistics_cache_limit(memory.statistics_cache)
    }
}

/// Called with every entry put in a cache.
type PutHook<K, V> = Box<dyn Fn(&K, &V) + Send + Sync>;

/// A cache that counts its lookups (and may watch what is put in it).
struct Counting<C, K, V> {
    inner: C,
    name: &'static str,
    lookups: CacheLookups,
    on_put: Option<PutHook<K, V>>,
}

impl<C, K, V> Counting<C, K, V> {
    fn wrap(
        inner: C,
        name: &'static str,
        lookups: &CacheLookups,
        on_put: Option<PutHook<K, V>>,
    ) -> Arc<Self> {
        Arc::new(Counting {
            inner,
            name,
            lookups: lookups.clone(),
            on_put,
        })
    }
}

impl<K: CacheKey, V: CacheValue, C: Cache<K, V>> Cache<K, V> for Counting<C, K, V> {
    fn get(&self, key: &K) -> Option<V> {
        let value = self.inner.get(key);
        self.lookups.record(self.name, value.is_some());
        value
    }

    fn put(&self, key: &K, value: V) -> Option<V> {
        if let Some(hook) = &self.on_put {
            hook(key, &value);
        }
        self.inner.put(key, value)
    }

    fn remove(&self, key: &K) -> Option<V> {
        self.inner.remove(key)
    }

    fn contains_key(&self, key: &K) -> bool {
        self.inner.contains_key(key)
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn clear(&self) {
        self.inner.clear()
    }

    fn name(&self) -> String {
        self.name.to_string()
    }

    fn cache_limit(&self) -> usize {
        self.inner.cache_limit()
    }

    fn update_cache_limit(&self, limit: usize) {
        self.inner.update_cache_limit(limit)
    }

    fn cache_ttl(&self) -> Option<Duration> {
        self.inner.cache_ttl()
    }

    fn update_cache_ttl(&self, ttl: Option<Duration>) {
        self.inner.update_cache_ttl(ttl)
    }

    fn drop_table_entries(&self, table: &TableReference) -> Result<()> {
        self.inner.drop_table_entries(table)
    }

    fn list_entries(&self) -> HashMap<K, CacheEntryInfo<V>> {
        self.inner.list_entries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::cache::cache_manager::CachedFileList;
    use datafusion::execution::cache::cache_manager::TableScopedPath;
    use object_store::ObjectMeta;

    #[test]
    fn counts_hits_and_misses_and_clears() {
        let lookups = CacheLookups::default();
        let memory = MemoryConfig {
            limit: 0,
            spill_dir: None,
            metadata_cache: 1 << 20,
            statistics_cache: 1 << 20,
            listing_cache: 1 << 20,
        };
        let versions = ListedVersions::default();
        let caches = RuntimeCaches::new(&memory, Duration::from_secs(60), &lookups, &versions);
        let key = TableScopedPath {
            table: None,
            path: "lake/dataset".into(),
        };
        assert!(caches.listings.get(&key).is_none());
        let file = ObjectMeta {
            location: "lake/dataset/part-0.parquet".into(),
            last_modified: chrono::Utc::now(),
            size: 1,
            e_tag: None,
            version: None,
        };
        caches.listings.put(&key, CachedFileList::new(vec![file]));
        assert!(caches.listings.get(&key).is_some());
        caches.listings.clear();
        assert!(caches.listings.get(&key).is_none());
        assert_eq!(lookups.get("file_listing", true), 1);
        assert_eq!(lookups.get("file_listing", false), 2);
    }
}
