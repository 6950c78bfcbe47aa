//! The `lakegate` schema: the data dictionary as tables (`datasets`, `columns`,
//! `relationships`), holding only what the principal's session holds.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use lakegate_lake::{LakeTable, TableKind};

/// The schema's name.
pub const SCHEMA: &str = "lakegate";

/// One table the principal sees, with the columns it sees.
pub struct Visible<'a> {
    pub table: &'a LakeTable,
    pub columns: SchemaRef,
}

/// The `lakegate` schema for these tables.
pub fn dictionary(visible: &[Visible<'_>]) -> Result<Arc<dyn SchemaProvider>> {
    let schema = MemorySchemaProvider::new();
    schema.register_table("datasets".to_string(), datasets(visible)?)?;
    schema.register_table("columns".to_string(), columns(visible)?)?;
    schema.register_table("relationships".to_string(), relationships(visible)?)?;
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
                .map(|v| i32::try_from(v.table.file_count).ok())
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

/// The joins the data dictionary declares, where the principal sees both ends.
fn relationships(visible: &[Visible<'_>]) -> Result<Arc<MemTable>> {
    let seen: BTreeSet<(String, String, String)> = visible
        .iter()
        .flat_map(|v| {
            v.columns.fields().iter().map(move |f| {
                (
                    v.table.schema.clone(),
                    v.table.name.clone(),
                    f.name().clone(),
                )
            })
        })
        .collect();
    let mut rows: Vec<[String; 6]> = Vec::new();
    for v in visible {
        let Some(sidecar) = &v.table.sidecar else {
            continue;
        };
        for relationship in &sidecar.relationships {
            let parts: Vec<&str> = relationship.references.split('.').collect();
            let (schema, table, column) = match parts.as_slice() {
                [schema, table, column] => {
                    (schema.to_string(), table.to_string(), column.to_string())
                }
                [table, column] => (
                    v.table.schema.clone(),
                    table.to_string(),
                    column.to_string(),
                ),
                _ => continue,
            };
            let from = (
                v.table.schema.clone(),
                v.table.name.clone(),
                relationship.column.clone(),
            );
            let to = (schema, table, column);
            if seen.contains(&from) && seen.contains(&to) {
                rows.push([from.0, from.1, from.2, to.0, to.1, to.2]);
            }
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
