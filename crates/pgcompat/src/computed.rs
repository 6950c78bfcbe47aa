//! Catalog tables whose rows are computed when they are scanned, from the session's other
//! catalog tables or from live server state: one table provider for all of them.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

/// What a computed table is: its schema and how to compute its rows.
#[async_trait]
pub trait Rows: Debug + Send + Sync {
    fn schema(&self) -> SchemaRef;

    async fn rows(&self, state: &dyn Session) -> Result<Vec<RecordBatch>>;
}

/// A [`Rows`] as a table, a view to clients.
#[derive(Debug)]
pub struct Computed<T>(pub T);

#[async_trait]
impl<T: Rows + 'static> TableProvider for Computed<T> {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batches = self.0.rows(state).await?;
        MemTable::try_new(self.schema(), vec![batches])?
            .scan(state, projection, filters, limit)
            .await
    }
}
