//! Flight SQL's key calls, answered from the principal's `information_schema`: the keys the
//! data dictionary declares (primary keys, and relationships as foreign keys), as the
//! Postgres front end shows them.

use std::sync::Arc;

use lakegate_gateway::arrow::array::{RecordBatch, new_null_array};
use lakegate_gateway::arrow::compute::{cast, concat_batches};
use lakegate_gateway::arrow::datatypes::SchemaRef;
use lakegate_gateway::{QueryError, Session};

use crate::metadata::{foreign_keys_schema, primary_keys_schema};

/// A table named by a key call: its schema, if given, and name.
pub struct TableName<'a> {
    pub schema: Option<&'a str>,
    pub table: &'a str,
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `alias.table_name = 'x' [AND alias.table_schema = 'y']`.
fn matches(alias: &str, name: &TableName<'_>) -> String {
    let mut condition = format!("{alias}.table_name = {}", literal(name.table));
    if let Some(schema) = name.schema {
        condition.push_str(&format!(" AND {alias}.table_schema = {}", literal(schema)));
    }
    condition
}

/// `GetPrimaryKeys`.
pub async fn primary_keys(
    session: &Session,
    name: TableName<'_>,
) -> Result<RecordBatch, QueryError> {
    let sql = format!(
        "SELECT u.table_catalog AS catalog_name, u.table_schema AS db_schema_name, u.table_name, \
         u.column_name, u.constraint_name AS key_name, u.ordinal_position AS key_sequence \
         FROM information_schema.key_column_usage u JOIN information_schema.table_constraints c \
         ON c.constraint_name = u.constraint_name AND c.table_schema = u.table_schema \
         WHERE c.constraint_type = 'PRIMARY KEY' AND {} ORDER BY key_sequence",
        matches("u", &name)
    );
    shaped(session, &sql, primary_keys_schema()).await
}

/// `GetImportedKeys` (keys `fk` holds), `GetExportedKeys` (keys onto `pk`) and
/// `GetCrossReference` (both).
pub async fn foreign_keys(
    session: &Session,
    pk: Option<TableName<'_>>,
    fk: Option<TableName<'_>>,
) -> Result<RecordBatch, QueryError> {
    let mut conditions = vec!["true".to_string()];
    conditions.extend(pk.map(|n| matches("pk", &n)));
    conditions.extend(fk.map(|n| matches("fk", &n)));
    // Flight SQL's rule codes: 3 is NO ACTION.
    let sql = format!(
        "SELECT pk.table_catalog AS pk_catalog_name, pk.table_schema AS pk_db_schema_name, \
         pk.table_name AS pk_table_name, pk.column_name AS pk_column_name, \
         fk.table_catalog AS fk_catalog_name, fk.table_schema AS fk_db_schema_name, \
         fk.table_name AS fk_table_name, fk.column_name AS fk_column_name, \
         fk.ordinal_position AS key_sequence, fk.constraint_name AS fk_key_name, \
         pk.constraint_name AS pk_key_name, 3 AS update_rule, 3 AS delete_rule \
         FROM information_schema.referential_constraints r \
         JOIN information_schema.key_column_usage fk ON fk.constraint_name = r.constraint_name \
         AND fk.table_schema = r.constraint_schema \
         JOIN information_schema.key_column_usage pk ON pk.constraint_name = r.unique_constraint_name \
         AND pk.table_schema = r.unique_constraint_schema \
         AND pk.ordinal_position = fk.position_in_unique_constraint \
         WHERE {} ORDER BY fk_db_schema_name, fk_table_name, fk_key_name, key_sequence",
        conditions.join(" AND ")
    );
    shaped(session, &sql, foreign_keys_schema()).await
}

/// The query's rows in the call's result schema.
async fn shaped(
    session: &Session,
    sql: &str,
    schema: SchemaRef,
) -> Result<RecordBatch, QueryError> {
    let batches = session.catalog_rows(sql).await?;
    let internal =
        |e: lakegate_gateway::arrow::error::ArrowError| QueryError::Internal(e.to_string());
    let Some(first) = batches.first() else {
        return Ok(RecordBatch::new_empty(schema));
    };
    let all = concat_batches(&first.schema(), &batches).map_err(internal)?;
    let columns = schema
        .fields()
        .iter()
        .map(|field| match all.schema().index_of(field.name()) {
            Ok(i) => cast(all.column(i), field.data_type()),
            Err(_) => Ok(new_null_array(field.data_type(), all.num_rows())),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    RecordBatch::try_new(Arc::clone(&schema), columns).map_err(internal)
}
