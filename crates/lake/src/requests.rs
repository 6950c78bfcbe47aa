//! Every zone's object store, with its requests counted: what proves a warm query asks the
//! store for nothing it already knows, and what `/metrics` shows of the lake's traffic.
//! Benchmarks may also delay every read and listing, as a remote bucket would.
//! (object_store's own throttled store cannot wrap the local file system: it panics on a
//! file-backed read.)

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    kind: &'static str,
}

/// Request counts by kind, shared by every zone's store (clones count together):
/// `list` (each listing call), `get` (reads of contents, footers included), `footer_get`
/// (reads that include the end of a Parquet file, its metadata) and `head`.
#[derive(Debug, Clone, Default)]
pub struct StoreRequests(Family<Kind, Counter>);

impl StoreRequests {
    pub fn count(&self, kind: &'static str) {
        self.0.get_or_create(&Kind { kind }).inc();
    }

    /// Requests of one kind so far.
    pub fn get(&self, kind: &'static str) -> u64 {
        self.0.get_or_create(&Kind { kind }).get()
    }

    /// The counters, for a metrics registry.
    pub fn by_kind(&self) -> Family<Kind, Counter> {
        self.0.clone()
    }
}

/// A store whose requests are counted in [`StoreRequests`], each read and listing first
/// waiting `latency`.
#[derive(Debug)]
pub struct Counted {
    inner: Arc<dyn ObjectStore>,
    requests: StoreRequests,
    latency: Duration,
}

impl Counted {
    pub fn new(inner: Arc<dyn ObjectStore>, requests: StoreRequests, latency: Duration) -> Counted {
        Counted {
            inner,
            requests,
            latency,
        }
    }

    async fn wait(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    /// A listing that waits `latency` before its first entry.
    fn delayed(
        &self,
        list: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        if self.latency.is_zero() {
            return list;
        }
        let latency = self.latency;
        stream::once(async move {
            tokio::time::sleep(latency).await;
            list
        })
        .flatten()
        .boxed()
    }

    fn count_get(&self, location: &Path, options: &GetOptions, result: &GetResult) {
        if options.head {
            self.requests.count("head");
            return;
        }
        self.requests.count("get");
        let to_end = matches!(options.range, Some(GetRange::Suffix(_)))
            || result.range.end == result.meta.size;
        if to_end && location.extension() == Some("parquet") {
            self.requests.count("footer_get");
        }
    }
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counted({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Counted {
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
        self.wait().await;
        let result = self.inner.get_opts(location, options.clone()).await?;
        self.count_get(location, &options, &result);
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        // Column chunks: one request however many ranges it coalesces.
        self.requests.count("get");
        self.wait().await;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.requests.count("list");
        self.delayed(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.requests.count("list");
        self.delayed(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.requests.count("list");
        self.wait().await;
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
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn counts_lists_gets_and_footer_reads() {
        let requests = StoreRequests::default();
        let store = Counted::new(Arc::new(InMemory::new()), requests.clone(), Duration::ZERO);
        let file = Path::from("zone/t/part.parquet");
        store
            .put(&file, PutPayload::from_static(b"0123456789"))
            .await
            .unwrap();
        let _ = store.list_with_delimiter(None).await.unwrap();
        store.get_range(&file, 0..4).await.unwrap();
        store.get_range(&file, 6..10).await.unwrap();
        store.head(&file).await.unwrap();
        assert_eq!(requests.get("list"), 1);
        assert_eq!(requests.get("get"), 2);
        assert_eq!(requests.get("footer_get"), 1);
        assert_eq!(requests.get("head"), 1);
    }
}
