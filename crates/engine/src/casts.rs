//! Casts whose Arrow result is not PostgreSQL's, replaced by functions that give PostgreSQL's:
//! - to text, of floats, timestamps, times, intervals and arrays: Arrow writes `inf`,
//!   `1e20`, `2024-06-05T10:11:12`, ISO 8601 durations and `[1, 2]`; PostgreSQL writes
//!   `Infinity`, `1e+20`, `2024-06-05 10:11:12+01` (in the session's zone), `1 day 02:00:00`
//!   and `{1,2}`. `pg_text(x)` writes what the Postgres front end sends for `x`.
//! - from text to `timestamp`, `timestamptz` or `date`: Arrow wants seconds and ignores
//!   zones; PostgreSQL reads `2024-06-05 10:11`, and `2024-06-05 10:11:12+05:30` as a
//!   `timestamp` is 10:11:12 (the zone ignored), as a `timestamptz` the instant it names.
//!   `pg_datetime_in(text)` reads as PostgreSQL does (`datetime_input.rs`).
//! - to `numeric` without a precision, of integers and decimals: the SQL planner makes it
//!   `numeric(38,10)`; PostgreSQL keeps the value's scale (`42::numeric` is `42`).
//! - from `timestamptz` to `timestamp`, `date` or `time`: Arrow keeps the UTC wall time;
//!   PostgreSQL takes the local time in the session's zone. `pg_local_time(x)` is that
//!   local time, which is then cast.
//!
//! The rule runs after DataFusion's type coercion, so the implicit casts it adds (`||`,
//! comparisons of `timestamptz` with `date`) are rewritten as well as the written ones.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit, TimestampMicrosecondType};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ExprSchema, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, Cast, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TryCast, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

use crate::text::{
    write_array_element, write_float, write_interval, write_time, write_timestamp,
    write_timestamptz,
};
use crate::zone::SessionZone;

/// The analyzer rule.
#[derive(Debug, Default)]
pub struct PostgresCasts;

impl AnalyzerRule for PostgresCasts {
    fn analyze(&self, plan: LogicalPlan, config: &ConfigOptions) -> Result<LogicalPlan> {
        let zone = config.execution.time_zone.clone();
        rewrite_expressions(plan, |expr, schema| {
            expr.transform_up(|e| {
                let e = date_arithmetic(e, schema, zone.as_deref())?;
                if e.transformed {
                    return Ok(e);
                }
                let e = numeric_arithmetic(e.data, schema)?;
                if e.transformed {
                    return Ok(e);
                }
                rewrite(e.data, schema)
            })
        })
    }

    fn name(&self) -> &str {
        "postgres_casts"
    }
}

/// Literals and casts typed as PostgreSQL types them, before type coercion (so operators
/// and functions coerce them as they would PostgreSQL's):
/// - integer literals are `integer` when they fit in 32 bits, else `bigint` (the SQL parser
///   makes every one `bigint`, so `int_column % 3` and `CASE … THEN 1` came out `bigint`);
/// - a cast to `numeric` without a precision keeps an integer's or decimal's own scale (the
///   SQL planner makes it `numeric(38,10)`: `42::numeric` was `42.0000000000`).
#[derive(Debug, Default)]
pub struct PostgresIntegers;

