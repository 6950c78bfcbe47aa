//! `information_schema` as PostgreSQL has it: DataFusion's tables, except that `columns`
//! names PostgreSQL types (`bigint`, `character varying`, with `udt_name`), plus the lake's
//! keys in `table_constraints`, `key_column_usage` and `referential_constraints`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::catalog::information_schema::InformationSchemaProvider;
use datafusion::catalog::{CatalogProviderList, SchemaProvider, Session, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::physical_plan::collect;

use crate::computed::{Computed, Rows};
use crate::keys::{Key, KeyKind, Keys};

/// Tables this module adds to DataFusion's.
const KEY_TABLES: [&str; 3] = [
    "table_constraints",
    "key_column_usage",
    "referential_constraints",
];

#[derive(Debug)]
pub struct InformationSchema {
    inner: InformationSchemaProvider,
    keys: Arc<Keys>,
    database: String,
}

impl InformationSchema {
    pub fn new(catalogs: Arc<dyn CatalogProviderList>, keys: Arc<Keys>, database: &str) -> Self {
        InformationSchema {
            inner: InformationSchemaProvider::new(catalogs),
            keys,
            database: database.to_string(),
        }
    }
}

#[async_trait]
impl SchemaProvider for InformationSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.inner.table_names();
        names.extend(KEY_TABLES.iter().map(|t| t.to_string()));
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let name = name.to_ascii_lowercase();
        let table = self.unshaped(&name).await?;
        Ok(table.map(|t| crate::catalog_shapes::shaped("information_schema", &name, t)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name) || KEY_TABLES.contains(&name.to_ascii_lowercase().as_str())
    }
}

impl InformationSchema {
    /// The relation as its source computes it, before it is put in PostgreSQL 15's shape.
    async fn unshaped(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(Some(match name {
            "columns" => match self.inner.table("columns").await? {
                Some(base) => Arc::new(Computed(Columns::new(base))),
                None => return Ok(None),
            },
            "table_constraints" => table_constraints(&self.keys, &self.database)?,
            "key_column_usage" => key_column_usage(&self.keys, &self.database)?,
            "referential_constraints" => referential_constraints(&self.keys, &self.database)?,
            _ => return self.inner.table(name).await,
        }))
    }
}

/// DataFusion's `columns`, with PostgreSQL's type names.
#[derive(Debug)]
struct Columns {
    base: Arc<dyn TableProvider>,
    schema: SchemaRef,
}

/// Columns PostgreSQL has that DataFusion's `columns` does not.
const EXTRA_COLUMNS: [&str; 3] = ["udt_catalog", "udt_schema", "udt_name"];

