//! Result columns as PostgreSQL clients expect them, where the engine's types or names
//! differ:
//! - `int2vector` columns (`pg_index.indkey`) are arrays in the engine, so they can be
//!   subscripted and unnested; clients read them as space-separated text (`1 2`), which
//!   psqlODBC parses, typed `int2vector`.
//! - Unsigned 64-bit counts (`row_number()`) are `bigint`, as PostgreSQL types them.
//! - JSON text (`json_build_object`) is `json`.
//! - OIDs typed `regclass`, `regtype` … (PostgreSQL writes those as names) are `oid`.
//! - Decimals with a negative scale (1 × 10³ as scale -3), which `numeric` cannot express
//!   and the encoders would expand without bound, have scale 0.

use std::sync::Arc;

use arrow_pg::datatypes::{PG_CHAR_KEY, PG_OID_ALIAS_KEY, arrow_schema_to_pg_fields};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::error::PgWireResult;
use pgwire::types::format::FormatOptions;

use lakegate_gateway::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use lakegate_gateway::arrow::compute::cast;
use lakegate_gateway::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use lakegate_gateway::arrow::error::ArrowError;
use lakegate_gateway::arrow::record_batch::RecordBatch;
use lakegate_gateway::{Origin, VECTOR};

/// Row description fields, with each column's table OID and attribute number where it
/// has them.
pub fn fields(
    schema: &Schema,
    origins: &[Origin],
    format: &Format,
    options: Option<Arc<FormatOptions>>,
) -> PgWireResult<Vec<FieldInfo>> {
    let fields = arrow_schema_to_pg_fields(&self::schema(schema), format, options)?;
    Ok(fields
        .into_iter()
        .zip(schema.fields())
        .enumerate()
        .map(|(i, (info, field))| {
            let origin = origins.get(i).copied().flatten();
            // A cast keeps the field's metadata, but not the type it was true of.
            let catalogue = (field.metadata().get(lakegate_gateway::PG_TYPE))
                .and_then(|name| catalogue_type(name, field.data_type()));
            let datatype = if let Some(datatype) = catalogue {
                datatype
            } else if is_vector(field) {
                Type::INT2_VECTOR
            } else if field.extension_type_name() == Some(JSON) {
                Type::JSON
            } else if REGISTERED.contains(info.datatype()) {
                Type::OID
            } else {
                info.datatype().clone()
            };
            let options = Arc::clone(info.format_options());
            // A table's numeric column is `numeric(p,s)`; an expression's is unconstrained
            // (-1), as PostgreSQL describes them.
            let typmod = match origin {
                Some(_) => numeric_typmod(field.data_type()),
                None => -1,
            };
            FieldInfo::new(
                info.name().to_string(),
                origin.map(|(table, _)| table),
                origin.map(|(_, column)| column),
                datatype,
                info.format(),
            )
            .with_format_options(options)
            .with_type_modifier(typmod)
        })
        .collect())
}

/// The PostgreSQL type a catalogue column is described with (`lakegate_pgcompat::PG_TYPE`),
/// while its values are still the Arrow type whose bytes that type's are.
fn catalogue_type(name: &str, data_type: &DataType) -> Option<Type> {
    Some(match (name, data_type) {
        ("name", DataType::Utf8) => Type::NAME,
        ("varchar", DataType::Utf8) => Type::VARCHAR,
        ("pg_node_tree", DataType::Utf8) => Type::PG_NODE_TREE,
        ("xid", DataType::Int32) => Type::XID,
        ("cid", DataType::Int32) => Type::CID,
        _ => return None,
    })
}

/// `numeric(p,s)`'s type modifier, `((p << 16) | s) + 4` (PostgreSQL's `make_numeric_typmod`);
/// -1 for other types.
fn numeric_typmod(data_type: &DataType) -> i32 {
    match data_type {
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) if *s >= 0 => {
            ((i32::from(*p) << 16) | i32::from(*s)) + 4
        }
        _ => -1,
    }
}

