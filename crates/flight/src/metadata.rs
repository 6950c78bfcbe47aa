//! What the metadata calls answer: server facts, types, and the principal's own catalogue.
//! Tables and columns come from the principal's session, so whatever the policy hides does
//! not exist here either.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arrow_flight::sql::metadata::{
    SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData, XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::{
    CommandGetTableTypes, Nullable, Searchable, SqlInfo, SqlNullOrdering,
    SqlSupportedCaseSensitivity, SupportedSqlGrammar, XdbcDataType,
};
use lakegate_gateway::arrow::array::RecordBatch;
use lakegate_gateway::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use lakegate_gateway::{Sidecar, VisibleTable};

/// The table type every lake table is listed with.
pub const TABLE_TYPE: &str = "TABLE";

/// The Flight SQL column metadata key for a column's comment.
const REMARKS: &str = "ARROW:FLIGHT:SQL:REMARKS";

/// `GetSqlInfo`: who we are and which SQL we take. Read-only, no transactions.
pub static SQL_INFO: LazyLock<SqlInfoData> = LazyLock::new(|| {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "lakegate");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.5");
    b.append(SqlInfo::FlightSqlServerReadOnly, true);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(SqlInfo::FlightSqlServerTransaction, 0i32);
    b.append(SqlInfo::FlightSqlServerCancel, false);
    b.append(SqlInfo::FlightSqlServerStatementTimeout, 0i32);
    b.append(SqlInfo::FlightSqlServerTransactionTimeout, 0i32);
    b.append(SqlInfo::SqlDdlCatalog, false);
    b.append(SqlInfo::SqlDdlSchema, false);
    b.append(SqlInfo::SqlDdlTable, false);
    b.append(
        SqlInfo::SqlIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityLowercase as i32,
    );
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    b.append(
        SqlInfo::SqlQuotedIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityCaseInsensitive as i32,
    );
    b.append(SqlInfo::SqlAllTablesAreSelectable, true);
    b.append(
        SqlInfo::SqlNullOrdering,
        SqlNullOrdering::SqlNullsSortedHigh as i32,
    );
    b.append(
        SqlInfo::SqlSupportedGrammar,
        (1 << SupportedSqlGrammar::SqlMinimumGrammar as i32)
            | (1 << SupportedSqlGrammar::SqlCoreGrammar as i32),
    );
    b.append(SqlInfo::SqlAnsi92SupportedLevel, 1i32);
    b.append(SqlInfo::SqlSupportsColumnAliasing, true);
    b.append(SqlInfo::SqlNullPlusNullIsNull, true);
    b.append(SqlInfo::SqlSupportsTableCorrelationNames, true);
    b.append(SqlInfo::SqlSupportsExpressionsInOrderBy, true);
    b.append(SqlInfo::SqlSupportsOrderByUnrelated, true);
    b.append(SqlInfo::SqlSupportsLikeEscapeClause, true);
    b.append(SqlInfo::SqlSchemaTerm, "schema");
    b.append(SqlInfo::SqlCatalogTerm, "database");
    b.append(SqlInfo::SqlCatalogAtStart, true);
    b.append(SqlInfo::SqlTransactionsSupported, false);
    b.append(SqlInfo::SqlMaxColumnNameLength, 63i64);
    b.append(SqlInfo::SqlMaxTableNameLength, 63i64);
    b.build()
        .expect("every value above has a type the builder takes")
});

