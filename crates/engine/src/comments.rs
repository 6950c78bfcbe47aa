//! The lake's catalogue entries (`_catalog.toml` descriptions) as PostgreSQL comments:
//! rows of `pg_description` for the tables and columns a principal sees, which is where
//! psql, JDBC's `REMARKS`, SQLAlchemy and BI tools read them from.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::{ExecutionPlan, collect};

/// `pg_class`'s own OID in PostgreSQL, the class of table comments, should the session's
/// `pg_class` not list itself.
const PG_CLASS_OID: i32 = 1259;

/// The comments of one table: its own, and its columns' by attribute number (from 1).
#[derive(Debug, Default, Clone)]
pub struct TableComments {
    pub table: Option<String>,
    pub columns: Vec<(i32, String)>,
}

/// Comments by (schema, table).
pub type Comments = HashMap<(String, String), TableComments>;

/// `pg_catalog` as datafusion-pg-catalog builds it, except that `pg_description` also holds
/// the lake's comments and `pg_settings` lists the settings lakegate answers.
#[derive(Debug)]
pub struct CommentedCatalog {
    inner: Arc<dyn SchemaProvider>,
    comments: Arc<Comments>,
}

impl CommentedCatalog {
    pub fn new(inner: Arc<dyn SchemaProvider>, comments: Comments) -> CommentedCatalog {
        CommentedCatalog {
            inner,
            comments: Arc::new(comments),
        }
    }
}

#[async_trait]
impl SchemaProvider for CommentedCatalog {
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let table = self.inner.table(name).await?;
        match table {
            Some(base) if name == "pg_description" => Ok(Some(Arc::new(PgDescription {
                catalog: Arc::clone(&self.inner),
                base,
                comments: Arc::clone(&self.comments),
            }))),
            Some(base) if name == "pg_settings" => {
                Ok(Some(crate::settings::pg_settings(base.as_ref())?))
            }
            other => Ok(other),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}

/// `pg_description`: the built-in rows, plus one row per commented table and column,
/// keyed by the OIDs `pg_class` gives those tables in this session.
#[derive(Debug)]
struct PgDescription {
    catalog: Arc<dyn SchemaProvider>,
    base: Arc<dyn TableProvider>,
    comments: Arc<Comments>,
}

#[async_trait]
impl TableProvider for PgDescription {
    fn schema(&self) -> SchemaRef {
        self.base.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut batches = self.rows_of("pg_description", state).await?;
        if !self.comments.is_empty() {
            batches.push(self.lake_rows(state).await?);
        }
        MemTable::try_new(self.schema(), vec![batches])?
            .scan(state, projection, filters, limit)
            .await
    }
}

impl PgDescription {
    async fn rows_of(&self, table: &str, state: &dyn Session) -> Result<Vec<RecordBatch>> {
        let provider = if table == "pg_description" {
            Arc::clone(&self.base)
        } else {
            self.catalog
                .table(table)
                .await?
                .ok_or_else(|| DataFusionError::Plan(format!("pg_catalog.{table} is missing")))?
        };
        let plan = provider.scan(state, None, &[], None).await?;
        collect(plan, state.task_ctx()).await
    }

    /// One row per comment, `(objoid, classoid, objsubid, description)`.
    async fn lake_rows(&self, state: &dyn Session) -> Result<RecordBatch> {
        let namespaces: HashMap<i32, String> = pairs(
            &self.rows_of("pg_namespace", state).await?,
            "oid",
            "nspname",
        )?
        .into_iter()
        .collect();
        let classes = self.rows_of("pg_class", state).await?;
        let (mut objoid, mut objsubid, mut text) = (Vec::new(), Vec::new(), Vec::new());
        // Drivers match `classoid = 'pg_class'::regclass`, which resolves in this session's
        // `pg_class`.
        let mut class_oid = PG_CLASS_OID;
        for batch in &classes {
            let oids = int32(batch, "oid")?;
            let names = string(batch, "relname")?;
            let spaces = int32(batch, "relnamespace")?;
            for row in 0..batch.num_rows() {
                let Some(schema) = namespaces.get(&spaces.value(row)) else {
                    continue;
                };
                if schema == "pg_catalog" && names.value(row) == "pg_class" {
                    class_oid = oids.value(row);
                }
                let key = (schema.clone(), names.value(row).to_string());
                let Some(comments) = self.comments.get(&key) else {
                    continue;
                };
                let entries = comments
                    .table
                    .iter()
                    .map(|t| (0, t))
                    .chain(comments.columns.iter().map(|(n, t)| (*n, t)));
                for (sub, comment) in entries {
                    objoid.push(oids.value(row));
                    objsubid.push(sub);
                    text.push(comment.clone());
                }
            }
        }
        let classoid = vec![class_oid; objoid.len()];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(objoid)),
            Arc::new(Int32Array::from(classoid)),
            Arc::new(Int32Array::from(objsubid)),
            Arc::new(StringArray::from(text)),
        ];
        let schema = self.schema();
        let columns = columns
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| cast(c, f.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

fn pairs(batches: &[RecordBatch], key: &str, value: &str) -> Result<Vec<(i32, String)>> {
    let mut out = Vec::new();
    for batch in batches {
        let keys = int32(batch, key)?;
        let values = string(batch, value)?;
        for row in 0..batch.num_rows() {
            out.push((keys.value(row), values.value(row).to_string()));
        }
    }
    Ok(out)
}

fn int32(batch: &RecordBatch, name: &str) -> Result<Int32Array> {
    let column = column(batch, name)?;
    let cast = cast(&column, &DataType::Int32)?;
    Ok(cast.as_primitive::<Int32Type>().clone())
}

fn string(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    let column = column(batch, name)?;
    let cast = cast(&column, &DataType::Utf8)?;
    Ok(cast.as_string::<i32>().clone())
}

fn column(batch: &RecordBatch, name: &str) -> Result<ArrayRef> {
    let index = batch.schema().index_of(name)?;
    Ok(Arc::clone(batch.column(index)))
}