/// OID alias types: PostgreSQL writes their values as names, the engine holds the OIDs,
/// which are sent, and typed, as `oid`.
const REGISTERED: [Type; 6] = [
    Type::REGCLASS,
    Type::REGTYPE,
    Type::REGPROC,
    Type::REGNAMESPACE,
    Type::REGPROCEDURE,
    Type::REGROLE,
];

/// Arrow's extension name for JSON text.
const JSON: &str = "arrow.json";

fn is_vector(field: &Field) -> bool {
    field.metadata().contains_key(VECTOR) && matches!(field.data_type(), DataType::List(_))
}

/// The schema as sent: vectors are text, unsigned counts signed.
pub fn schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match sent_type(f) {
            Some(t) => Field::new(f.name(), t, f.is_nullable()),
            None => without_stale_types(f),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `field` without the catalogue's type markers (`oid` on `Int32`; `reg…` on `Int32` or on
/// the name as text; `"char"` on text) once a cast has changed the type they were true of:
/// DataFusion keeps a field's metadata through casts, and `oid::int8` is a `bigint`.
fn without_stale_types(field: &Field) -> Field {
    let stale = |key: &str, fits: bool| field.metadata().contains_key(key) && !fits;
    let data_type = field.data_type();
    let alias = field.metadata().get(PG_OID_ALIAS_KEY).map(String::as_str);
    let oid = stale(
        PG_OID_ALIAS_KEY,
        matches!(data_type, DataType::Int32)
            || (matches!(data_type, DataType::Utf8) && alias != Some("oid")),
    );
    let char = stale(PG_CHAR_KEY, matches!(data_type, DataType::Utf8));
    if !oid && !char {
        return field.clone();
    }
    let mut metadata = field.metadata().clone();
    metadata.retain(|key, _| key != PG_OID_ALIAS_KEY && key != PG_CHAR_KEY);
    field.clone().with_metadata(metadata)
}

/// The type a column is sent as, where it is not its own.
fn sent_type(field: &Field) -> Option<DataType> {
    match field.data_type() {
        _ if is_vector(field) => Some(DataType::Utf8),
        DataType::UInt64 => Some(DataType::Int64),
        // An untyped NULL is `text`, as PostgreSQL resolves an unknown output column; other
        // string layouts are text too, written by the same encoder as all text.
        DataType::Null | DataType::LargeUtf8 | DataType::Utf8View => Some(DataType::Utf8),
        DataType::Decimal128(precision, scale) if *scale < 0 => Some(DataType::Decimal128(
            precision.saturating_add(scale.unsigned_abs()).min(38),
            0,
        )),
        _ => None,
    }
}

/// The batch as sent.
pub fn batch(batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
    if batch
        .schema()
        .fields()
        .iter()
        .all(|f| sent_type(f).is_none())
    {
        return Ok(batch);
    }
    let columns = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| match sent_type(field) {
            Some(_) if is_vector(field) => text(column),
            Some(t) => cast(column, &t),
            None => Ok(Arc::clone(column)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema(&batch.schema()), columns)
}

fn text(column: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let lists = column.as_list::<i32>();
    let mut out = Vec::with_capacity(lists.len());
    for row in 0..lists.len() {
        if lists.is_null(row) {
            out.push(None);
            continue;
        }
        let values = cast(&lists.value(row), &DataType::Utf8)?;
        let values = values.as_string::<i32>();
        let words: Vec<&str> = values.iter().map(|v| v.unwrap_or("0")).collect();
        out.push(Some(words.join(" ")));
    }
    Ok(Arc::new(StringArray::from(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lakegate_gateway::arrow::array::{Int16Builder, ListBuilder};

    #[test]
    fn vectors_are_sent_as_space_separated_numbers() {
        let mut builder = ListBuilder::new(Int16Builder::new());
        builder.append_value([Some(1), Some(3)]);
        builder.append_null();
        let field = Field::new("indkey", DataType::new_list(DataType::Int16, true), true)
            .with_metadata([(VECTOR.to_string(), "true".to_string())].into());
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![field])),
            vec![Arc::new(builder.finish())],
        )
        .unwrap();
        let sent = super::batch(batch).unwrap();
        let text = sent.column(0).as_string::<i32>();
        assert_eq!(text.value(0), "1 3");
        assert!(text.is_null(1));
    }
}