impl AnalyzerRule for PostgresIntegers {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        // A recursive query's two terms must agree on types the narrowing could change on
        // one side only, and a VALUES list keeps the schema it was built with: both stay
        // as the engine typed them.
        let mut keep = false;
        let _ = plan.apply_with_subqueries(|node| {
            keep |= matches!(
                node,
                LogicalPlan::RecursiveQuery(_) | LogicalPlan::Values(_)
            );
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        });
        if keep {
            return Ok(plan);
        }
        rewrite_expressions(plan, |expr, schema| {
            let dates = date_operands(&expr, schema);
            expr.transform_up(|e| match e {
                // `date + 1` is a date: an `integer` there would be coerced to a timestamp.
                Expr::Literal(ScalarValue::Int64(Some(v)), metadata) if dates.contains(&v) => Ok(
                    Transformed::no(Expr::Literal(ScalarValue::Int64(Some(v)), metadata)),
                ),
                Expr::Literal(ScalarValue::Int64(Some(v)), metadata)
                    if i32::try_from(v).is_ok() =>
                {
                    let narrow = i32::try_from(v).unwrap_or_default();
                    Ok(Transformed::yes(Expr::Literal(
                        ScalarValue::Int32(Some(narrow)),
                        metadata,
                    )))
                }
                Expr::Cast(Cast { expr, field }) if field.data_type() == &UNCONSTRAINED_NUMERIC => {
                    // `numeric` without a precision keeps the value's own scale.
                    let kept = match expr.get_type(schema as &dyn ExprSchema) {
                        Ok(DataType::Decimal128(_, _)) => Some(*expr.clone()),
                        Ok(t) if t.is_integer() => Some(Expr::Cast(Cast::new(
                            expr.clone(),
                            DataType::Decimal128(38, 0),
                        ))),
                        _ => None,
                    };
                    Ok(match kept {
                        Some(kept) => Transformed::yes(kept),
                        None => Transformed::no(Expr::Cast(Cast { expr, field })),
                    })
                }
                other => Ok(Transformed::no(other)),
            })
        })
    }

    fn name(&self) -> &str {
        "postgres_integers"
    }
}

/// Integer literals added to or subtracted from a date somewhere in `expr`.
fn date_operands(expr: &Expr, schema: &DFSchema) -> Vec<i64> {
    let mut found = Vec::new();
    let _ = expr.apply(|e| {
        if let Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Plus | Operator::Minus,
            right,
        }) = e
        {
            for (date, number) in [(left, right), (right, left)] {
                let is_date = matches!(
                    date.get_type(schema as &dyn ExprSchema),
                    Ok(DataType::Date32 | DataType::Date64)
                );
                if let (true, Expr::Literal(ScalarValue::Int64(Some(v)), _)) =
                    (is_date, number.as_ref())
                {
                    found.push(*v);
                }
            }
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    found
}

/// Applies `rewrite` to every expression of every node (subqueries too, LIMIT and OFFSET
/// counts not), keeping each expression's name, as DataFusion's own type coercion does,
/// so that the nodes above still find the columns they name; then recomputes every node's
/// schema for the new types.
fn rewrite_expressions(
    plan: LogicalPlan,
    rewrite: impl Fn(Expr, &DFSchema) -> Result<Transformed<Expr>>,
) -> Result<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        if matches!(node, LogicalPlan::Limit(_)) {
            return Ok(Transformed::no(node));
        }
        let Some(schema) = input_schema(&node) else {
            return Ok(Transformed::no(node));
        };
        let names = NamePreserver::new(&node);
        let rewritten = node.map_expressions(|expr| {
            let name = names.save(&expr);
            Ok(rewrite(expr, &schema)?.update_data(|e| name.restore(e)))
        })?;
        // A node's schema is stored in some nodes (projections, aliases, aggregates): types
        // of the inputs may have changed below even where this node's did not.
        let transformed = rewritten.transformed;
        let node = rewritten.data.recompute_schema()?;
        Ok(if transformed {
            Transformed::yes(node)
        } else {
            Transformed::no(node)
        })
    })
    .map(|t| t.data)
}

/// The columns a node's expressions can name: its inputs' (a scan's own for a scan).
fn input_schema(node: &LogicalPlan) -> Option<DFSchema> {
    if let LogicalPlan::TableScan(scan) = node {
        return DFSchema::try_from_qualified_schema(scan.table_name.clone(), &scan.source.schema())
            .ok();
    }
    let mut schema = DFSchema::empty();
    for input in node.inputs() {
        schema.merge(input.schema());
    }
    Some(schema)
}

