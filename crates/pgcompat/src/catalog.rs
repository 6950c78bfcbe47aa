//! `pg_catalog` as datafusion-pg-catalog builds it from the principal's tables, with the
//! principal's own connections (`pg_stat_activity`) and cursors (`pg_cursors`) and what the lake adds: its comments
//! (`pg_description`), its keys (`pg_constraint`, `pg_index`, and the keys' indexes in
//! `pg_class` and `pg_attribute`), `pg_type`'s function columns as OIDs, and the settings
//! lakegate answers (`pg_settings`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, AsArray, Int32Array, RecordBatch, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::collect;

use crate::activity::{PgCursors, StatActivity};
use crate::comments::{Comments, description_rows};
use crate::computed::{Computed, Rows};
use crate::constraints::{attribute_rows, class_rows, constraint_rows, index_rows, keyed_tables};
use crate::keys::Keys;

/// `pg_class`'s own OID in PostgreSQL, should the session's `pg_class` not list itself.
const PG_CLASS_OID: i32 = 1259;

/// The tables this module computes, and the ones it leaves to datafusion-pg-catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Derived {
    Description,
    Constraint,
    Index,
    Class,
    Attribute,
    Type,
}

impl Derived {
    fn of(name: &str) -> Option<Derived> {
        Some(match name {
            "pg_description" => Derived::Description,
            "pg_constraint" => Derived::Constraint,
            "pg_index" => Derived::Index,
            "pg_class" => Derived::Class,
            "pg_attribute" => Derived::Attribute,
            "pg_type" => Derived::Type,
            _ => return None,
        })
    }
}

/// What the derived tables are computed from.
#[derive(Debug)]
pub struct Sources {
    /// datafusion-pg-catalog's `pg_catalog`.
    inner: Arc<dyn SchemaProvider>,
    comments: Comments,
    keys: Arc<Keys>,
    /// The session's relations, read once: a session's tables never change.
    relations: OnceLock<Arc<Relations>>,
}

#[derive(Debug)]
pub struct LakeCatalog {
    sources: Arc<Sources>,
    activity: Arc<Computed<StatActivity>>,
    cursors: Arc<Computed<PgCursors>>,
}

impl LakeCatalog {
    pub fn new(
        inner: Arc<dyn SchemaProvider>,
        comments: Comments,
        keys: Arc<Keys>,
        activity: StatActivity,
    ) -> Self {
        let cursors = PgCursors {
            activity: Arc::clone(&activity.activity),
            subject: activity.subject.clone(),
        };
        LakeCatalog {
            sources: Arc::new(Sources {
                inner,
                comments,
                keys,
                relations: OnceLock::new(),
            }),
            activity: Arc::new(Computed(activity)),
            cursors: Arc::new(Computed(cursors)),
        }
    }
}

/// Tables datafusion-pg-catalog (as vendored) lists and leaves to us.
const STAT_ACTIVITY: &str = "pg_stat_activity";
const CURSORS: &str = "pg_cursors";

#[async_trait]
impl SchemaProvider for LakeCatalog {
    fn table_names(&self) -> Vec<String> {
        self.sources.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let table = self.unshaped(name).await?;
        Ok(table.map(|t| crate::catalog_shapes::shaped("pg_catalog", name, t)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.sources.inner.table_exist(name)
    }
}

impl LakeCatalog {
    /// The relation as its source computes it, before it is put in PostgreSQL 15's shape.
    async fn unshaped(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if name == STAT_ACTIVITY {
            return Ok(Some(Arc::clone(&self.activity) as Arc<dyn TableProvider>));
        }
        if name == CURSORS {
            return Ok(Some(Arc::clone(&self.cursors) as Arc<dyn TableProvider>));
        }
        let Some(base) = self.sources.inner.table(name).await? else {
            return Ok(None);
        };
        if name == "pg_settings" {
            return Ok(Some(crate::pg_settings::pg_settings(base.as_ref())?));
        }
        let Some(derived) = Derived::of(name) else {
            return Ok(Some(base));
        };
        let schema = match derived {
            Derived::Constraint | Derived::Index => crate::constraints::schema(&base.schema()),
            Derived::Class => crate::constraints::class_schema(&base.schema()),
            Derived::Type => crate::types::schema(&base.schema()),
            _ => base.schema(),
        };
        Ok(Some(Arc::new(Computed(DerivedTable {
            sources: Arc::clone(&self.sources),
            derived,
            schema,
        }))))
    }
}

/// A catalog table computed at scan time from the session's own `pg_class`, so the OIDs
/// it names are the ones every other catalog table shows.
#[derive(Debug)]
struct DerivedTable {
    sources: Arc<Sources>,
    derived: Derived,
    schema: SchemaRef,
}

#[async_trait]
impl Rows for DerivedTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    async fn rows(&self, state: &dyn Session) -> Result<Vec<RecordBatch>> {
        let sources = &self.sources;
        if self.derived == Derived::Type {
            let types = sources.rows("pg_type", state).await?;
            let procs = sources.rows("pg_proc", state).await?;
            return crate::types::rows(&self.schema, &types, &procs);
        }
        // Every other derived table names relations by their OIDs in this session.
        let relations = sources.relations(state).await?;
        let keys = sources.keys.as_ref();
        let schema = &self.schema;
        Ok(match self.derived {
            Derived::Description => {
                let mut rows = sources.rows("pg_description", state).await?;
                rows.push(description_rows(schema, &relations, &sources.comments)?);
                rows
            }
            Derived::Constraint => vec![constraint_rows(schema, &relations, keys)?],
            Derived::Index => vec![index_rows(schema, &relations, keys)?],
            Derived::Class => {
                let mut rows = relations
                    .classes
                    .iter()
                    .map(|b| keyed_tables(b, &relations, keys))
                    .collect::<Result<Vec<_>>>()?;
                rows.push(class_rows(&relations, keys)?);
                rows.iter()
                    .map(|b| batch(schema, b.num_rows(), |name| column(b, name).ok()))
                    .collect::<Result<_>>()?
            }
            Derived::Attribute => {
                let mut rows = sources.rows("pg_attribute", state).await?;
                let extra = attribute_rows(&rows, &relations, keys)?;
                rows.push(extra);
                rows
            }
            Derived::Type => Vec::new(),
        })
    }
}

impl Sources {
    async fn relations(&self, state: &dyn Session) -> Result<Arc<Relations>> {
        if let Some(read) = self.relations.get() {
            return Ok(Arc::clone(read));
        }
        let read = Arc::new(Relations::read(self, state).await?);
        Ok(Arc::clone(self.relations.get_or_init(|| read)))
    }

