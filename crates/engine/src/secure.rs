//! The table provider every session sees: the seam where policy is enforced.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Statistics;
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

/// A lake table as one principal may read it. Today that is the whole table; row filters,
/// masks and column exclusions plug in here, so every front end gets them by construction.
/// It never exposes statistics, so answers such as `COUNT(*)` cannot come from file
/// footers that describe rows a policy hides.
#[derive(Debug)]
pub struct SecureTable {
    inner: Arc<dyn TableProvider>,
}

impl SecureTable {
    pub fn new(inner: Arc<dyn TableProvider>) -> Self {
        SecureTable { inner }
    }
}

#[async_trait]
impl TableProvider for SecureTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn statistics(&self) -> Option<Statistics> {
        None
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.scan(state, projection, filters, limit).await
    }
}
