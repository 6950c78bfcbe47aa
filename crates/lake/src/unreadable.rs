//! Tables that cannot be read as they are: one with a damaged data file, and one whose
//! policy no longer fits its schema. Both stay visible (users are not told a table vanished)
//! and every scan fails with an error naming no file.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::parquet::errors::ParquetError;
use datafusion::physical_plan::ExecutionPlan;
use futures::future::join_all;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

/// The error a query over a table closed by its policy gets.
#[derive(Debug, thiserror::Error)]
#[error("this table is unavailable: its access policy does not match its current data")]
pub struct PolicyUnavailable;

/// Stands in for a table whose principal's rules do not type-check against it: closed,
/// never unfiltered.
#[derive(Debug)]
pub struct UnreadableTable {
    schema: SchemaRef,
    table_type: TableType,
}

impl UnreadableTable {
    pub fn new(schema: SchemaRef, table_type: TableType) -> Self {
        UnreadableTable { schema, table_type }
    }
}

#[async_trait]
impl TableProvider for UnreadableTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        self.table_type
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::External(Box::new(PolicyUnavailable)))
    }
}

/// A dataset whose listing found a corrupt or unreadable Parquet file. Its queries fail
/// cleanly instead of handing the broken file to the reader (the parquet crate can panic
/// on some corrupt footers) — until a pipeline mends the file: each scan first asks the
/// store whether the damaged files are still the versions listed, and if one changed, the
/// scan reads the dataset as it is now and the lake is listed again.
#[derive(Debug)]
pub struct DamagedTable {
    listing: Arc<dyn TableProvider>,
    store: Arc<dyn ObjectStore>,
    damaged: Vec<ObjectMeta>,
    /// Set when a damaged file changed: the lake's next snapshot lists it again.
    relist: Arc<AtomicBool>,
}

impl DamagedTable {
    pub fn new(
        listing: Arc<dyn TableProvider>,
        store: Arc<dyn ObjectStore>,
        damaged: Vec<ObjectMeta>,
        relist: Arc<AtomicBool>,
    ) -> Self {
        DamagedTable {
            listing,
            store,
            damaged,
            relist,
        }
    }

    /// Whether any damaged file is now another version (size or ETag), or gone. A HEAD
    /// that fails otherwise (throttled, denied) is no news: the table stays closed.
    /// (Modification times are not compared: some stores list them to the millisecond
    /// and answer HEAD to the second.)
    async fn mended(&self) -> bool {
        let heads = join_all(self.damaged.iter().map(|f| self.store.head(&f.location))).await;
        heads
            .iter()
            .zip(&self.damaged)
            .any(|(now, listed)| match now {
                Ok(now) => {
                    let tags = (now.e_tag.as_ref(), listed.e_tag.as_ref());
                    now.size != listed.size
                        || matches!(tags, (Some(now), Some(listed)) if now != listed)
                }
                Err(object_store::Error::NotFound { .. }) => true,
                Err(_) => false,
            })
    }
}

#[async_trait]
impl TableProvider for DamagedTable {
    fn schema(&self) -> SchemaRef {
        self.listing.schema()
    }

    fn table_type(&self) -> TableType {
        self.listing.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.listing.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if self.mended().await {
            self.relist.store(true, Ordering::Relaxed);
            return self.listing.scan(state, projection, filters, limit).await;
        }
        Err(DataFusionError::ParquetError(Box::new(
            ParquetError::General("a data file of this table is corrupt or unreadable".to_string()),
        )))
    }
}
