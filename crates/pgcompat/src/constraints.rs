//! The lake's keys as catalog rows: `pg_constraint` and `pg_index` hold exactly the
//! principal's keys, and each primary or unique key's index is a relation of its own in
//! `pg_class` and `pg_attribute`, as drivers join them (`pg_index.indexrelid = pg_class.oid`,
//! `pg_attribute.attrelid = pg_index.indexrelid`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Int16Array, Int16Builder, Int32Array, Int32Builder,
    ListBuilder, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{concat_batches, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::Result;

use crate::catalog::{Relations, batch, column, int32};
use crate::keys::{Key, KeyKind, Keys};

/// B-tree, the access method PostgreSQL gives key indexes.
const BTREE: i32 = 403;

/// Array columns of `pg_constraint` and `pg_index` that datafusion-pg-catalog stores as
/// text: here they are arrays, so `conkey[n]` and `unnest(indkey)` work.
const ARRAYS: &[(&str, DataType)] = &[
    ("conkey", DataType::Int16),
    ("confkey", DataType::Int16),
    ("indkey", DataType::Int16),
    ("indoption", DataType::Int16),
    ("indcollation", DataType::Int32),
    ("indclass", DataType::Int32),
];

/// Field metadata marking an `int2vector` or `oidvector` column: an array here, which
/// PostgreSQL clients read as space-separated text (`1 2`).
pub const VECTOR: &str = "lakegate.pg_vector";

/// The base table's schema with its key-column arrays typed as arrays.
pub fn schema(base: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = base
        .fields()
        .iter()
        .map(|f| match ARRAYS.iter().find(|(name, _)| name == f.name()) {
            Some((name, item)) => {
                let field = Field::new(
                    f.name(),
                    DataType::new_list(item.clone(), true),
                    f.is_nullable(),
                );
                if name.starts_with("ind") {
                    field.with_metadata([(VECTOR.to_string(), "true".to_string())].into())
                } else {
                    field
                }
            }
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, base.metadata().clone()))
}

/// `pg_class` with the columns drivers read that datafusion-pg-catalog leaves out, NULL.
pub fn class_schema(base: &SchemaRef) -> SchemaRef {
    let text_array = DataType::new_list(DataType::Utf8, true);
    let extra = ["reloptions", "relacl"]
        .into_iter()
        .filter(|name| base.index_of(name).is_err())
        .map(|name| Arc::new(Field::new(name, text_array.clone(), true)));
    let fields: Vec<_> = base.fields().iter().cloned().chain(extra).collect();
    Arc::new(Schema::new_with_metadata(fields, base.metadata().clone()))
}

fn int16_lists(lists: impl Iterator<Item = Option<Vec<i16>>>) -> ArrayRef {
    let mut builder = ListBuilder::new(Int16Builder::new());
    for list in lists {
        match list {
            Some(values) => builder.append_value(values.into_iter().map(Some)),
            None => builder.append_null(),
        }
    }
    Arc::new(builder.finish())
}

fn int32_lists(lists: impl Iterator<Item = Vec<i32>>) -> ArrayRef {
    let mut builder = ListBuilder::new(Int32Builder::new());
    for list in lists {
        builder.append_value(list.into_iter().map(Some));
    }
    Arc::new(builder.finish())
}

fn ints(values: impl Iterator<Item = i32>) -> ArrayRef {
    Arc::new(values.collect::<Int32Array>())
}

fn texts<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(values.map(Some).collect::<StringArray>())
}

fn flags(values: impl Iterator<Item = bool>) -> ArrayRef {
    Arc::new(values.map(Some).collect::<BooleanArray>())
}

/// A key, its table's (class OID, namespace OID), and the referenced table's class OID.
type Placed<'a> = (&'a Key, (i32, i32), i32);

/// Keys whose tables (and, for foreign keys, referenced tables) are in `pg_class`.
fn placed<'a>(relations: &Relations, keys: &'a Keys) -> Vec<Placed<'a>> {
    keys.all()
        .iter()
        .filter_map(|key| {
            let own = relations.of(&key.schema, &key.table)?;
            let referenced = match keys.target(key) {
                Some(target) => relations.of(&target.schema, &target.table)?.0,
                None => 0,
            };
            Some((key, own, referenced))
        })
        .collect()
}

