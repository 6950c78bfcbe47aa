//! PostgreSQL functions clients and analysts call that DataFusion does not have: `format`,
//! `regexp_split_to_array`, `pg_sleep`, and the session functions drivers call on connect
//! or reset (`pg_advisory_unlock_all`, `pg_my_temp_schema`, `pg_is_other_temp_schema`,
//! `inet_server_addr`, `pg_get_viewdef`), answered as PostgreSQL answers them for a
//! read-only session with no temporary schema, locks or view sources.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StringArray, StringBuilder};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::async_udf::{AsyncScalarUDF, AsyncScalarUDFImpl};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility, create_udf,
};
use regex::{Regex, RegexBuilder};

use crate::error::ValueError;
use crate::zone::SessionZone;

/// The functions of this module, to register in every session.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::new_from_impl(Format::default()),
        regexp_split_to_array_udf(),
        constant(
            "pg_advisory_unlock_all",
            &[&[]],
            ScalarValue::Utf8(Some(String::new())),
        ),
        constant("pg_my_temp_schema", &[&[]], ScalarValue::Int32(Some(0))),
        constant(
            "pg_is_other_temp_schema",
            &[&[DataType::Int32]],
            ScalarValue::Boolean(Some(false)),
        ),
        // PostgreSQL's answer for a connection over a Unix socket; lakegate does not tell
        // clients its addresses.
        null_text("inet_server_addr", &[&[]]),
        null_text(
            "pg_get_viewdef",
            &[&[DataType::Int32], &[DataType::Int32, DataType::Boolean]],
        ),
        AsyncScalarUDF::new(Arc::new(Sleep::default())).into_scalar_udf(),
        crate::casts::interval_mul_udf(),
    ]
}

/// A function's arguments as arrays of `rows` values each (a scalar argument repeated).
pub(crate) fn argument_arrays(args: Vec<ColumnarValue>, rows: usize) -> Result<Vec<ArrayRef>> {
    args.into_iter().map(|a| a.into_array(rows)).collect()
}

/// A function taking any of `forms` (argument types) whose every row is `value`.
pub(crate) fn constant(name: &str, forms: &[&[DataType]], value: ScalarValue) -> ScalarUDF {
    let forms = forms
        .iter()
        .map(|args| TypeSignature::Exact(args.to_vec()))
        .collect();
    ScalarUDF::new_from_impl(Constant {
        name: name.to_string(),
        signature: Signature::one_of(forms, Volatility::Immutable),
        data_type: value.data_type(),
        value,
    })
}

/// A function taking any of `forms` that is NULL text for every row: what PostgreSQL
/// answers for what no lake object has (a view's source, a trigger, a sequence).
pub(crate) fn null_text(name: &str, forms: &[&[DataType]]) -> ScalarUDF {
    constant(name, forms, ScalarValue::Utf8(None))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Constant {
    name: String,
    signature: Signature,
    data_type: DataType,
    value: ScalarValue,
}

impl ScalarUDFImpl for Constant {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.data_type.clone())
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value.clone()))
    }
}

