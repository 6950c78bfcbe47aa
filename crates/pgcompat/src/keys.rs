//! The keys the data dictionary declares, as PostgreSQL constraints: a dataset's
//! `primary_key`, and each relationship as a foreign key onto a key of the table it
//! references. BI tools read them from `pg_constraint` and `pg_index` (JDBC's
//! `getPrimaryKeys`/`getImportedKeys`, SQLAlchemy's `get_foreign_keys`) and propose the
//! joins by themselves. Only keys whose every column the principal sees exist.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::dictionary::Visible;

/// Constraint and index OIDs are numbered from here, above those `pg_class` hands out.
const FIRST_OID: i32 = 1_900_000_000;

/// What a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Primary,
    /// The columns a relationship references, where they are not the primary key.
    Unique,
    /// References the key at this position of [`Keys::all`].
    Foreign(usize),
}

/// One constraint. Primary and unique keys have an index of their own.
#[derive(Debug, Clone)]
pub struct Key {
    pub oid: i32,
    pub index_oid: i32,
    pub name: String,
    pub kind: KeyKind,
    pub schema: String,
    pub table: String,
    /// Column names with their attribute numbers in the principal's view of the table.
    pub columns: Vec<(String, i16)>,
}

impl Key {
    /// `contype` in `pg_constraint`.
    pub fn contype(&self) -> &'static str {
        match self.kind {
            KeyKind::Primary => "p",
            KeyKind::Unique => "u",
            KeyKind::Foreign(_) => "f",
        }
    }

    pub fn attnums(&self) -> Vec<i16> {
        self.columns.iter().map(|(_, n)| *n).collect()
    }

    fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(c, _)| c.as_str()).collect();
        names.join(", ")
    }
}

/// Every key of a principal's session.
#[derive(Debug, Default)]
pub struct Keys {
    all: Vec<Key>,
}

