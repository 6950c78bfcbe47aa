//! Which version of each data file a query was planned with, and a store that reads only
//! that version.
//!
//! Pipelines rewrite and delete partition files in place. Within the listing TTL a query is
//! planned from a cached listing (each file's size, ETag and modification time) and may
//! reuse the file's cached footer and statistics; reading a file that has changed since
//! with those would fail as corrupt, or silently read a truncated file through an old
//! footer. Every read of a listed file is therefore conditional on the listed version
//! (object_store's `if_match` / `if_unmodified_since`, and the size and ETag the store
//! answers with are checked too, for stores that ignore conditions). A read of another
//! version fails with [`ObjectChanged`], which the gateway answers by dropping the
//! dataset's cached listing, footers and statistics and running the statement once more.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;

use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, OBJECT_STORE_COALESCE_DEFAULT,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    Result, coalesce_ranges,
};

/// A data file is no longer the version a query was planned with: rewritten, truncated or
/// deleted since it was listed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{location} changed after it was listed")]
pub struct ObjectChanged {
    /// The file.
    pub location: Path,
    /// The dataset folder whose listing described it (the listing cache's key).
    pub dataset: Path,
}

impl ObjectChanged {
    /// The [`ObjectChanged`] somewhere in an error's chain of sources, however DataFusion,
    /// Arrow or Parquet wrapped it.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a ObjectChanged> {
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(changed) = error.downcast_ref::<ObjectChanged>() {
                return Some(changed);
            }
            current = error.source();
        }
        None
    }
}

/// One dataset's files by location.
type Listing = Arc<HashMap<Path, ObjectMeta>>;

/// The listed version of every file of every dataset listed for planning, by dataset
/// folder. Cheap to clone; clones share the record.
#[derive(Debug, Clone, Default)]
pub struct ListedVersions {
    datasets: Arc<RwLock<HashMap<Path, Listing>>>,
}

impl ListedVersions {
    /// Records a dataset's listing (replacing the one before): the versions its next reads
    /// must find.
    pub fn record(&self, dataset: &Path, files: &[ObjectMeta]) {
        let files = files
            .iter()
            .map(|meta| (meta.location.clone(), meta.clone()))
            .collect();
        let mut datasets = self.datasets.write().unwrap_or_else(|e| e.into_inner());
        datasets.insert(dataset.clone(), Arc::new(files));
    }

    /// Forgets a dataset's listing: its files are read as they are until it is listed again.
    pub fn forget(&self, dataset: &Path) {
        let mut datasets = self.datasets.write().unwrap_or_else(|e| e.into_inner());
        datasets.remove(dataset);
    }

    /// The dataset folder and listed version of a file, if a listing described it.
    pub fn expected(&self, location: &Path) -> Option<(Path, ObjectMeta)> {
        let datasets = self.datasets.read().unwrap_or_else(|e| e.into_inner());
        if datasets.is_empty() {
            return None;
        }
        let parts: Vec<_> = location.parts().collect();
        // The nearest enclosing dataset folder: the file's own folder first.
        (0..parts.len()).rev().find_map(|depth| {
            let folder = Path::from_iter(parts[..depth].iter().cloned());
            let meta = datasets.get(&folder)?.get(location)?;
            Some((folder, meta.clone()))
        })
    }
}

/// A store whose reads of listed files succeed only for the listed version.
#[derive(Debug)]
pub struct Versioned {
    inner: Arc<dyn ObjectStore>,
    versions: ListedVersions,
}

impl Versioned {
    pub fn new(inner: Arc<dyn ObjectStore>, versions: ListedVersions) -> Versioned {
        Versioned { inner, versions }
    }

