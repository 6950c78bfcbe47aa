//! The lake's catalogue entries (`_catalog.toml` descriptions) as PostgreSQL comments:
//! rows of `pg_description` for the tables and columns a principal sees, which is where
//! psql, JDBC's `REMARKS`, SQLAlchemy and BI tools read them from.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::Result;

use crate::catalog::{Relations, batch};

/// The comments of one table: its own, and its columns' by attribute number (from 1).
#[derive(Debug, Default, Clone)]
pub struct TableComments {
    pub table: Option<String>,
    pub columns: Vec<(i32, String)>,
}

/// Comments by (schema, table).
pub type Comments = HashMap<(String, String), TableComments>;

/// One `pg_description` row per comment, `(objoid, classoid, objsubid, description)`,
/// keyed by the OIDs `pg_class` gives those tables in this session. Drivers match
/// `classoid = 'pg_class'::regclass`, which also resolves in this session's `pg_class`.
pub fn description_rows(
    schema: &SchemaRef,
    relations: &Relations,
    comments: &Comments,
) -> Result<RecordBatch> {
    let (mut objoid, mut objsubid, mut text) = (Vec::new(), Vec::new(), Vec::new());
    for ((table_schema, table), entry) in comments {
        let Some((oid, _)) = relations.of(table_schema, table) else {
            continue;
        };
        let entries = entry
            .table
            .iter()
            .map(|t| (0, t))
            .chain(entry.columns.iter().map(|(n, t)| (*n, t)));
        for (sub, comment) in entries {
            objoid.push(oid);
            objsubid.push(sub);
            text.push(comment.clone());
        }
    }
    let rows = objoid.len();
    let classoid = vec![relations.pg_class; rows];
    let objoid: ArrayRef = Arc::new(Int32Array::from(objoid));
    let classoid: ArrayRef = Arc::new(Int32Array::from(classoid));
    let objsubid: ArrayRef = Arc::new(Int32Array::from(objsubid));
    let text: ArrayRef = Arc::new(StringArray::from(text));
    batch(schema, rows, |name| match name {
        "objoid" => Some(Arc::clone(&objoid)),
        "classoid" => Some(Arc::clone(&classoid)),
        "objsubid" => Some(Arc::clone(&objsubid)),
        "description" => Some(Arc::clone(&text)),
        _ => None,
    })
}