impl Keys {
    pub fn new(visible: &[Visible<'_>]) -> Keys {
        let mut keys = Keys::default();
        for v in visible {
            let Some(sidecar) = &v.table.sidecar else {
                continue;
            };
            if let Some(columns) = attnums(v, &sidecar.primary_key) {
                let name = format!("{}_pkey", v.table.name);
                keys.push(name, KeyKind::Primary, v, columns);
            }
        }
        for v in visible {
            let Some(sidecar) = &v.table.sidecar else {
                continue;
            };
            for relationship in &sidecar.relationships {
                let Some((schema, table, column)) = relationship.target(&v.table.schema) else {
                    continue;
                };
                let Some(from) = attnums(v, std::slice::from_ref(&relationship.column)) else {
                    continue;
                };
                let Some(to) = visible
                    .iter()
                    .find(|t| t.table.schema == schema && t.table.name == table)
                else {
                    continue;
                };
                let Some(target) = keys.key_on(to, &column) else {
                    continue;
                };
                let name = format!("{}_{}_fkey", v.table.name, relationship.column);
                keys.push(name, KeyKind::Foreign(target), v, from);
            }
        }
        keys
    }

    pub fn all(&self) -> &[Key] {
        &self.all
    }

    /// The key a foreign key references.
    pub fn target(&self, key: &Key) -> Option<&Key> {
        match key.kind {
            KeyKind::Foreign(target) => self.all.get(target),
            _ => None,
        }
    }

    /// Keys with an index of their own (primary and unique).
    pub fn indexed(&self) -> impl Iterator<Item = &Key> {
        self.all
            .iter()
            .filter(|k| !matches!(k.kind, KeyKind::Foreign(_)))
    }

    /// The position of the primary or unique key on exactly `column` of `table`, made
    /// unique if the table declares no such key.
    fn key_on(&mut self, table: &Visible<'_>, column: &str) -> Option<usize> {
        let columns = attnums(table, &[column.to_string()])?;
        let existing = self.all.iter().position(|k| {
            k.schema == table.table.schema
                && k.table == table.table.name
                && !matches!(k.kind, KeyKind::Foreign(_))
                && k.columns == columns
        });
        if existing.is_some() {
            return existing;
        }
        let name = format!("{}_{column}_key", table.table.name);
        Some(self.push(name, KeyKind::Unique, table, columns))
    }

    fn push(
        &mut self,
        name: String,
        kind: KeyKind,
        table: &Visible<'_>,
        columns: Vec<(String, i16)>,
    ) -> usize {
        let position = self.all.len();
        let first = FIRST_OID.saturating_add(i32::try_from(position * 2).unwrap_or(i32::MAX));
        self.all.push(Key {
            oid: first,
            index_oid: first.saturating_add(1),
            name,
            kind,
            schema: table.table.schema.clone(),
            table: table.table.name.clone(),
            columns,
        });
        position
    }

    /// `pg_get_constraintdef(oid)`, as PostgreSQL prints it.
    fn constraint_definition(&self, oid: i32) -> Option<String> {
        let key = self.all.iter().find(|k| k.oid == oid)?;
        Some(match key.kind {
            KeyKind::Primary => format!("PRIMARY KEY ({})", key.column_list()),
            KeyKind::Unique => format!("UNIQUE ({})", key.column_list()),
            KeyKind::Foreign(_) => {
                let target = self.target(key)?;
                format!(
                    "FOREIGN KEY ({}) REFERENCES {}.{}({})",
                    key.column_list(),
                    target.schema,
                    target.table,
                    target.column_list()
                )
            }
        })
    }

    /// `pg_get_indexdef(oid)`, or with a column number from 1, that column's name.
    fn index_definition(&self, oid: i32, column: i32) -> Option<String> {
        let key = self.indexed().find(|k| k.index_oid == oid)?;
        if column > 0 {
            let index = usize::try_from(column - 1).ok()?;
            return key.columns.get(index).map(|(c, _)| c.clone());
        }
        Some(format!(
            "CREATE UNIQUE INDEX {} ON {}.{} USING btree ({})",
            key.name,
            key.schema,
            key.table,
            key.column_list()
        ))
    }

    /// `pg_get_constraintdef` and `pg_get_indexdef` over these keys.
    pub fn udfs(self: &Arc<Self>) -> Vec<ScalarUDF> {
        [Definition::Constraint, Definition::Index]
            .into_iter()
            .map(|kind| {
                ScalarUDF::new_from_impl(DefinitionUdf {
                    keys: Arc::clone(self),
                    kind,
                    signature: Signature::variadic_any(Volatility::Stable),
                })
            })
            .collect()
    }
}

/// The columns' attribute numbers in the principal's view; `None` if any is hidden or the
/// list is empty.
fn attnums(table: &Visible<'_>, columns: &[String]) -> Option<Vec<(String, i16)>> {
    if columns.is_empty() {
        return None;
    }
    columns
        .iter()
        .map(|c| {
            let position = table.columns.index_of(c).ok()?;
            Some((c.clone(), i16::try_from(position + 1).ok()?))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Definition {
    Constraint,
    Index,
}

#[derive(Debug)]
struct DefinitionUdf {
    keys: Arc<Keys>,
    kind: Definition,
    signature: Signature,
}

impl PartialEq for DefinitionUdf {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.keys, &other.keys) && self.kind == other.kind
    }
}

impl Eq for DefinitionUdf {}

impl std::hash::Hash for DefinitionUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
    }
}

impl ScalarUDFImpl for DefinitionUdf {
    fn name(&self) -> &str {
        match self.kind {
            Definition::Constraint => "pg_get_constraintdef",
            Definition::Index => "pg_get_indexdef",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    /// `(oid [, pretty])` for constraints, `(oid [, column, pretty])` for indexes.
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let ints = |i: usize| -> Result<Option<ArrayRef>> {
            let Some(arg) = args.args.get(i) else {
                return Ok(None);
            };
            Ok(Some(cast(&arg.to_array(rows)?, &DataType::Int32)?))
        };
        let oids = ints(0)?.unwrap_or_else(|| Arc::new(StringArray::new_null(rows)));
        let oids = cast(&oids, &DataType::Int32)?;
        let oids = oids.as_primitive::<Int32Type>();
        let columns = match self.kind {
            Definition::Index => ints(1)?,
            Definition::Constraint => None,
        };
        let out: StringArray = (0..rows)
            .map(|row| {
                if oids.is_null(row) {
                    return None;
                }
                let oid = oids.value(row);
                match self.kind {
                    Definition::Constraint => self.keys.constraint_definition(oid),
                    Definition::Index => {
                        let column = columns
                            .as_ref()
                            .map(|c| c.as_primitive::<Int32Type>())
                            .filter(|c| c.is_valid(row))
                            .map_or(0, |c| c.value(row));
                        self.keys.index_definition(oid, column)
                    }
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
