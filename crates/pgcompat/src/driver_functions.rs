//! Functions drivers call at connect time that neither DataFusion nor datafusion-pg-catalog
//! define.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, ListArray, StringArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type, Schema};
use datafusion::catalog::{TableFunctionImpl, TableProvider};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::Expr;

use crate::sql_functions::null_text;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility, create_udf,
};

/// Built-in type names and their OIDs, as `pg_type` has them.
const TYPES: &[(&str, i32)] = &[
    ("bool", 16),
    ("boolean", 16),
    ("bytea", 17),
    ("char", 18),
    ("name", 19),
    ("int8", 20),
    ("bigint", 20),
    ("int2", 21),
    ("smallint", 21),
    ("int4", 23),
    ("integer", 23),
    ("int", 23),
    ("text", 25),
    ("oid", 26),
    ("json", 114),
    ("float4", 700),
    ("real", 700),
    ("float8", 701),
    ("double precision", 701),
    ("varchar", 1043),
    ("character varying", 1043),
    ("bpchar", 1042),
    ("date", 1082),
    ("time", 1083),
    ("timestamp", 1114),
    ("timestamp without time zone", 1114),
    ("timestamptz", 1184),
    ("timestamp with time zone", 1184),
    ("interval", 1186),
    ("numeric", 1700),
    ("uuid", 2950),
    ("jsonb", 3802),
];

/// The OID of a built-in type name (`int4`, `pg_catalog.int4`, `int4[]` is not one), or
/// NULL: extension types such as `hstore` do not exist here.
fn type_oid(name: &str) -> Option<i32> {
    let name = name.trim().trim_matches('"').to_ascii_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    TYPES.iter().find(|(n, _)| *n == name).map(|(_, oid)| *oid)
}

/// `to_regtype(text)`: psycopg and SQLAlchemy look types up with it when they connect.
pub fn to_regtype_udf() -> ScalarUDF {
    create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let names = arrays[0].as_string::<i32>();
            let oids: Int32Array = names.iter().map(|n| n.and_then(type_oid)).collect();
            Ok(ColumnarValue::Array(Arc::new(oids) as ArrayRef))
        }),
    )
}

/// `pg_…_is_visible(oid)` for the object kinds drivers ask about: functions, collations,
/// operators and the like are all on the search path. (`pg_table_is_visible` comes from
/// datafusion-pg-catalog, which knows the tables.)
pub fn is_visible_udfs() -> Vec<ScalarUDF> {
    [
        "pg_function_is_visible",
        "pg_collation_is_visible",
        "pg_type_is_visible",
        "pg_operator_is_visible",
        "pg_opclass_is_visible",
        "pg_conversion_is_visible",
    ]
    .into_iter()
    .map(is_visible_udf)
    .collect()
}

fn is_visible_udf(name: &str) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Int32],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let visible: BooleanArray = (0..arrays[0].len())
                .map(|i| arrays[0].is_valid(i).then_some(true))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(visible) as ArrayRef))
        }),
    )
}

/// `like_escape(pattern, escape)`: the pattern with `escape` as its escape character,
/// rewritten to use the backslash, the only one the engine takes.
pub fn like_escape_udf() -> ScalarUDF {
    create_udf(
        "like_escape",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let patterns = arrays[0].as_string::<i32>();
            let escapes = arrays[1].as_string::<i32>();
            let out: StringArray = patterns
                .iter()
                .zip(escapes.iter())
                .map(|(p, e)| Some(backslash_escapes(p?, e?.chars().next()?)))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    )
}

fn backslash_escapes(pattern: &str, escape: char) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            out.push('\\');
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

/// `pg_get_function_arguments(oid)` and `pg_get_function_result(oid)` (psql's `\df`):
/// no function of a lake schema exists to describe.
pub fn function_description_udfs() -> Vec<ScalarUDF> {
    ["pg_get_function_arguments", "pg_get_function_result"]
        .into_iter()
        .map(|name| null_text(name, &[&[DataType::Int32]]))
        .collect()
}

/// `session_user` (and `current_user`, which drivers' SQL becomes): the principal's
/// username.
pub fn session_user_udf(username: &str) -> ScalarUDF {
    let username = username.to_string();
    create_udf(
        "session_user",
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
                username.clone(),
            ))))
        }),
    )
    .with_aliases(["current_user", "user"])
}

/// `pg_get_triggerdef(oid, pretty)` (psql's `\d`): no relation here has triggers.
pub fn pg_get_triggerdef_udf() -> ScalarUDF {
    null_text(
        "pg_get_triggerdef",
        &[&[DataType::Int32, DataType::Boolean]],
    )
}