/// `format(template, arg, …)` with PostgreSQL's `%s`, `%I`, `%L`, `%%`, positions (`%2$s`)
/// and widths (`%-10s`); each argument as PostgreSQL's output writes it (`t` for true,
/// timestamps in the session's zone).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Format {
    signature: Signature,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for Format {
    fn name(&self) -> &str {
        "format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let zone = SessionZone::of(&args.config_options);
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let texts = arrays
            .iter()
            .map(|a| output_text(a, &zone))
            .collect::<Result<Vec<_>>>()?;
        let texts: Vec<&StringArray> = texts.iter().map(|a| a.as_string::<i32>()).collect();
        let Some((template, values)) = texts.split_first() else {
            return exec_err!("format needs a template");
        };
        let mut out = StringBuilder::new();
        let mut bytes = 0usize;
        for row in 0..rows {
            if template.is_null(row) {
                out.append_null();
                continue;
            }
            let values: Vec<Option<&str>> = values
                .iter()
                .map(|v| (!v.is_null(row)).then(|| v.value(row)))
                .collect();
            let text = format_row(template.value(row), &values)?;
            // Widths and repeated positions can make a short template large: the batch's
            // output is bounded as `repeat`'s is.
            bytes = bytes.saturating_add(text.len());
            if bytes as i128 > crate::bounds::MAX_RESULT_BYTES {
                return Err(ValueError::LimitExceeded(format!(
                    "format() result exceeds the maximum of {} bytes",
                    crate::bounds::MAX_RESULT_BYTES
                ))
                .into_datafusion());
            }
            out.append_value(text);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Each value as PostgreSQL's output function writes it (a cast to `text` writes `true`
/// where the output is `t`).
fn output_text(array: &ArrayRef, zone: &SessionZone) -> Result<ArrayRef> {
    if let Some(flags) = array.as_boolean_opt() {
        let words = flags.iter().map(|f| f.map(|f| if f { "t" } else { "f" }));
        return Ok(Arc::new(words.collect::<StringArray>()));
    }
    if matches!(array.data_type(), DataType::Utf8) {
        return Ok(Arc::clone(array));
    }
    let texts = crate::casts::texts(array, zone)?;
    let strings = texts
        .into_iter()
        .map(|t| t.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()));
    Ok(Arc::new(strings.collect::<StringArray>()))
}

fn invalid(message: String) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(Box::new(ValueError::InvalidParameter(message)))
}

/// One row of `format`.
fn format_row(template: &str, values: &[Option<&str>]) -> Result<String> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        // %[position$][-][width]type
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let mut position = None;
        if chars.peek() == Some(&'$') && !digits.is_empty() {
            chars.next();
            position = digits.parse::<usize>().ok();
            digits.clear();
        }
        let mut left = false;
        if digits.is_empty() && chars.peek() == Some(&'-') {
            chars.next();
            left = true;
        }
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let width: usize = digits.parse().unwrap_or(0).min(1 << 20);
        let index = match position {
            Some(0) => {
                return Err(invalid(
                    "format specifies argument 0, but arguments are numbered from 1".into(),
                ));
            }
            Some(p) => p - 1,
            None => next,
        };
        next = index + 1;
        let value = *values
            .get(index)
            .ok_or_else(|| invalid("too few arguments for format()".to_string()))?;
        let text = match chars.next() {
            Some('s') => value.unwrap_or("").to_string(),
            Some('I') => match value {
                Some(v) => quote_ident(v),
                None => {
                    return Err(invalid(
                        "null values cannot be formatted as an SQL identifier".into(),
                    ));
                }
            },
            Some('L') => value.map_or_else(|| "NULL".to_string(), quote_literal),
            Some(other) => {
                return Err(invalid(format!(
                    "unrecognized format() type specifier \"{other}\""
                )));
            }
            None => return Err(invalid("unterminated format() type specifier".into())),
        };
        let pad = width.saturating_sub(text.chars().count());
        if (out.len() + text.len() + pad) as i128 > crate::bounds::MAX_RESULT_BYTES {
            return Err(ValueError::LimitExceeded(format!(
                "format() result exceeds the maximum of {} bytes",
                crate::bounds::MAX_RESULT_BYTES
            ))
            .into_datafusion());
        }
        if left {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&text);
        }
    }
    Ok(out)
}

/// PostgreSQL's keywords that are not unreserved (reserved, type/function-name and
/// column-name keywords), which `quote_ident` quotes (`kwlist.h`).
const RESERVED: &[&str] = &[
    "between",
    "bigint",
    "bit",
    "boolean",
    "char",
    "character",
    "coalesce",
    "dec",
    "decimal",
    "exists",
    "extract",
    "float",
    "greatest",
    "grouping",
    "inout",
    "int",
    "integer",
    "interval",
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "least",
    "merge_action",
    "national",
    "nchar",
    "none",
    "normalize",
    "nullif",
    "numeric",
    "out",
    "overlay",
    "position",
    "precision",
    "real",
    "row",
    "setof",
    "smallint",
    "substring",
    "time",
    "timestamp",
    "treat",
    "trim",
    "values",
    "varchar",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
    "concurrently",
    "cross",
    "freeze",
    "full",
    "inner",
    "isnull",
    "join",
    "left",
    "natural",
    "notnull",
    "outer",
    "overlaps",
    "right",
    "similar",
    "tablesample",
    "verbose",
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// PostgreSQL's `quote_ident`: quoted unless lower-case letters, digits and `_` starting
/// with a letter or `_`, and not a keyword other than an unreserved one.
pub fn quote_ident(ident: &str) -> String {
    let plain = ident
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&ident);
    if plain {
        ident.to_string()
    } else {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
}

/// PostgreSQL's `quote_literal`: quotes doubled, and backslashes doubled with an `E` prefix.
pub fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// `regexp_split_to_array(text, pattern)` (and through it `regexp_split_to_table`).
fn regexp_split_to_array_udf() -> ScalarUDF {
    create_udf(
        "regexp_split_to_array",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let (texts, patterns) = (arrays[0].as_string::<i32>(), arrays[1].as_string::<i32>());
            let mut values = StringBuilder::new();
            let mut offsets = vec![0i32];
            let mut nulls = Vec::with_capacity(texts.len());
            let mut compiled: Option<(String, Regex)> = None;
            for row in 0..texts.len() {
                if texts.is_null(row) || patterns.is_null(row) {
                    nulls.push(false);
                    offsets.push(*offsets.last().unwrap_or(&0));
                    continue;
                }
                let pattern = patterns.value(row);
                if compiled.as_ref().is_none_or(|(p, _)| p != pattern) {
                    // A compiled pattern's size is bounded: a client's regex cannot take
                    // the query thread's memory or time.
                    let regex = RegexBuilder::new(pattern)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| invalid(format!("invalid regular expression: {e}")))?;
                    compiled = Some((pattern.to_string(), regex));
                }
                let Some((_, regex)) = &compiled else {
                    continue;
                };
                let mut n = 0;
                for part in split(regex, texts.value(row)) {
                    values.append_value(part);
                    n += 1;
                }
                nulls.push(true);
                offsets.push(offsets.last().unwrap_or(&0) + n);
            }
            let list = ListArray::try_new(
                Arc::new(Field::new_list_field(DataType::Utf8, true)),
                OffsetBuffer::new(offsets.into()),
                Arc::new(values.finish()) as ArrayRef,
                Some(nulls.into()),
            )?;
            Ok(ColumnarValue::Array(Arc::new(list)))
        }),
    )
}