/// `GetXdbcTypeInfo`: the types results can have.
pub static XDBC_TYPES: LazyLock<XdbcTypeInfoData> = LazyLock::new(|| {
    let mut b = XdbcTypeInfoDataBuilder::new();
    for (name, data_type, size) in [
        ("BOOLEAN", XdbcDataType::XdbcBit, Some(1)),
        ("SMALLINT", XdbcDataType::XdbcSmallint, Some(16)),
        ("INTEGER", XdbcDataType::XdbcInteger, Some(32)),
        ("BIGINT", XdbcDataType::XdbcBigint, Some(64)),
        ("REAL", XdbcDataType::XdbcReal, Some(24)),
        ("DOUBLE PRECISION", XdbcDataType::XdbcDouble, Some(53)),
        ("NUMERIC", XdbcDataType::XdbcDecimal, Some(38)),
        ("VARCHAR", XdbcDataType::XdbcVarchar, None),
        ("BYTEA", XdbcDataType::XdbcVarbinary, None),
        ("DATE", XdbcDataType::XdbcDate, None),
        ("TIMESTAMP", XdbcDataType::XdbcTimestamp, None),
    ] {
        let text = data_type == XdbcDataType::XdbcVarchar;
        b.append(XdbcTypeInfo {
            type_name: name.to_string(),
            data_type,
            column_size: size,
            literal_prefix: text.then(|| "'".to_string()),
            literal_suffix: text.then(|| "'".to_string()),
            create_params: None,
            nullable: Nullable::NullabilityNullable,
            case_sensitive: text,
            searchable: Searchable::Full,
            unsigned_attribute: Some(false),
            fixed_prec_scale: false,
            auto_increment: Some(false),
            local_type_name: Some(name.to_string()),
            minimum_scale: None,
            maximum_scale: None,
            sql_data_type: data_type,
            datetime_subcode: None,
            num_prec_radix: size.map(|_| 2),
            interval_precision: None,
        });
    }
    b.build().expect("fixed type rows build")
});

/// A table's columns with its catalogue entry attached: the table's description and owner
/// as schema metadata, each column's description and PII tags as field metadata.
pub fn described(table: &VisibleTable, sidecar: Option<&Sidecar>) -> Schema {
    let Some(sidecar) = sidecar else {
        return table.columns.as_ref().clone();
    };
    let fields: Vec<Field> = table
        .columns
        .fields()
        .iter()
        .map(|f| {
            let Some(doc) = sidecar.columns.get(f.name()) else {
                return f.as_ref().clone();
            };
            let mut metadata = f.metadata().clone();
            if let Some(d) = &doc.description {
                metadata.insert(REMARKS.to_string(), d.clone());
                metadata.insert("description".to_string(), d.clone());
            }
            if !doc.pii.is_empty() {
                metadata.insert("pii".to_string(), doc.pii.join(","));
            }
            f.as_ref().clone().with_metadata(metadata)
        })
        .collect();
    let mut metadata = HashMap::new();
    if let Some(d) = &sidecar.description {
        metadata.insert("description".to_string(), d.clone());
    }
    if let Some(o) = &sidecar.owner {
        metadata.insert("owner".to_string(), o.clone());
    }
    Schema::new_with_metadata(fields, metadata)
}

/// Primary and foreign keys: the lake declares none, so these calls answer no rows, in
/// the shapes the protocol fixes.
pub fn primary_keys_schema() -> SchemaRef {
    let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("catalog_name", true),
        text("db_schema_name", true),
        text("table_name", false),
        text("column_name", false),
        text("key_name", true),
        Field::new("key_sequence", DataType::Int32, false),
    ]))
}

/// The shape of exported, imported and cross-reference key answers.
pub fn foreign_keys_schema() -> SchemaRef {
    let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("pk_catalog_name", true),
        text("pk_db_schema_name", true),
        text("pk_table_name", false),
        text("pk_column_name", false),
        text("fk_catalog_name", true),
        text("fk_db_schema_name", true),
        text("fk_table_name", false),
        text("fk_column_name", false),
        Field::new("key_sequence", DataType::Int32, false),
        text("fk_key_name", true),
        text("pk_key_name", true),
        Field::new("update_rule", DataType::UInt8, false),
        Field::new("delete_rule", DataType::UInt8, false),
    ]))
}

/// `GetTableTypes`: every lake table is a `TABLE`.
pub fn table_types(
    query: CommandGetTableTypes,
) -> Result<RecordBatch, arrow_flight::error::FlightError> {
    let mut builder = query.into_builder();
    builder.append(TABLE_TYPE);
    builder.build()
}
