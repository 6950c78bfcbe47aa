//! A table whose policy no longer applies to its data: unreadable, never unfiltered.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

/// The error a query over such a table gets; the reason is in the server log, not here.
#[derive(Debug, thiserror::Error)]
#[error("this table is unavailable: its access policy does not match its current data")]
pub struct PolicyUnavailable;

/// Stands in for a table whose filters or masks do not type-check against its schema
/// (after drift, say). It keeps the table's name so users are not told it vanished.
#[derive(Debug)]
pub struct UnavailableTable {
    schema: SchemaRef,
    table_type: TableType,
}

impl UnavailableTable {
    pub fn new(schema: SchemaRef, table_type: TableType) -> Self {
        UnavailableTable { schema, table_type }
    }
}

#[async_trait]
impl TableProvider for UnavailableTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        self.table_type
    }

    async fn scan(
        &self,
        _: &dyn Session,
        _: Option<&Vec<usize>>,
        _: &[Expr],
        _: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::External(Box::new(PolicyUnavailable)))
    }
}