/// One `pg_constraint` row per key.
pub fn constraint_rows(
    schema: &SchemaRef,
    relations: &Relations,
    keys: &Keys,
) -> Result<RecordBatch> {
    let rows = placed(relations, keys);
    let all = |f: &dyn Fn(Placed<'_>) -> i32| ints(rows.iter().map(|p| f(*p)));
    let foreign = |k: &Key| matches!(k.kind, KeyKind::Foreign(_));
    let action = texts(
        rows.iter()
            .map(|(k, _, _)| if foreign(k) { "a" } else { " " }),
    );
    let matching = texts(
        rows.iter()
            .map(|(k, _, _)| if foreign(k) { "s" } else { " " }),
    );
    let index_of = |k: &Key| keys.target(k).map_or(k.index_oid, |t| t.index_oid);
    batch(schema, rows.len(), |name| {
        Some(match name {
            "oid" => all(&|(k, _, _)| k.oid),
            "conname" => texts(rows.iter().map(|(k, _, _)| k.name.as_str())),
            "connamespace" => all(&|(_, own, _)| own.1),
            "contype" => texts(rows.iter().map(|(k, _, _)| k.contype())),
            "condeferrable" | "condeferred" | "conislocal" | "connoinherit" | "convalidated" => {
                let value = !matches!(name, "condeferrable" | "condeferred");
                flags(rows.iter().map(|_| value))
            }
            "conrelid" => all(&|(_, own, _)| own.0),
            "conindid" => all(&|(k, _, _)| index_of(k)),
            "confrelid" => all(&|(_, _, referenced)| referenced),
            "contypid" | "conparentid" | "coninhcount" => all(&|_| 0),
            "confupdtype" | "confdeltype" => Arc::clone(&action),
            "confmatchtype" => Arc::clone(&matching),
            "conkey" => int16_lists(rows.iter().map(|(k, _, _)| Some(k.attnums()))),
            "confkey" => int16_lists(
                rows.iter()
                    .map(|(k, _, _)| keys.target(k).map(Key::attnums)),
            ),
            _ => return None,
        })
    })
}

/// Primary and unique keys whose tables are in `pg_class`, with the table's OIDs.
fn indexed<'a>(relations: &Relations, keys: &'a Keys) -> Vec<(&'a Key, (i32, i32))> {
    keys.indexed()
        .filter_map(|key| Some((key, relations.of(&key.schema, &key.table)?)))
        .collect()
}

/// One `pg_index` row per primary or unique key.
pub fn index_rows(schema: &SchemaRef, relations: &Relations, keys: &Keys) -> Result<RecordBatch> {
    let rows = indexed(relations, keys);
    let width = |k: &Key| i32::try_from(k.columns.len()).unwrap_or(i32::MAX);
    batch(schema, rows.len(), |name| {
        Some(match name {
            "indexrelid" => ints(rows.iter().map(|(k, _)| k.index_oid)),
            "indrelid" => ints(rows.iter().map(|(_, own)| own.0)),
            "indnatts" | "indnkeyatts" => ints(rows.iter().map(|(k, _)| width(k))),
            "indisprimary" => flags(rows.iter().map(|(k, _)| k.kind == KeyKind::Primary)),
            "indisunique" | "indimmediate" | "indisvalid" | "indisready" | "indislive" => {
                flags(rows.iter().map(|_| true))
            }
            "indnullsnotdistinct"
            | "indisexclusion"
            | "indisclustered"
            | "indcheckxmin"
            | "indisreplident" => flags(rows.iter().map(|_| false)),
            "indkey" => int16_lists(rows.iter().map(|(k, _)| Some(k.attnums()))),
            "indoption" => int16_lists(rows.iter().map(|(k, _)| Some(vec![0; k.columns.len()]))),
            "indcollation" | "indclass" => {
                int32_lists(rows.iter().map(|(k, _)| vec![0; k.columns.len()]))
            }
            _ => return None,
        })
    })
}

/// `pg_class` rows for the keys' indexes: each its table's row, renamed and re-kinded.
pub fn class_rows(relations: &Relations, keys: &Keys) -> Result<RecordBatch> {
    let rows = indexed(relations, keys);
    let schema = match relations.classes.first() {
        Some(b) => b.schema(),
        None => return Ok(RecordBatch::new_empty(Arc::new(Schema::empty()))),
    };
    let all = concat_batches(&schema, &relations.classes)?;
    let offsets = batch_offsets(&relations.classes);
    let positions: UInt32Array = rows
        .iter()
        .filter_map(|(_, own)| {
            let (b, row) = relations.rows.get(&own.0)?;
            u32::try_from(offsets[*b] + row).ok()
        })
        .collect();
    let replaced: HashMap<&str, ArrayRef> = HashMap::from([
        ("oid", ints(rows.iter().map(|(k, _)| k.index_oid))),
        ("relname", texts(rows.iter().map(|(k, _)| k.name.as_str()))),
        ("relkind", texts(rows.iter().map(|_| "i"))),
        ("relam", ints(rows.iter().map(|_| BTREE))),
        ("reltype", ints(rows.iter().map(|_| 0))),
        (
            "relnatts",
            Arc::new(Int16Array::from_iter_values(rows.iter().map(|(k, _)| {
                i16::try_from(k.columns.len()).unwrap_or(i16::MAX)
            }))) as ArrayRef,
        ),
    ]);
    derived(&all, &positions, &replaced)
}

