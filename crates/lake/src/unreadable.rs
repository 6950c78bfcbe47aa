//! A table with a data file that cannot be read: every scan fails, naming no file.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::parquet::errors::ParquetError;
use datafusion::physical_plan::ExecutionPlan;

/// Stands in for a dataset whose listing found a corrupt or unreadable Parquet file. The
/// table stays visible (its schema comes from the readable files); a query over it fails
/// cleanly instead of handing the broken file to the reader.
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
        Err(DataFusionError::ParquetError(Box::new(
            ParquetError::General("a data file of this table is corrupt or unreadable".to_string()),
        )))
    }
}
