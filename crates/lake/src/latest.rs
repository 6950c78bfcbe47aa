//! `<table>_latest`: the rows of the greatest import (or snapshot) date.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, col, lit};
use datafusion::physical_plan::ExecutionPlan;

/// A dataset restricted to one partition value chosen from the listing. The restriction is
/// a partition filter, so only that partition's files are opened: no scan decides it.
#[derive(Debug)]
pub struct LatestTable {
    inner: Arc<dyn TableProvider>,
    key: String,
    value: String,
}

impl LatestTable {
    pub fn new(inner: Arc<dyn TableProvider>, key: &str, value: &str) -> Self {
        LatestTable {
            inner,
            key: key.to_string(),
            value: value.to_string(),
        }
    }

    fn restriction(&self) -> Expr {
        col(self.key.as_str()).eq(lit(self.value.as_str()))
    }
}

#[async_trait]
impl TableProvider for LatestTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
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
        let mut filters = filters.to_vec();
        filters.push(self.restriction());
        self.inner.scan(state, projection, &filters, limit).await
    }
}