/// `pg_class` rows with `relhasindex` set on tables with a key and `relhastriggers` on
/// tables at either end of a foreign key, which is when psql's `\d` lists them.
pub fn keyed_tables(
    classes: &RecordBatch,
    relations: &Relations,
    keys: &Keys,
) -> Result<RecordBatch> {
    let mut indexed = HashSet::new();
    let mut related = HashSet::new();
    for key in keys.all() {
        let own = relations.of(&key.schema, &key.table).map(|o| o.0);
        match keys.target(key) {
            Some(target) => {
                related.extend(own);
                related.extend(relations.of(&target.schema, &target.table).map(|o| o.0));
            }
            None => indexed.extend(own),
        }
    }
    let oids = int32(classes, "oid")?;
    let flag = |name: &str, set: &HashSet<i32>| -> Result<ArrayRef> {
        let old = column(classes, name)?;
        let old = old.as_boolean();
        Ok(Arc::new(
            (0..classes.num_rows())
                .map(|row| Some(old.value(row) || set.contains(&oids.value(row))))
                .collect::<BooleanArray>(),
        ))
    };
    let replaced: HashMap<&str, ArrayRef> = HashMap::from([
        ("relhasindex", flag("relhasindex", &indexed)?),
        ("relhastriggers", flag("relhastriggers", &related)?),
    ]);
    let schema = classes.schema();
    batch(&schema, classes.num_rows(), |name| {
        replaced
            .get(name)
            .cloned()
            .or_else(|| column(classes, name).ok())
    })
}

/// `pg_attribute` rows for the keys' indexes: the key columns' rows of the table,
/// attached to the index and numbered from 1.
pub fn attribute_rows(
    attributes: &[RecordBatch],
    relations: &Relations,
    keys: &Keys,
) -> Result<RecordBatch> {
    let Some(first) = attributes.first() else {
        return Ok(RecordBatch::new_empty(Arc::new(Schema::empty())));
    };
    let all = concat_batches(&first.schema(), attributes)?;
    let relids = int32(&all, "attrelid")?;
    let attnums = int32(&all, "attnum")?;
    let mut at: HashMap<(i32, i32), u32> = HashMap::new();
    for row in 0..all.num_rows() {
        if let Ok(position) = u32::try_from(row) {
            at.insert((relids.value(row), attnums.value(row)), position);
        }
    }
    let (mut positions, mut index, mut number) = (Vec::new(), Vec::new(), Vec::new());
    for (key, own) in indexed(relations, keys) {
        for (n, (_, attnum)) in key.columns.iter().enumerate() {
            if let Some(position) = at.get(&(own.0, i32::from(*attnum))) {
                positions.push(*position);
                index.push(key.index_oid);
                number.push(i32::try_from(n + 1).unwrap_or(i32::MAX));
            }
        }
    }
    let replaced: HashMap<&str, ArrayRef> = HashMap::from([
        ("attrelid", ints(index.into_iter())),
        ("attnum", ints(number.into_iter())),
    ]);
    derived(&all, &UInt32Array::from(positions), &replaced)
}

/// The rows of `all` at `positions`, with some columns replaced (cast to their types).
fn derived(
    all: &RecordBatch,
    positions: &UInt32Array,
    replaced: &HashMap<&str, ArrayRef>,
) -> Result<RecordBatch> {
    let schema = all.schema();
    batch(&schema, positions.len(), |name| {
        if let Some(values) = replaced.get(name) {
            return Some(Arc::clone(values));
        }
        let column = all.column(schema.index_of(name).ok()?);
        take(column, positions, None).ok()
    })
}

fn batch_offsets(batches: &[RecordBatch]) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(batches.len());
    let mut total = 0;
    for b in batches {
        offsets.push(total);
        total += b.num_rows();
    }
    offsets
}
