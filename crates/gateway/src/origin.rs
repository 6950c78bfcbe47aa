//! Where each result column comes from: the OID of its table in this session's `pg_class`
//! and its attribute number, which PostgreSQL sends in every row description and drivers use
//! for result metadata (pgjdbc's `getTableName`, `isNullable`).

use std::collections::HashMap;

use datafusion::arrow::array::{AsArray, Int32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::prelude::SessionContext;

use crate::LogicalPlan;

/// A column's table OID and attribute number (from 1).
pub type Origin = Option<(i32, i16)>;

/// `(schema, table)` → OID, from `pg_class`.
pub type RelationOids = HashMap<(String, String), i32>;

/// The OIDs `pg_class` gives this session's relations.
pub async fn relation_oids(ctx: &SessionContext) -> RelationOids {
    let sql = "SELECT n.nspname, c.relname, c.oid FROM pg_catalog.pg_class c \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace";
    let Ok(frame) = ctx.sql(sql).await else {
        return RelationOids::new();
    };
    let Ok(batches) = frame.collect().await else {
        return RelationOids::new();
    };
    let mut oids = RelationOids::new();
    for batch in batches {
        let (Ok(schemas), Ok(names), Ok(ids)) = (
            cast(batch.column(0), &DataType::Utf8),
            cast(batch.column(1), &DataType::Utf8),
            cast(batch.column(2), &DataType::Int32),
        ) else {
            continue;
        };
        let ids: &Int32Array = ids.as_primitive();
        for row in 0..batch.num_rows() {
            let key = (
                schemas.as_string::<i32>().value(row).to_string(),
                names.as_string::<i32>().value(row).to_string(),
            );
            oids.insert(key, ids.value(row));
        }
    }
    oids
}

/// The origin of each output column of `plan`: columns read straight from a table (by
/// its name or an alias of it); computed columns have none.
pub fn origins(plan: &LogicalPlan, oids: &RelationOids) -> Vec<Origin> {
    let tables = scanned(plan);
    plan.schema()
        .iter()
        .map(|(qualifier, field)| {
            let (schema, table, columns) = tables.get(&qualifier?.to_string())?;
            let oid = *oids.get(&(schema.clone(), table.clone()))?;
            let attnum = columns.index_of(field.name()).ok()?;
            Some((oid, i16::try_from(attnum + 1).ok()?))
        })
        .collect()
}

/// The tables a plan scans, by every name the plan refers to them with.
fn scanned(plan: &LogicalPlan) -> HashMap<String, (String, String, SchemaRef)> {
    let mut tables = HashMap::new();
    let _ = plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::TableScan(scan) => {
                if let Some(schema) = scan.table_name.schema() {
                    let entry = (
                        schema.to_string(),
                        scan.table_name.table().to_string(),
                        scan.source.schema(),
                    );
                    tables.insert(scan.table_name.to_string(), entry);
                }
            }
            LogicalPlan::SubqueryAlias(alias) => {
                if let LogicalPlan::TableScan(scan) = alias.input.as_ref()
                    && let Some(schema) = scan.table_name.schema()
                {
                    let entry = (
                        schema.to_string(),
                        scan.table_name.table().to_string(),
                        scan.source.schema(),
                    );
                    tables.insert(alias.alias.to_string(), entry);
                }
            }
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    });
    tables
}
