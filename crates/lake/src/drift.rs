//! Schema drift: one table schema from many files' schemas.
//!
//! Columns are taken in order of first appearance (files are visited oldest partition
//! first, so added columns come last). Integers widen to the widest signed integer,
//! floats (and integers mixed with floats) to `Float64`; any other disagreement makes the
//! column `Utf8`, which every type casts to, and is reported. A drifting table therefore
//! always stays readable.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// A column whose files disagree on its type: every type seen, oldest file first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftConflict {
    pub column: String,
    pub types: Vec<DataType>,
}

/// The result of merging a dataset's file schemas.
#[derive(Debug, Clone)]
pub struct MergedSchema {
    /// The file columns only; partition columns are added by the table.
    pub schema: SchemaRef,
    /// Columns widened to one type all their files read as.
    pub widened: Vec<DriftConflict>,
    /// Columns that could not be widened and are served as text.
    pub conflicts: Vec<DriftConflict>,
}

/// Merges file schemas, leaving out columns that are also partition keys.
pub fn merge<'a>(
    schemas: impl IntoIterator<Item = &'a Schema>,
    partition_keys: &[String],
) -> MergedSchema {
    let mut columns: Vec<(String, Vec<DataType>)> = Vec::new();
    for schema in schemas {
        for field in schema.fields() {
            if partition_keys.iter().any(|k| k == field.name()) {
                continue;
            }
            match columns.iter_mut().find(|(name, _)| name == field.name()) {
                Some((_, types)) => {
                    if !types.contains(field.data_type()) {
                        types.push(field.data_type().clone());
                    }
                }
                None => columns.push((field.name().clone(), vec![field.data_type().clone()])),
            }
        }
    }
    let (mut widened, mut conflicts) = (Vec::new(), Vec::new());
    let fields: Vec<Field> = columns
        .into_iter()
        .map(|(name, types)| {
            let merged = widen(&types);
            if types.len() > 1 {
                let drift = DriftConflict {
                    column: name.clone(),
                    types,
                };
                match merged {
                    Some(_) => widened.push(drift),
                    None => conflicts.push(drift),
                }
            }
            Field::new(name, merged.unwrap_or(DataType::Utf8), true)
        })
        .collect();
    MergedSchema {
        schema: Arc::new(Schema::new(fields)),
        widened,
        conflicts,
    }
}

/// The one type all of `types` read safely as, if there is one.
fn widen(types: &[DataType]) -> Option<DataType> {
    let (first, rest) = types.split_first()?;
    if rest.is_empty() {
        return Some(first.clone());
    }
    if types.iter().all(is_signed_int) {
        return types.iter().max_by_key(|t| t.primitive_width()).cloned();
    }
    if types.iter().all(|t| is_signed_int(t) || t.is_floating()) {
        return Some(DataType::Float64);
    }
    None
}

fn is_signed_int(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(fields: &[(&str, DataType)]) -> Schema {
        Schema::new(
            fields
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), false))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn added_columns_come_last_and_are_nullable() {
        let old = schema(&[("pcn", DataType::Utf8), ("amount", DataType::Int32)]);
        let new = schema(&[
            ("pcn", DataType::Utf8),
            ("amount", DataType::Int64),
            ("channel", DataType::Utf8),
        ]);
        let merged = merge([&old, &new], &[]);
        let names: Vec<_> = merged
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, vec!["pcn", "amount", "channel"]);
        assert_eq!(merged.schema.field(1).data_type(), &DataType::Int64);
        assert!(merged.schema.fields().iter().all(|f| f.is_nullable()));
        assert!(merged.conflicts.is_empty());
        assert_eq!(merged.widened[0].column, "amount");
    }

    #[test]
    fn floats_widen_and_mixed_numbers_become_float64() {
        let a = schema(&[("x", DataType::Float32), ("y", DataType::Int32)]);
        let b = schema(&[("x", DataType::Float64), ("y", DataType::Float32)]);
        let merged = merge([&a, &b], &[]);
        assert_eq!(merged.schema.field(0).data_type(), &DataType::Float64);
        assert_eq!(merged.schema.field(1).data_type(), &DataType::Float64);
    }

    #[test]
    fn unmergeable_columns_are_text_and_reported() {
        let a = schema(&[("ward", DataType::Int32)]);
        let b = schema(&[("ward", DataType::Utf8)]);
        let merged = merge([&a, &b], &[]);
        assert_eq!(merged.schema.field(0).data_type(), &DataType::Utf8);
        assert_eq!(merged.conflicts.len(), 1);
        assert_eq!(merged.conflicts[0].column, "ward");
    }

    #[test]
    fn partition_keys_are_not_file_columns() {
        let a = schema(&[("import_date", DataType::Utf8), ("v", DataType::Int64)]);
        let merged = merge([&a], &["import_date".to_string()]);
        assert_eq!(merged.schema.fields().len(), 1);
    }
}
