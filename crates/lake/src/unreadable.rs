//! A table that cannot be read — a corrupt data file, or a policy that no longer fits its
//! schema: it stays visible, and every scan fails with an error naming no file.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::parquet::errors::ParquetError;
use datafusion::physical_plan::ExecutionPlan;

/// Why a table cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// The listing found a corrupt or unreadable Parquet file; the query fails cleanly
    /// instead of handing the broken file to the reader.
    DataFile,
    /// The principal's rules do not type-check against the table: closed, never unfiltered.
    Policy,
}

/// The error a query over a table closed by [`Unreadable::Policy`] gets.
#[derive(Debug, thiserror::Error)]
#[error("this table is unavailable: its access policy does not match its current data")]
pub struct PolicyUnavailable;

/// Stands in for a table that cannot be read. Its schema stays, so users are not told it
/// vanished.
#[derive(Debug)]
pub struct UnreadableTable {
    schema: SchemaRef,
    table_type: TableType,
    reason: Unreadable,
}

impl UnreadableTable {
    pub fn new(schema: SchemaRef, table_type: TableType, reason: Unreadable) -> Self {
        UnreadableTable {
            schema,
            table_type,
            reason,
        }
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
        Err(match self.reason {
            Unreadable::DataFile => DataFusionError::ParquetError(Box::new(ParquetError::General(
                "a data file of this table is corrupt or unreadable".to_string(),
            ))),
            Unreadable::Policy => DataFusionError::External(Box::new(PolicyUnavailable)),
        })
    }
}