    /// A read conditional on `listed`, the dataset and version a listing gave the file
    /// (none: read as it is).
    async fn get_listed(
        &self,
        location: &Path,
        mut options: GetOptions,
        listed: Option<&(Path, ObjectMeta)>,
    ) -> Result<GetResult> {
        let Some((dataset, listed)) = listed else {
            return self.inner.get_opts(location, options).await;
        };
        let changed = || object_store::Error::Generic {
            store: "lakegate",
            source: Box::new(ObjectChanged {
                location: location.clone(),
                dataset: dataset.clone(),
            }),
        };
        match &listed.e_tag {
            Some(e_tag) => options.if_match = Some(e_tag.clone()),
            None => options.if_unmodified_since = Some(listed.last_modified),
        }
        match self.inner.get_opts(location, options).await {
            Ok(got) => {
                let same_tag = match (&got.meta.e_tag, &listed.e_tag) {
                    (Some(got), Some(listed)) => got == listed,
                    _ => true,
                };
                if got.meta.size == listed.size && same_tag {
                    Ok(got)
                } else {
                    Err(changed())
                }
            }
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::NotModified { .. }
                | object_store::Error::NotFound { .. },
            ) => Err(changed()),
            Err(other) => Err(other),
        }
    }
}

impl fmt::Display for Versioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Versioned({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Versioned {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let listed = self.versions.expected(location);
        self.get_listed(location, options, listed.as_ref()).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let Some(listed) = self.versions.expected(location) else {
            return self.inner.get_ranges(location, ranges).await;
        };
        let listed = &listed;
        // Each coalesced range a conditional read (a store's own `get_ranges` takes no
        // conditions).
        coalesce_ranges(
            ranges,
            |range| async move {
                let options = GetOptions {
                    range: Some(range.into()),
                    ..Default::default()
                };
                (self.get_listed(location, options, Some(listed)).await?)
                    .bytes()
                    .await
            },
            OBJECT_STORE_COALESCE_DEFAULT,
        )
        .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;

    async fn listed(store: &Arc<dyn ObjectStore>, versions: &ListedVersions) -> Path {
        let file = Path::from("zone/dept/ds/import_date=20240601/part-0.parquet");
        store
            .put(&file, PutPayload::from_static(b"0123456789"))
            .await
            .unwrap();
        let meta = store.head(&file).await.unwrap();
        versions.record(&Path::from("zone/dept/ds"), &[meta]);
        file
    }

    fn changed(result: Result<impl fmt::Debug>) -> Option<ObjectChanged> {
        let error = result.expect_err("a changed file must not be read");
        ObjectChanged::find(&error).cloned()
    }

    #[tokio::test]
    async fn reads_only_the_listed_version_of_a_file() {
        let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let versions = ListedVersions::default();
        let file = listed(&inner, &versions).await;
        let store = Versioned::new(Arc::clone(&inner), versions.clone());
        assert_eq!(store.get_range(&file, 2..4).await.unwrap(), &b"23"[..]);
        assert_eq!(
            store.get_ranges(&file, &[0..1, 8..10]).await.unwrap(),
            vec![Bytes::from_static(b"0"), Bytes::from_static(b"89")]
        );

        // Rewritten (same size, new ETag), truncated, deleted: each an ObjectChanged
        // naming the file and its dataset.
        inner
            .put(&file, PutPayload::from_static(b"abcdefghij"))
            .await
            .unwrap();
        let found = changed(store.get_range(&file, 0..2).await).unwrap();
        assert_eq!(found.location, file);
        assert_eq!(found.dataset, Path::from("zone/dept/ds"));
        assert!(changed(store.get_ranges(&file, &[0..1, 2..3]).await).is_some());
        inner
            .put(&file, PutPayload::from_static(b"0123"))
            .await
            .unwrap();
        assert!(changed(store.get_range(&file, 0..2).await).is_some());
        inner.delete(&file).await.unwrap();
        assert!(changed(store.get_range(&file, 0..2).await).is_some());

        // Forgotten (the gateway dropped the dataset's caches): read as it is.
        inner
            .put(&file, PutPayload::from_static(b"new"))
            .await
            .unwrap();
        versions.forget(&Path::from("zone/dept/ds"));
        assert_eq!(store.get_range(&file, 0..3).await.unwrap(), &b"new"[..]);
    }

    #[tokio::test]
    async fn files_no_listing_described_are_read_as_they_are() {
        let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let versions = ListedVersions::default();
        listed(&inner, &versions).await;
        let other = Path::from("zone/dept/ds/_catalog.toml");
        inner
            .put(&other, PutPayload::from_static(b"x"))
            .await
            .unwrap();
        let store = Versioned::new(inner, versions);
        assert_eq!(store.get_range(&other, 0..1).await.unwrap(), &b"x"[..]);
    }
}