    /// The rows of one of datafusion-pg-catalog's tables.
    async fn rows(&self, table: &str, state: &dyn Session) -> Result<Vec<RecordBatch>> {
        let provider = self
            .inner
            .table(table)
            .await?
            .ok_or_else(|| DataFusionError::Plan(format!("pg_catalog.{table} is missing")))?;
        let plan = provider.scan(state, None, &[], None).await?;
        collect(plan, state.task_ctx()).await
    }
}

/// The session's relations: `pg_class` rows and the OIDs of tables by schema and name.
#[derive(Debug)]
pub struct Relations {
    pub classes: Vec<RecordBatch>,
    /// `(schema, table)` → (class OID, namespace OID).
    pub oids: HashMap<(String, String), (i32, i32)>,
    /// Where each class is: (batch, row) by OID.
    pub rows: HashMap<i32, (usize, usize)>,
    /// The OID of `pg_class` itself, the class of table comments.
    pub pg_class: i32,
}

impl Relations {
    async fn read(sources: &Sources, state: &dyn Session) -> Result<Relations> {
        let namespaces: HashMap<i32, String> = pairs(
            &sources.rows("pg_namespace", state).await?,
            "oid",
            "nspname",
        )?
        .into_iter()
        .collect();
        let classes = sources.rows("pg_class", state).await?;
        let mut relations = Relations {
            classes: Vec::new(),
            oids: HashMap::new(),
            rows: HashMap::new(),
            pg_class: PG_CLASS_OID,
        };
        for (b, batch) in classes.iter().enumerate() {
            let oids = int32(batch, "oid")?;
            let names = string(batch, "relname")?;
            let spaces = int32(batch, "relnamespace")?;
            for row in 0..batch.num_rows() {
                let Some(schema) = namespaces.get(&spaces.value(row)) else {
                    continue;
                };
                let name = names.value(row).to_string();
                if schema == "pg_catalog" && name == "pg_class" {
                    relations.pg_class = oids.value(row);
                }
                relations.rows.insert(oids.value(row), (b, row));
                relations
                    .oids
                    .insert((schema.clone(), name), (oids.value(row), spaces.value(row)));
            }
        }
        relations.classes = classes;
        Ok(relations)
    }

    /// A table's (class OID, namespace OID).
    pub fn of(&self, schema: &str, table: &str) -> Option<(i32, i32)> {
        self.oids
            .get(&(schema.to_string(), table.to_string()))
            .copied()
    }
}

/// A batch of `schema` whose columns come from `column` by name, cast to the field's type;
/// columns it does not give are NULL.
pub fn batch(
    schema: &SchemaRef,
    rows: usize,
    column: impl Fn(&str) -> Option<ArrayRef>,
) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| match column(f.name()) {
            Some(values) => Ok(cast(&values, f.data_type())?),
            None => Ok(new_null_array(f.data_type(), rows)),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

pub fn pairs(batches: &[RecordBatch], key: &str, value: &str) -> Result<Vec<(i32, String)>> {
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

pub fn int32(batch: &RecordBatch, name: &str) -> Result<Int32Array> {
    let column = column(batch, name)?;
    let cast = cast(&column, &DataType::Int32)?;
    Ok(cast.as_primitive::<Int32Type>().clone())
}

pub fn string(batch: &RecordBatch, name: &str) -> Result<datafusion::arrow::array::StringArray> {
    let column = column(batch, name)?;
    let cast = cast(&column, &DataType::Utf8)?;
    Ok(cast.as_string::<i32>().clone())
}

pub fn column(batch: &RecordBatch, name: &str) -> Result<ArrayRef> {
    let index = batch.schema().index_of(name)?;
    Ok(Arc::clone(batch.column(index)))
}
