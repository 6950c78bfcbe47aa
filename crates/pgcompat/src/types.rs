//! `pg_type` with its function columns (`typinput`, `typreceive` …) as the OIDs of
//! `pg_proc` rows, as PostgreSQL's `regproc` holds them: Npgsql joins
//! `pg_proc.oid = pg_type.typreceive`, pgjdbc compares `typinput = 'array_in'::regproc`.
//! datafusion-pg-catalog stores the functions' names.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::error::Result;
use datafusion_pg_catalog::pg_catalog::oid_field::{kind, oid_field};

use crate::catalog::{batch, column, pairs, string};

/// The `regproc` columns of `pg_type`.
const FUNCTIONS: [&str; 7] = [
    "typinput",
    "typoutput",
    "typreceive",
    "typsend",
    "typmodin",
    "typmodout",
    "typanalyze",
];

/// `pg_type`'s schema with its function columns as OIDs.
pub fn schema(base: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = base
        .fields()
        .iter()
        .map(|f| {
            if FUNCTIONS.contains(&f.name().as_str()) {
                oid_field(f.name().clone(), kind::REGPROC, true)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, base.metadata().clone()))
}

/// The rows, each function named by its OID; `-` (none) is 0.
pub fn rows(
    schema: &SchemaRef,
    types: &[RecordBatch],
    procs: &[RecordBatch],
) -> Result<Vec<RecordBatch>> {
    let mut oids: HashMap<String, i32> = HashMap::new();
    for (oid, name) in pairs(procs, "oid", "proname")? {
        let entry = oids.entry(name).or_insert(oid);
        *entry = (*entry).min(oid);
    }
    types
        .iter()
        .map(|b| {
            let mut replaced: HashMap<&str, ArrayRef> = HashMap::new();
            for name in FUNCTIONS {
                let names = string(b, name)?;
                let values: Int32Array = names
                    .iter()
                    .map(|n| match n {
                        None | Some("-") | Some("") => Some(0),
                        Some(n) => oids.get(n).copied().or(Some(0)),
                    })
                    .collect();
                replaced.insert(name, Arc::new(values));
            }
            batch(schema, b.num_rows(), |name| {
                replaced.get(name).cloned().or_else(|| column(b, name).ok())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, StringArray};
    use datafusion::arrow::datatypes::{DataType, Int32Type};

    #[test]
    fn function_names_become_their_oids() {
        let types = RecordBatch::try_new(
            Arc::new(Schema::new(
                FUNCTIONS
                    .map(|n| Field::new(n, DataType::Utf8, true))
                    .to_vec(),
            )),
            FUNCTIONS
                .map(|_| Arc::new(StringArray::from(vec!["array_in", "-"])) as ArrayRef)
                .to_vec(),
        )
        .unwrap();
        let procs = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("oid", DataType::Int32, false),
                Field::new("proname", DataType::Utf8, false),
            ])),
            vec![
                Arc::new(Int32Array::from(vec![750])),
                Arc::new(StringArray::from(vec!["array_in"])),
            ],
        )
        .unwrap();
        let out = rows(&schema(&types.schema()), &[types], &[procs]).unwrap();
        let input = out[0].column(0).as_primitive::<Int32Type>();
        assert_eq!((input.value(0), input.value(1)), (750, 0));
    }
}
