//! `pg_settings`: the client settings lakegate answers, plus the server facts drivers read
//! from it (JDBC's `max_index_keys`, for one).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::Schema;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use lakegate_policy::setting::KNOWN;

/// Read-only server facts, as PostgreSQL 16 reports them.
const FACTS: &[(&str, &str)] = &[
    ("max_index_keys", "32"),
    ("max_function_args", "100"),
    ("block_size", "8192"),
    ("server_version_num", "160006"),
    ("max_connections", "100"),
];

/// `pg_settings` in the shape `base` (datafusion-pg-catalog's) has, with a row per setting.
pub fn pg_settings(base: &dyn TableProvider) -> Result<Arc<dyn TableProvider>> {
    let schema = base.schema();
    let rows: Vec<(&str, &str)> = KNOWN
        .iter()
        .map(|k| (k.name, k.default))
        .chain(FACTS.iter().copied())
        .collect();
    let columns = schema
        .fields()
        .iter()
        .map(|field| -> Result<ArrayRef> {
            let values: Vec<Option<&str>> = match field.name().as_str() {
                "name" => rows.iter().map(|(n, _)| Some(*n)).collect(),
                "setting" | "reset_val" | "boot_val" => {
                    rows.iter().map(|(_, v)| Some(*v)).collect()
                }
                "context" => rows.iter().map(|_| Some("user")).collect(),
                "source" => rows.iter().map(|_| Some("default")).collect(),
                _ => vec![None; rows.len()],
            };
            let array: ArrayRef = Arc::new(StringArray::from(values));
            Ok(datafusion::arrow::compute::cast(&array, field.data_type())?)
        })
        .collect::<Result<Vec<_>>>()?;
    let batch = RecordBatch::try_new(Arc::new(Schema::clone(&schema)), columns)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}