impl Columns {
    fn new(base: Arc<dyn TableProvider>) -> Columns {
        let extra = EXTRA_COLUMNS.map(|n| Arc::new(Field::new(n, DataType::Utf8, true)));
        let fields: Vec<_> = base
            .schema()
            .fields()
            .iter()
            .map(|f| match f.name().as_str() {
                // PostgreSQL's `cardinal_number`, counted from 1.
                "ordinal_position" => Arc::new(Field::new(f.name(), DataType::Int32, false)),
                _ => Arc::clone(f),
            })
            .chain(extra)
            .collect();
        Columns {
            base,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// DataFusion's rows with PostgreSQL's type names.
    fn pg_types(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let types = batch.column(batch.schema().index_of("data_type")?);
        let types = types.as_string::<i32>();
        let names: Vec<Option<(&str, &str)>> = types
            .iter()
            .map(|t| t.map(|t| pg_type_names(&t.parse().unwrap_or(DataType::Utf8))))
            .collect();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for field in self.schema.fields() {
            let name = field.name().as_str();
            let column: ArrayRef = match name {
                "data_type" => Arc::new(
                    names
                        .iter()
                        .map(|n| n.map(|n| n.0))
                        .collect::<StringArray>(),
                ),
                "udt_name" => Arc::new(
                    names
                        .iter()
                        .map(|n| n.map(|n| n.1))
                        .collect::<StringArray>(),
                ),
                "udt_catalog" => {
                    Arc::clone(batch.column(batch.schema().index_of("table_catalog")?))
                }
                // DataFusion counts columns from 0; PostgreSQL, and drivers ordering
                // columns by it, from 1.
                "ordinal_position" => {
                    let ordinal = batch.column(batch.schema().index_of(name)?);
                    let ordinal = cast(ordinal, &DataType::Int64)?;
                    let positions: Int32Array = ordinal
                        .as_primitive::<Int64Type>()
                        .iter()
                        .map(|p| p.and_then(|p| i32::try_from(p + 1).ok()))
                        .collect();
                    Arc::new(positions)
                }
                "udt_schema" => Arc::new(StringArray::from(vec![
                    Some("pg_catalog");
                    batch.num_rows()
                ])),
                _ => Arc::clone(batch.column(batch.schema().index_of(name)?)),
            };
            columns.push(column);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

#[async_trait]
impl Rows for Columns {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    async fn rows(&self, state: &dyn Session) -> Result<Vec<RecordBatch>> {
        let plan = self.base.scan(state, None, &[], None).await?;
        collect(plan, state.task_ctx())
            .await?
            .iter()
            .map(|b| self.pg_types(b))
            .collect()
    }
}

/// `(data_type, udt_name)` of the PostgreSQL type a column is sent as.
fn pg_type_names(arrow: &DataType) -> (&'static str, &'static str) {
    let udt = arrow_pg::datatypes::into_pg_type(arrow)
        .map(|t| t.name().to_string())
        .unwrap_or_default();
    match udt.as_str() {
        "bool" => ("boolean", "bool"),
        "int2" => ("smallint", "int2"),
        "int4" => ("integer", "int4"),
        "int8" => ("bigint", "int8"),
        "float4" => ("real", "float4"),
        "float8" => ("double precision", "float8"),
        "numeric" => ("numeric", "numeric"),
        "varchar" => ("character varying", "varchar"),
        "bpchar" => ("character", "bpchar"),
        "char" => ("\"char\"", "char"),
        "bytea" => ("bytea", "bytea"),
        "date" => ("date", "date"),
        "time" => ("time without time zone", "time"),
        "timestamp" => ("timestamp without time zone", "timestamp"),
        "timestamptz" => ("timestamp with time zone", "timestamptz"),
        "interval" => ("interval", "interval"),
        "json" => ("json", "json"),
        "jsonb" => ("jsonb", "jsonb"),
        "uuid" => ("uuid", "uuid"),
        name if name.starts_with('_') => ("ARRAY", "_text"),
        _ => ("text", "text"),
    }
}

fn table(names: &[&str], rows: Vec<Vec<Option<String>>>) -> Result<Arc<dyn TableProvider>> {
    let fields: Vec<Field> = names
        .iter()
        .map(|n| match *n {
            "ordinal_position" | "position_in_unique_constraint" => {
                Field::new(*n, DataType::Int32, true)
            }
            _ => Field::new(*n, DataType::Utf8, true),
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| -> ArrayRef {
            let values = rows.iter().map(|r| r[i].clone());
            match f.data_type() {
                DataType::Int32 => Arc::new(
                    values
                        .map(|v| v.and_then(|v| v.parse::<i32>().ok()))
                        .collect::<Int32Array>(),
                ),
                _ => Arc::new(values.collect::<StringArray>()),
            }
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

/// A row of text values.
fn texts(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some(v.to_string())).collect()
}

fn constraint_type(key: &Key) -> &'static str {
    match key.kind {
        KeyKind::Primary => "PRIMARY KEY",
        KeyKind::Unique => "UNIQUE",
        KeyKind::Foreign(_) => "FOREIGN KEY",
    }
}

fn table_constraints(keys: &Keys, database: &str) -> Result<Arc<dyn TableProvider>> {
    let rows = keys
        .all()
        .iter()
        .map(|k| {
            texts(&[
                database,
                &k.schema,
                &k.name,
                database,
                &k.schema,
                &k.table,
                constraint_type(k),
                "NO",
                "NO",
                "YES",
            ])
        })
        .collect();
    table(
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "constraint_type",
            "is_deferrable",
            "initially_deferred",
            "enforced",
        ],
        rows,
    )
}

fn key_column_usage(keys: &Keys, database: &str) -> Result<Arc<dyn TableProvider>> {
    let mut rows = Vec::new();
    for key in keys.all() {
        for (i, (column, _)) in key.columns.iter().enumerate() {
            let position = (i + 1).to_string();
            let referenced = keys.target(key).map(|_| position.clone());
            rows.push(vec![
                Some(database.to_string()),
                Some(key.schema.clone()),
                Some(key.name.clone()),
                Some(database.to_string()),
                Some(key.schema.clone()),
                Some(key.table.clone()),
                Some(column.clone()),
                Some(position),
                referenced,
            ]);
        }
    }
    table(
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "column_name",
            "ordinal_position",
            "position_in_unique_constraint",
        ],
        rows,
    )
}

fn referential_constraints(keys: &Keys, database: &str) -> Result<Arc<dyn TableProvider>> {
    let rows = keys
        .all()
        .iter()
        .filter_map(|k| {
            let target = keys.target(k)?;
            Some(texts(&[
                database,
                &k.schema,
                &k.name,
                database,
                &target.schema,
                &target.name,
                "NONE",
                "NO ACTION",
                "NO ACTION",
            ]))
        })
        .collect();
    table(
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "unique_constraint_catalog",
            "unique_constraint_schema",
            "unique_constraint_name",
            "match_option",
            "update_rule",
            "delete_rule",
        ],
        rows,
    )
}
