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

mod functions;
mod interval;

pub use interval::interval_mul_udf;

pub(crate) use functions::texts;

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ExprSchema, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator, ScalarUDF, TryCast,
};
use datafusion::optimizer::AnalyzerRule;

use functions::{JustifyHours, PgDatetimeIn, PgLocalTime, PgText};

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