/// PostgreSQL's split: an empty match splits between characters, and empty matches at the
/// start and end do not make empty parts.
fn split<'a>(regex: &Regex, text: &'a str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for m in regex.find_iter(text) {
        // An empty match at either end splits nothing off.
        if m.start() == m.end() && (m.start() == 0 || m.start() >= text.len()) {
            continue;
        }
        parts.push(&text[start..m.start().max(start)]);
        start = m.end();
    }
    parts.push(&text[start..]);
    parts
}

/// `pg_sleep(seconds)`: waits without holding a query thread, so a cancel, statement
/// timeout or disconnect ends it at once. Longer than a day is refused (`22023`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Sleep {
    signature: Signature,
}

impl Default for Sleep {
    fn default() -> Self {
        Sleep {
            signature: Signature::exact(vec![DataType::Float64], Volatility::Volatile),
        }
    }
}

impl ScalarUDFImpl for Sleep {
    fn name(&self) -> &str {
        "pg_sleep"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("pg_sleep runs asynchronously")
    }
}

#[async_trait]
impl AsyncScalarUDFImpl for Sleep {
    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let seconds = arrays[0].as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        let total: f64 = seconds.iter().flatten().filter(|s| *s > 0.0).sum();
        if !(0.0..=86_400.0).contains(&total) || total.is_nan() {
            return Err(invalid(format!(
                "pg_sleep of {total} seconds is longer than a day"
            )));
        }
        tokio::time::sleep(Duration::from_secs_f64(total)).await;
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(vec![
            "";
            rows
        ]))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_postgresqls() {
        assert_eq!(
            format_row("%s-%I-%L-%%", &[Some("a"), Some("B c"), Some("x'y")]).unwrap(),
            "a-\"B c\"-'x''y'-%"
        );
        assert_eq!(
            format_row("%2$s %1$s", &[Some("a"), Some("b")]).unwrap(),
            "b a"
        );
        assert_eq!(
            format_row("[%5s|%-5s]", &[Some("ab"), Some("cd")]).unwrap(),
            "[   ab|cd   ]"
        );
        assert_eq!(format_row("%s|%L", &[None, None]).unwrap(), "|NULL");
        assert_eq!(format_row("%I", &[Some("select")]).unwrap(), "\"select\"");
        assert_eq!(
            format_row("%I %I", &[Some("time"), Some("a$b")]).unwrap(),
            "\"time\" \"a$b\""
        );
        let huge = "%1$1048576s".repeat(300);
        assert!(format_row(&huge, &[Some("x")]).is_err(), "bounded");
        assert_eq!(format_row("%L", &[Some("a\\b")]).unwrap(), "E'a\\\\b'");
        assert!(format_row("%s %s", &[Some("a")]).is_err());
        assert!(format_row("%I", &[None]).is_err());
    }

    #[test]
    fn regexp_split_is_postgresqls() {
        let re = Regex::new(r"\s+").unwrap();
        assert_eq!(split(&re, "a b  c"), vec!["a", "b", "c"]);
        let empty = Regex::new("").unwrap();
        assert_eq!(split(&empty, "abc"), vec!["a", "b", "c"]);
        let comma = Regex::new(",").unwrap();
        assert_eq!(split(&comma, ",a,"), vec!["", "a", ""]);
    }
}