/// What the SQL planner makes of `numeric` without precision and scale. PostgreSQL's keeps
/// each value's scale (`42::numeric` is `42`, not `42.0000000000`).
const UNCONSTRAINED_NUMERIC: DataType = DataType::Decimal128(38, 10);

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Whether Arrow's text of a `from` value differs from PostgreSQL's.
fn text_differs(from: &DataType) -> bool {
    matches!(
        from,
        DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Timestamp(_, _)
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Interval(_)
            | DataType::List(_)
            | DataType::LargeList(_)
    )
}

/// Dates in arithmetic as PostgreSQL types it: `date ± interval` is a `timestamp`,
/// `date - date` an `integer`, and `date_trunc(unit, date)` truncates the date as a
/// `timestamptz` of the session's zone (PostgreSQL has no `date_trunc` of a date and
/// picks that of `timestamptz`). The engine kept them dates and `bigint`.
fn date_arithmetic(expr: Expr, schema: &DFSchema, zone: Option<&str>) -> Result<Transformed<Expr>> {
    let type_of = |e: &Expr| e.get_type(schema as &dyn ExprSchema).ok();
    let is_date = |t: &Option<DataType>| matches!(t, Some(DataType::Date32 | DataType::Date64));
    let timestamp = |e: Expr, tz: Option<&str>| {
        Expr::Cast(Cast::new(
            Box::new(e),
            DataType::Timestamp(TimeUnit::Microsecond, tz.map(Into::into)),
        ))
    };
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if matches!(op, Operator::Plus | Operator::Minus) =>
        {
            let (l, r) = (type_of(&left), type_of(&right));
            let interval = |t: &Option<DataType>| matches!(t, Some(DataType::Interval(_)));
            if is_date(&l) && interval(&r) {
                let left = Box::new(timestamp(*left, None));
                return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op,
                    right,
                })));
            }
            if is_date(&r) && interval(&l) && op == Operator::Plus {
                let right = Box::new(timestamp(*right, None));
                return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op,
                    right,
                })));
            }
            // `date ± integer` is a date (days since 1970 plus the days, as a date); the
            // engine's coercion made the date a timestamp.
            let (dl, dr) = (type_of(uncast(&left)), type_of(uncast(&right)));
            let integer = |t: &Option<DataType>| t.as_ref().is_some_and(DataType::is_integer);
            let (il, ir) = (type_of(uncast(&left)), type_of(uncast(&right)));
            if is_date(&dl) && integer(&ir) || is_date(&dr) && integer(&il) && op == Operator::Plus
            {
                let days = |e: &Expr| Expr::Cast(Cast::new(Box::new(e.clone()), DataType::Int64));
                let (date, number) = if is_date(&dl) {
                    (uncast(&left), uncast(&right))
                } else {
                    (uncast(&right), uncast(&left))
                };
                let sum = Expr::BinaryExpr(BinaryExpr {
                    left: Box::new(Expr::Cast(Cast::new(
                        Box::new(date.clone()),
                        DataType::Int32,
                    ))),
                    op,
                    right: Box::new(days(number)),
                });
                let in_range = Expr::Cast(Cast::new(Box::new(sum), DataType::Int32));
                return Ok(Transformed::yes(Expr::Cast(Cast::new(
                    Box::new(in_range),
                    DataType::Date32,
                ))));
            }
            let timestamp_type =
                |t: &Option<DataType>| matches!(t, Some(DataType::Timestamp(_, _)));
            if timestamp_type(&l) && timestamp_type(&r) && op == Operator::Minus {
                // PostgreSQL's `timestamp - timestamp` is days and a time (`321 days
                // 09:43:09`), its hours justified into days; the engine's is all hours.
                let difference = Expr::BinaryExpr(BinaryExpr { left, op, right });
                return Ok(Transformed::yes(Expr::ScalarFunction(
                    ScalarFunction::new_udf(
                        Arc::new(ScalarUDF::new_from_impl(JustifyHours::new())),
                        vec![difference],
                    ),
                )));
            }
            let same = Expr::BinaryExpr(BinaryExpr { left, op, right });
            if is_date(&l)
                && is_date(&r)
                && op == Operator::Minus
                && type_of(&same) != Some(DataType::Int32)
            {
                return Ok(Transformed::yes(Expr::Cast(Cast::new(
                    Box::new(same),
                    DataType::Int32,
                ))));
            }
            Ok(Transformed::no(same))
        }
        Expr::ScalarFunction(mut call)
            if call.name() == "date_trunc"
                && call.args.len() == 2
                && is_date(&type_of(uncast(&call.args[1]))) =>
        {
            let date = uncast(&call.args[1]).clone();
            call.args[1] = timestamp(date, Some(zone.unwrap_or("UTC")));
            Ok(Transformed::yes(Expr::ScalarFunction(call)))
        }
        other => Ok(Transformed::no(other)),
    }
}

