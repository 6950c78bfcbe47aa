//! The `lakegate` schema: the data dictionary as tables (`datasets`, `columns`,
//! `partitions`, `relationships`), holding only what the principal's session holds.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use lakegate_lake::{LakeTable, Partition, TableKind};

use crate::keys::Keys;

/// The schema's name.
pub const SCHEMA: &str = "lakegate";

/// One table the principal sees, with the columns it sees.
pub struct Visible<'a> {
    pub table: &'a LakeTable,
    pub columns: SchemaRef,
    /// The principal sees only some rows: the table's volume (files, bytes) would say how
    /// much it does not see, so it is not shown.
    pub filtered: bool,
}

/// The `lakegate` schema for these tables.
pub fn dictionary(visible: &[Visible<'_>], keys: &Keys) -> Result<Arc<dyn SchemaProvider>> {
    let schema = MemorySchemaProvider::new();
    schema.register_table("datasets".to_string(), datasets(visible)?)?;
    schema.register_table("columns".to_string(), columns(visible)?)?;
    schema.register_table("partitions".to_string(), partitions(visible)?)?;
    schema.register_table("relationships".to_string(), relationships(keys)?)?;
    Ok(Arc::new(schema))
}

fn text(values: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn table(fields: Vec<Field>, columns: Vec<ArrayRef>) -> Result<Arc<MemTable>> {
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

/// One row per table: where it lives and what its catalogue entry says.
fn datasets(visible: &[Visible<'_>]) -> Result<Arc<MemTable>> {
    let all = |f: &dyn Fn(&LakeTable) -> Option<String>| -> ArrayRef {
        text(visible.iter().map(|v| f(v.table)).collect())
    };
    let latest = |t: &LakeTable| match &t.kind {
        TableKind::Latest { value, .. } => Some(value.clone()),
        TableKind::Dataset => None,
    };
    let columns = vec![
        all(&|t| Some(t.schema.clone())),
        all(&|t| Some(t.name.clone())),
        all(&|t| Some(t.zone.clone())),
        all(&|t| Some(t.department.clone())),
        all(&|t| t.sidecar.as_ref().and_then(|s| s.description.clone())),
        all(&|t| t.sidecar.as_ref().and_then(|s| s.owner.clone())),
        all(&|t| Some(t.partition_keys.join(", "))),
        all(&latest),
        Arc::new(Int32Array::from(
            visible
                .iter()
                .map(|v| {
                    i32::try_from(v.table.file_count)
                        .ok()
                        .filter(|_| !v.filtered)
                })
                .collect::<Vec<_>>(),
        )),
    ];
    let fields = vec![
        utf8("schema_name"),
        utf8("table_name"),
        utf8("zone"),
        utf8("department"),
        utf8("description"),
        utf8("owner"),
        utf8("partition_keys"),
        utf8("latest_partition"),
        Field::new("file_count", DataType::Int32, true),
    ];
    table(fields, columns)
}

/// One row per visible column, with its type, description and PII tags.
fn columns(visible: &[Visible<'_>]) -> Result<Arc<MemTable>> {
    let (mut schema, mut name, mut column, mut ordinal) = (vec![], vec![], vec![], vec![]);
    let (mut data_type, mut description, mut pii, mut personal) = (vec![], vec![], vec![], vec![]);
    for v in visible {
        for (i, field) in v.columns.fields().iter().enumerate() {
            let doc = v
                .table
                .sidecar
                .as_ref()
                .and_then(|s| s.columns.get(field.name()));
            schema.push(Some(v.table.schema.clone()));
            name.push(Some(v.table.name.clone()));
            column.push(Some(field.name().clone()));
            ordinal.push(i32::try_from(i + 1).ok());
            data_type.push(Some(field.data_type().to_string()));
            description.push(doc.and_then(|d| d.description.clone()));
            let tags = doc.map(|d| d.pii.join(", ")).filter(|t| !t.is_empty());
            personal.push(Some(tags.is_some()));
            pii.push(tags);
        }
    }
    let fields = vec![
        utf8("schema_name"),
        utf8("table_name"),
        utf8("column_name"),
        Field::new("ordinal_position", DataType::Int32, true),
        utf8("data_type"),
        utf8("description"),
        utf8("pii"),
        Field::new("is_personal_data", DataType::Boolean, true),
    ];
    let columns: Vec<ArrayRef> = vec![
        text(schema),
        text(name),
        text(column),
        Arc::new(Int32Array::from(ordinal)),
        text(data_type),
        text(description),
        text(pii),
        Arc::new(BooleanArray::from(personal)),
    ];
    table(fields, columns)
}

/// The joins the data dictionary declares, where the principal sees both ends: the
/// foreign keys.
fn relationships(keys: &Keys) -> Result<Arc<MemTable>> {
    let mut rows: Vec<[String; 6]> = Vec::new();
    for key in keys.all() {
        let Some(target) = keys.target(key) else {
            continue;
        };
        for ((from, _), (to, _)) in key.columns.iter().zip(&target.columns) {
            rows.push([
                key.schema.clone(),
                key.table.clone(),
                from.clone(),
                target.schema.clone(),
                target.table.clone(),
                to.clone(),
            ]);
        }
    }
    let names = [
        "schema_name",
        "table_name",
        "column_name",
        "references_schema",
        "references_table",
        "references_column",
    ];
    let columns = (0..names.len())
        .map(|i| text(rows.iter().map(|r| Some(r[i].clone())).collect()))
        .collect();
    table(names.iter().map(|n| utf8(n)).collect(), columns)
}

/// One row per partition a table reads: its path, import date, files and bytes (NULL for
/// a table the principal sees only some rows of).
fn partitions(visible: &[Visible<'_>]) -> Result<Arc<MemTable>> {
    let rows: Vec<(&LakeTable, &Partition, bool)> = visible
        .iter()
        .flat_map(|v| {
            v.table
                .partitions
                .iter()
                .map(move |p| (v.table, p, v.filtered))
        })
        .collect();
    let all = |f: &dyn Fn(&LakeTable, &Partition) -> Option<String>| -> ArrayRef {
        text(rows.iter().map(|(t, p, _)| f(t, p)).collect())
    };
    let columns: Vec<ArrayRef> = vec![
        all(&|t, _| Some(t.schema.clone())),
        all(&|t, _| Some(t.name.clone())),
        all(&|_, p| Some(p.path.clone())),
        all(&|_, p| p.date.clone()),
        Arc::new(Int64Array::from_iter(rows.iter().map(
            |(_, p, filtered)| i64::try_from(p.files).ok().filter(|_| !filtered),
        ))),
        Arc::new(Int64Array::from_iter(rows.iter().map(
            |(_, p, filtered)| i64::try_from(p.bytes).ok().filter(|_| !filtered),
        ))),
    ];
    let fields = vec![
        utf8("schema_name"),
        utf8("table_name"),
        utf8("partition"),
        utf8("import_date"),
        Field::new("file_count", DataType::Int64, true),
        Field::new("total_bytes", DataType::Int64, true),
    ];
    table(fields, columns)
}
