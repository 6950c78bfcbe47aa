//! `int2vector` columns (`pg_index.indkey`) are arrays in the engine, so they can be
//! subscripted and unnested; PostgreSQL clients read them as space-separated text (`1 2`),
//! which psqlODBC parses. They are turned into that text here, at the wire.

use std::sync::Arc;

use arrow_pg::datatypes::arrow_schema_to_pg_fields;
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::error::PgWireResult;
use pgwire::types::format::FormatOptions;

use lakegate_gateway::VECTOR;
use lakegate_gateway::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use lakegate_gateway::arrow::compute::cast;
use lakegate_gateway::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use lakegate_gateway::arrow::error::ArrowError;
use lakegate_gateway::arrow::record_batch::RecordBatch;

/// Row description fields: vectors are `int2vector`, everything else as arrow-pg types it.
pub fn fields(
    schema: &Schema,
    format: &Format,
    options: Option<Arc<FormatOptions>>,
) -> PgWireResult<Vec<FieldInfo>> {
    let fields = arrow_schema_to_pg_fields(&self::schema(schema), format, options)?;
    Ok(fields
        .into_iter()
        .zip(schema.fields())
        .map(|(info, field)| {
            if !is_vector(field) {
                return info;
            }
            let options = Arc::clone(info.format_options());
            FieldInfo::new(
                info.name().to_string(),
                None,
                None,
                Type::INT2_VECTOR,
                info.format(),
            )
            .with_format_options(options)
        })
        .collect())
}

fn is_vector(field: &Field) -> bool {
    field.metadata().contains_key(VECTOR) && matches!(field.data_type(), DataType::List(_))
}

/// The schema as sent: vectors are text.
pub fn schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if is_vector(f) {
                Field::new(f.name(), DataType::Utf8, f.is_nullable())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The batch as sent.
pub fn batch(batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
    if !batch.schema().fields().iter().any(|f| is_vector(f)) {
        return Ok(batch);
    }
    let columns = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            if is_vector(field) {
                text(column)
            } else {
                Ok(Arc::clone(column))
            }
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
