//! `pg_settings` and `current_setting()`: the client settings lakegate answers, plus the
//! server facts drivers read (JDBC's `max_index_keys`, for one).

use std::sync::Arc;

use crate::setting::KNOWN;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::catalog::TableProvider;
use datafusion::common::plan_err;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};

/// Read-only server facts, as PostgreSQL 16 reports them.
const FACTS: &[(&str, &str)] = &[
    ("max_index_keys", "32"),
    ("max_function_args", "100"),
    ("block_size", "8192"),
    ("server_version_num", crate::SERVER_VERSION_NUM),
    ("max_connections", "100"),
    ("default_table_access_method", "heap"),
];

/// A setting's value as `pg_settings` lists it.
fn setting(name: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .map(|k| (k.name, k.default))
        .chain(FACTS.iter().copied())
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// `set_config(name, value, is_local)` (asyncpg turns `jit` off around its type
/// introspection): returns the value, as PostgreSQL does. Settings that matter are taken
/// with `SET`, per connection; through this function they change nothing.
pub fn set_config_udf() -> ScalarUDF {
    create_udf(
        "set_config",
        vec![DataType::Utf8, DataType::Utf8, DataType::Boolean],
        DataType::Utf8,
        Volatility::Volatile,
        Arc::new(|args: &[ColumnarValue]| Ok(args[1].clone())),
    )
}

/// `current_setting(name [, missing_ok])` (SQLAlchemy asks for
/// `default_table_access_method`): the server's value, as `pg_settings` has it.
pub fn current_setting_udf() -> ScalarUDF {
    create_udf(
        "current_setting",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| {
            let names = ColumnarValue::values_to_arrays(&args[..1])?;
            let names = names[0].as_string::<i32>();
            let mut values = Vec::with_capacity(names.len());
            for name in names.iter() {
                let Some(name) = name else {
                    values.push(None);
                    continue;
                };
                match setting(name) {
                    Some(v) => values.push(Some(v)),
                    None => {
                        return plan_err!("unrecognized configuration parameter \"{name}\"");
                    }
                }
            }
            Ok(ColumnarValue::Array(Arc::new(StringArray::from(values))))
        }),
    )
}

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