/// The expression under any casts type coercion put around it.
fn uncast(expr: &Expr) -> &Expr {
    match expr {
        Expr::Cast(Cast { expr, .. }) => uncast(expr),
        other => other,
    }
}

/// `numeric` arithmetic as PostgreSQL types its results: a division of decimals is
/// `pg_div` (16 decimals, `division.rs`), and `round(x, n)` / `trunc(x, n)` of a decimal
/// has `n` decimals (`round(0.1, 2)` is `0.10`), and `ceil` / `floor` none (DataFusion
/// kept the input's scale).
fn numeric_arithmetic(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let type_of = |e: &Expr| e.get_type(schema as &dyn ExprSchema).ok();
    let is_decimal = |t: &Option<DataType>| matches!(t, Some(DataType::Decimal128(_, _)));
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Divide,
            right,
        }) if is_decimal(&type_of(&left)) || is_decimal(&type_of(&right)) => {
            let exact = |t: &Option<DataType>| {
                matches!(t, Some(DataType::Decimal128(_, _)))
                    || t.as_ref().is_some_and(DataType::is_integer)
            };
            if !(exact(&type_of(&left)) && exact(&type_of(&right))) {
                return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op: Operator::Divide,
                    right,
                })));
            }
            Ok(Transformed::yes(Expr::ScalarFunction(
                ScalarFunction::new_udf(
                    Arc::new(crate::division::division_udf()),
                    vec![*left, *right],
                ),
            )))
        }
        Expr::ScalarFunction(call)
            if matches!(call.name(), "round" | "trunc" | "ceil" | "floor")
                && is_decimal(&call.args.first().and_then(type_of)) =>
        {
            let places = match call.args.get(1).map(uncast) {
                None => Some(0),
                Some(Expr::Literal(v, _)) => {
                    v.cast_to(&DataType::Int64).ok().and_then(|v| match v {
                        ScalarValue::Int64(Some(n)) => {
                            i8::try_from(n).ok().filter(|n| (0..=38).contains(n))
                        }
                        _ => None,
                    })
                }
                Some(_) => None,
            };
            let Some(places) = places else {
                return Ok(Transformed::no(Expr::ScalarFunction(call)));
            };
            Ok(Transformed::yes(Expr::Cast(Cast::new(
                Box::new(Expr::ScalarFunction(call)),
                DataType::Decimal128(38, places),
            ))))
        }
        other => Ok(Transformed::no(other)),
    }
}