/// `pg_size_pretty(bytes)` (psql's `\dt+`), with PostgreSQL's units and rounding.
pub fn pg_size_pretty_udf() -> ScalarUDF {
    create_udf(
        "pg_size_pretty",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let sizes = arrays[0].as_primitive::<Int64Type>();
            let out: StringArray = sizes.iter().map(|v| v.map(size_pretty)).collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    )
}

fn size_pretty(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    // PostgreSQL switches unit once a value reaches 10240 of the smaller one, rounding half up.
    if bytes.abs() < 10 * 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    for unit in UNITS {
        if value.abs() < 10.0 * 1024.0 || unit == "PB" {
            return format!("{} {unit}", value.round() as i64);
        }
        value /= 1024.0;
    }
    format!("{bytes} bytes")
}

/// `pg_get_serial_sequence(table, column)`: lake tables have no sequences.
pub fn pg_get_serial_sequence_udf() -> ScalarUDF {
    null_text(
        "pg_get_serial_sequence",
        &[&[DataType::Utf8, DataType::Utf8]],
    )
}

/// `json_build_object(k1, v1, …)`: SQLAlchemy asks for it (for identity columns, which
/// lake tables never have).
pub fn json_build_object_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(JsonBuildObject {
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonBuildObject {
    signature: Signature,
}

impl ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        "json_build_object"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    /// Text marked as JSON, which the Postgres front end sends as `json`.
    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        let json = [("ARROW:extension:name".to_string(), "arrow.json".to_string())];
        Ok(Arc::new(
            Field::new(self.name(), DataType::Utf8, true).with_metadata(json.into()),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = crate::sql_functions::argument_arrays(args.args, rows)?;
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            let mut object = serde_json::Map::new();
            for pair in arrays.chunks(2) {
                let key = ScalarValue::try_from_array(&pair[0], row)?.to_string();
                let value = match pair.get(1) {
                    Some(v) => json_value(ScalarValue::try_from_array(v, row)?),
                    None => serde_json::Value::Null,
                };
                object.insert(key, value);
            }
            out.push(serde_json::Value::Object(object).to_string());
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}

fn json_value(value: ScalarValue) -> serde_json::Value {
    if value.is_null() {
        return serde_json::Value::Null;
    }
    match value {
        ScalarValue::Boolean(Some(b)) => serde_json::Value::Bool(b),
        v if v.data_type().is_numeric() => serde_json::from_str(&v.to_string())
            .unwrap_or_else(|_| serde_json::Value::String(v.to_string())),
        v => serde_json::Value::String(v.to_string()),
    }
}

/// `pg_partition_ancestors(oid)` (psql's `\d` asks for a table's foreign keys through it):
/// no relation here is a partition, so the only ancestor is the relation itself.
#[derive(Debug)]
pub struct PartitionAncestors;

impl TableFunctionImpl for PartitionAncestors {
    fn call(&self, args: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        let oid = match args {
            [Expr::Literal(value, _)] => value.to_string().trim_matches('\'').parse::<i32>().ok(),
            _ => None,
        };
        let Some(oid) = oid else {
            return plan_err!("pg_partition_ancestors takes a relation OID");
        };
        let schema = Arc::new(Schema::new(vec![Field::new(
            "relid",
            DataType::Int32,
            false,
        )]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int32Array::from(vec![oid]))],
        )?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

/// `has_table_privilege` and its kin (Metabase asks, table by table, before offering to
/// write): every object a session holds may be read, nothing may be written or created.
pub fn privilege_udfs() -> Vec<ScalarUDF> {
    [
        "has_table_privilege",
        "has_any_column_privilege",
        "has_column_privilege",
        "has_schema_privilege",
        "has_database_privilege",
        "has_sequence_privilege",
        "has_function_privilege",
    ]
    .into_iter()
    .map(|name| {
        ScalarUDF::new_from_impl(HasPrivilege {
            name,
            signature: Signature::variadic_any(Volatility::Stable),
        })
    })
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct HasPrivilege {
    name: &'static str,
    signature: Signature,
}

/// Whether a privilege (`SELECT`, `USAGE WITH GRANT OPTION`, …) is one a read-only
/// server grants.
fn granted(privilege: &str) -> bool {
    let name = privilege.trim().to_ascii_uppercase();
    let name = name.strip_suffix(" WITH GRANT OPTION").unwrap_or(&name);
    matches!(name.trim(), "SELECT" | "USAGE" | "CONNECT" | "EXECUTE")
}

impl ScalarUDFImpl for HasPrivilege {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    /// The privilege is the last argument; a list (`'SELECT, INSERT'`) holds if any does.
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let Some(last) = args.args.last() else {
            return plan_err!("{} takes a privilege", self.name);
        };
        let privileges = cast(&last.to_array(rows)?, &DataType::Utf8)?;
        let privileges = privileges.as_string::<i32>();
        let out: BooleanArray = privileges
            .iter()
            .map(|p| p.map(|p| p.split(',').any(granted)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `pg_expandarray(a)`: `a`'s elements as `(x, n)` records, `n` counting from 1 — what
/// `information_schema._pg_expandarray` returns one row of, once unnested.
pub fn pg_expandarray_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(ArrayRows {
        name: "pg_expandarray",
        signature: Signature::any(1, Volatility::Immutable),
    })
}

/// `pg_subscripts(a, dim)`: `a`'s subscripts, `1..=len` — `generate_subscripts`, once
/// unnested.
pub fn pg_subscripts_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(ArrayRows {
        name: "pg_subscripts",
        signature: Signature::any(2, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ArrayRows {
    name: &'static str,
    signature: Signature,
}

impl ArrayRows {
    fn record(element: &DataType) -> Fields {
        Fields::from(vec![
            Field::new("x", element.clone(), true),
            Field::new("n", DataType::Int32, false),
        ])
    }
}

impl ScalarUDFImpl for ArrayRows {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let element = match args.first() {
            Some(DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)) => {
                f.data_type().clone()
            }
            other => return plan_err!("{} takes an array, not {other:?}", self.name),
        };
        Ok(match self.name {
            "pg_expandarray" => DataType::new_list(DataType::Struct(Self::record(&element)), true),
            _ => DataType::new_list(DataType::Int32, true),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let Some(first) = args.args.first() else {
            return plan_err!("{} takes an array", self.name);
        };
        let list = first.to_array(rows)?;
        let list = cast(
            &list,
            &DataType::new_list(list_element(list.data_type())?, true),
        )?;
        let list = list.as_list::<i32>();
        let lengths: Vec<i32> = list
            .offsets()
            .lengths()
            .filter_map(|l| i32::try_from(l).ok())
            .collect();
        let subscripts: Int32Array = lengths.iter().flat_map(|l| 1..=*l).collect();
        let offsets = OffsetBuffer::from_lengths(lengths.iter().map(|l| *l as usize));
        let values: ArrayRef = match self.name {
            "pg_expandarray" => {
                let element = list_element(list.data_type())?;
                let start = list.offsets()[0] as usize;
                let end = list.offsets()[list.len()] as usize;
                let elements = list.values().slice(start, end - start);
                Arc::new(StructArray::try_new(
                    Self::record(&element),
                    vec![elements, Arc::new(subscripts)],
                    None,
                )?)
            }
            _ => Arc::new(subscripts),
        };
        let field = Arc::new(Field::new("item", values.data_type().clone(), true));
        let out = ListArray::try_new(field, offsets, values, list.nulls().cloned())?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

fn list_element(list: &DataType) -> Result<DataType> {
    match list {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Ok(f.data_type().clone())
        }
        other => plan_err!("not an array: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_escape_characters_become_backslashes() {
        assert_eq!(backslash_escapes("pg/_%", '/'), "pg\\_%");
        assert_eq!(backslash_escapes("a//b", '/'), "a\\/b");
        assert_eq!(backslash_escapes("a\\b", '/'), "a\\\\b");
    }

    #[test]
    fn only_reading_is_granted() {
        assert!(granted("SELECT") && granted(" usage with grant option"));
        assert!(!granted("INSERT") && !granted("delete") && !granted("CREATE"));
    }

    #[test]
    fn sizes_print_as_postgresql_prints_them() {
        assert_eq!(size_pretty(8192), "8192 bytes");
        assert_eq!(size_pretty(10 * 1024), "10 kB");
        assert_eq!(size_pretty(50 * 1024 * 1024), "50 MB");
    }

    #[test]
    fn type_names_resolve_like_pg_type() {
        assert_eq!(type_oid("int4"), Some(23));
        assert_eq!(type_oid("pg_catalog.timestamptz"), Some(1184));
        assert_eq!(type_oid("\"text\""), Some(25));
        assert_eq!(type_oid("hstore"), None);
    }
}