fn rewrite(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let (inner, to, try_cast) = match &expr {
        Expr::Cast(Cast { expr, field }) => (expr, field.data_type(), false),
        Expr::TryCast(TryCast { expr, field }) => (expr, field.data_type(), true),
        _ => return Ok(Transformed::no(expr)),
    };
    let Ok(from) = inner.get_type(schema as &dyn ExprSchema) else {
        return Ok(Transformed::no(expr));
    };
    let call = |udf: ScalarUDF, arg: Expr| {
        Expr::ScalarFunction(ScalarFunction::new_udf(Arc::new(udf), vec![arg]))
    };
    let replaced = if is_text(&from) && matches!(to, DataType::Timestamp(_, _) | DataType::Date32) {
        let read = Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(ScalarUDF::new_from_impl(PgDatetimeIn::new(to))),
            vec![(**inner).clone()],
        ));
        let produced = PgDatetimeIn::new(to).produces();
        if &produced == to {
            read
        } else {
            Expr::Cast(Cast::new(Box::new(read), to.clone()))
        }
    } else if is_text(to) && text_differs(&from) {
        let text = call(ScalarUDF::new_from_impl(PgText::new()), (**inner).clone());
        if to == &DataType::Utf8 {
            text
        } else {
            Expr::Cast(Cast::new(Box::new(text), to.clone()))
        }
    } else if matches!(&from, DataType::Timestamp(_, Some(_)))
        && matches!(
            to,
            DataType::Timestamp(_, None)
                | DataType::Date32
                | DataType::Date64
                | DataType::Time64(_)
        )
    {
        let local = call(
            ScalarUDF::new_from_impl(PgLocalTime::new()),
            (**inner).clone(),
        );
        if try_cast {
            Expr::TryCast(TryCast::new(Box::new(local), to.clone()))
        } else {
            Expr::Cast(Cast::new(Box::new(local), to.clone()))
        }
    } else {
        return Ok(Transformed::no(expr));
    };
    Ok(Transformed::yes(replaced))
}

fn zone(config: &ConfigOptions) -> SessionZone {
    config
        .execution
        .time_zone
        .as_deref()
        .and_then(SessionZone::parse)
        .unwrap_or_default()
}

/// `pg_text(x)`: `x` as PostgreSQL's text output writes it.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PgText {
    signature: Signature,
}

impl PgText {
    fn new() -> Self {
        PgText {
            signature: Signature::any(1, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for PgText {
    fn name(&self) -> &str {
        "pg_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = zone(&args.config_options);
        let rows = args.number_rows;
        let array = args
            .args
            .into_iter()
            .next()
            .map(|a| a.into_array(rows))
            .transpose()?
            .ok_or_else(|| {
                datafusion::error::DataFusionError::Plan("pg_text takes one argument".into())
            })?;
        let mut out = StringBuilder::new();
        let texts = texts(&array, &zone)?;
        for text in texts {
            match text {
                Some(bytes) => out.append_value(String::from_utf8_lossy(&bytes)),
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Each value's PostgreSQL text, `None` for NULL.
fn texts(array: &ArrayRef, zone: &SessionZone) -> Result<Vec<Option<Vec<u8>>>> {
    let valid = |row: usize| array.is_valid(row);
    let mut out = Vec::with_capacity(array.len());
    match array.data_type() {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let single = !matches!(array.data_type(), DataType::Float64);
            let floats = cast(array, &DataType::Float64)?;
            for (row, v) in floats
                .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                .iter()
                .enumerate()
            {
                out.push(v.filter(|_| valid(row)).map(|v| {
                    let mut text = Vec::new();
                    write_float(&mut text, v, single, 1);
                    text
                }));
            }
        }
        DataType::Timestamp(_, tz) => {
            let micros = cast(
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            )?;
            for v in micros.as_primitive::<TimestampMicrosecondType>().iter() {
                out.push(
                    v.and_then(chrono::DateTime::from_timestamp_micros)
                        .map(|at| {
                            let mut text = Vec::new();
                            match tz {
                                Some(_) => write_timestamptz(&mut text, &at.naive_utc(), zone),
                                None => write_timestamp(&mut text, &at.naive_utc()),
                            }
                            text
                        }),
                );
            }
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            let micros = cast(array, &DataType::Time64(TimeUnit::Microsecond))?;
            for v in micros
                .as_primitive::<datafusion::arrow::datatypes::Time64MicrosecondType>()
                .iter()
            {
                out.push(v.map(|v| {
                    let mut text = Vec::new();
                    write_time(&mut text, v);
                    text
                }));
            }
        }
        DataType::Interval(_) => {
            let intervals = cast(
                array,
                &DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
            )?;
            for v in intervals
                .as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>()
                .iter()
            {
                out.push(v.map(|v| {
                    let mut text = Vec::new();
                    write_interval(&mut text, v.months, v.days, v.nanoseconds / 1_000);
                    text
                }));
            }
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let lists = cast(
                array,
                &DataType::List(Arc::new(Field::new_list_field(
                    list_item(array.data_type()),
                    true,
                ))),
            )?;
            let lists = lists.as_list::<i32>();
            let nested = matches!(
                list_item(array.data_type()),
                DataType::List(_) | DataType::LargeList(_)
            );
            let element_texts = element_texts(lists.values(), zone)?;
            for (row, window) in lists.value_offsets().windows(2).enumerate() {
                if lists.is_null(row) {
                    out.push(None);
                    continue;
                }
                let mut text = vec![b'{'];
                let (start, end) = (
                    usize::try_from(window[0]).unwrap_or(0),
                    usize::try_from(window[1]).unwrap_or(0),
                );
                for (n, element) in element_texts[start..end].iter().enumerate() {
                    if n > 0 {
                        text.push(b',');
                    }
                    match element {
                        None => text.extend_from_slice(b"NULL"),
                        Some(e) if nested => text.extend_from_slice(e),
                        Some(e) => write_array_element(&mut text, e),
                    }
                }
                text.push(b'}');
                out.push(Some(text));
            }
        }
        _ => {
            let text = cast(array, &DataType::Utf8)?;
            for v in text.as_string::<i32>().iter() {
                out.push(v.map(|v| v.as_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

fn list_item(t: &DataType) -> DataType {
    match t {
        DataType::List(f) | DataType::LargeList(f) => f.data_type().clone(),
        other => other.clone(),
    }
}

/// Array elements' texts: booleans as `t`/`f`, as `array_out` writes them.
fn element_texts(values: &ArrayRef, zone: &SessionZone) -> Result<Vec<Option<Vec<u8>>>> {
    if values.data_type() == &DataType::Boolean {
        return Ok(values
            .as_boolean()
            .iter()
            .map(|v| v.map(|v| if v { b"t".to_vec() } else { b"f".to_vec() }))
            .collect());
    }
    texts(values, zone)
}

/// `pg_local_time(timestamptz)`: the local date and time in the session's zone.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PgLocalTime {
    signature: Signature,
}

impl PgLocalTime {
    fn new() -> Self {
        PgLocalTime {
            signature: Signature::any(1, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for PgLocalTime {
    fn name(&self) -> &str {
        "pg_local_time"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let nullable = args.arg_fields.first().is_none_or(|f| f.is_nullable());
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Timestamp(TimeUnit::Microsecond, None),
            nullable,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = zone(&args.config_options);
        let rows = args.number_rows;
        let Some(array) = args.args.into_iter().next() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "pg_local_time takes one argument".into(),
            ));
        };
        let array = array.into_array(rows)?;
        let tz = match array.data_type() {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        let micros = cast(&array, &DataType::Timestamp(TimeUnit::Microsecond, tz))?;
        let local: TimestampMicrosecondArray = micros
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|v| {
                let at = chrono::DateTime::from_timestamp_micros(v?)?.naive_utc();
                Some((at + zone.offset_at(&at)).and_utc().timestamp_micros())
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(local)))
    }
}

/// `pg_datetime_in(text)`: text read as PostgreSQL reads a `timestamp`, `timestamptz` or
/// `date`; text in no form it knows is left to Arrow's reader, and is `22007` if that
/// cannot read it either.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PgDatetimeIn {
    signature: Signature,
    /// The type asked for.
    target: DataType,
}

impl PgDatetimeIn {
    fn new(target: &DataType) -> Self {
        PgDatetimeIn {
            signature: Signature::any(1, Volatility::Stable),
            target: target.clone(),
        }
    }

    /// What this reader returns: microseconds (PostgreSQL's precision) or days.
    fn produces(&self) -> DataType {
        match &self.target {
            DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            other => other.clone(),
        }
    }
}

impl ScalarUDFImpl for PgDatetimeIn {
    fn name(&self) -> &str {
        "pg_datetime_in"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.produces())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let session = zone(&args.config_options);
        let rows = args.number_rows;
        let Some(array) = args.args.into_iter().next() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "pg_datetime_in takes one argument".into(),
            ));
        };
        let text = cast(&array.into_array(rows)?, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let produced = self.produces();
        let mut values: Vec<Option<i64>> = Vec::with_capacity(text.len());
        for value in text.iter() {
            let Some(value) = value else {
                values.push(None);
                continue;
            };
            let read = crate::datetime_input::parse(value).and_then(|written| match &produced {
                DataType::Timestamp(_, Some(_)) => written.instant(&session),
                DataType::Timestamp(_, None) => Some(written.local.and_utc().timestamp_micros()),
                _ => Some(i64::from(
                    chrono::Datelike::num_days_from_ce(&written.local.date()) - 719_163,
                )),
            });
            let read = match read {
                Some(read) => read,
                None => arrow_reading(value, &produced)?,
            };
            values.push(Some(read));
        }
        let out: ArrayRef = match &produced {
            DataType::Timestamp(_, tz) => {
                let array = TimestampMicrosecondArray::from(values);
                Arc::new(match tz {
                    Some(tz) => array.with_timezone(tz.as_ref()),
                    None => array,
                })
            }
            _ => Arc::new(datafusion::arrow::array::Date32Array::from(
                values
                    .into_iter()
                    .map(|v| v.and_then(|v| i32::try_from(v).ok()))
                    .collect::<Vec<_>>(),
            )),
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// Text in a form PostgreSQL's ISO reader does not cover, read by Arrow's (`20240605`,
/// RFC 3339 forms), as microseconds or days; `22007` if neither can read it.
fn arrow_reading(value: &str, produced: &DataType) -> Result<i64> {
    let one = datafusion::arrow::array::StringArray::from(vec![value]);
    let options = datafusion::arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let kind = match produced {
        DataType::Date32 => "date",
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone",
        _ => "timestamp",
    };
    let refused = || {
        crate::error::ValueError::InvalidDatetimeFormat(format!(
            "invalid input syntax for type {kind}: \"{value}\""
        ))
        .into_datafusion()
    };
    let read = datafusion::arrow::compute::cast_with_options(&one, produced, &options)
        .map_err(|_| refused())?;
    let read = cast(&read, &DataType::Int64)?;
    read.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
        .iter()
        .next()
        .flatten()
        .ok_or_else(refused)
}

/// `justify_hours(interval)`: whole 24 hours of the time part as days, the signs of days
/// and time made to agree (`interval_justify_hours` in PostgreSQL's `timestamp.c`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct JustifyHours {
    signature: Signature,
}

impl JustifyHours {
    fn new() -> Self {
        JustifyHours {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JustifyHours {
    fn name(&self) -> &str {
        "justify_hours"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Interval(
            datafusion::arrow::datatypes::IntervalUnit::MonthDayNano,
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::datatypes::{
            IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit,
        };
        const DAY: i64 = 86_400_000_000_000;
        let rows = args.number_rows;
        let Some(array) = args.args.into_iter().next() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "justify_hours takes one argument".into(),
            ));
        };
        let intervals = cast(
            &array.into_array(rows)?,
            &DataType::Interval(IntervalUnit::MonthDayNano),
        )?;
        let out: datafusion::arrow::array::IntervalMonthDayNanoArray = intervals
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .map(|v| {
                let v = v?;
                let (mut days, mut nanos) =
                    (i64::from(v.days) + v.nanoseconds / DAY, v.nanoseconds % DAY);
                if days > 0 && nanos < 0 {
                    nanos += DAY;
                    days -= 1;
                } else if days < 0 && nanos > 0 {
                    nanos -= DAY;
                    days += 1;
                }
                Some(IntervalMonthDayNano::new(
                    v.months,
                    i32::try_from(days).ok()?,
                    nanos,
                ))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
