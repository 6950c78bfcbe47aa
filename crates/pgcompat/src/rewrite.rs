//! Rewrites of what drivers send into SQL the engine runs, applied after parsing.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, BinaryOperator, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, Ident, ObjectName, Query, SelectItem, SetExpr, Statement, Subscript, TableAlias,
    TableAliasColumnDef, TableFactor, TableWithJoins, TimezoneInfo, Value, VisitMut, VisitorMut,
    visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// An expression from SQL text we built; `None` leaves the statement as the client sent it.
fn parse_expr(text: &str) -> Option<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .ok()
}

/// Rewrites every statement in place.
pub fn rewrite(statements: &mut [Statement]) {
    for statement in statements {
        let _ = statement.visit(&mut RegisteredNames);
        let _ = statement.visit(&mut FunctionsInFrom);
        let _ = visit_expressions_mut(statement, |expr| {
            local_time(expr);
            domain_cast(expr);
            interval_product(expr);
            split_to_table(expr);
            exponent_literal(expr);
            extract_part(expr);
            average(expr);
            at_time_zone(expr);
            every(expr);
            like_escape(expr);
            name_cast(expr);
            reg_text(expr);
            boolean_text(expr);
            set_returning_function(expr);
            zero_based_subscript(expr);
            composite_field(expr);
            description_function(expr);
            array_subquery(expr);
            catalog_subquery(expr);
            ControlFlow::<()>::Continue(())
        });
    }
}

/// `conrelid::regclass` in a select list (psql's `\d`, DBeaver) shows the relation's name,
/// and `oid::regtype` the type's; the engine holds both as plain OIDs, so a selected cast
/// becomes a lookup. (Elsewhere, in comparisons, the OID is what is meant.)
struct RegisteredNames;

impl VisitorMut for RegisteredNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        // A query ordered by the OID itself keeps it: the engine cannot sort by a column
        // the select list names the same as its lookup.
        let order = query
            .order_by
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let SetExpr::Select(select) = query.body.as_mut() else {
            return ControlFlow::Continue(());
        };
        for item in &mut select.projection {
            let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item
            else {
                continue;
            };
            let Expr::Cast {
                expr: oid,
                data_type,
                ..
            } = &*expr
            else {
                continue;
            };
            if matches!(oid.as_ref(), Expr::Value(_)) || order.contains(&oid.to_string()) {
                continue;
            }
            let reg = data_type.to_string().to_ascii_lowercase();
            let name = match reg.strip_prefix("pg_catalog.").unwrap_or(&reg) {
                // Aliases of their own, which the client's query cannot shadow.
                "regclass" => format!(
                    "(SELECT CASE WHEN lg_n.nspname IN ('pg_catalog', 'public') \
                     THEN quote_ident(lg_c.relname) \
                     ELSE quote_ident(lg_n.nspname) || '.' || quote_ident(lg_c.relname) END \
                     FROM pg_catalog.pg_class lg_c JOIN pg_catalog.pg_namespace lg_n \
                     ON lg_n.oid = lg_c.relnamespace WHERE lg_c.oid = ({oid}))"
                ),
                "regtype" => format!("format_type({oid}, NULL)"),
                _ => continue,
            };
            if let Some(name) = parse_expr(&name) {
                *expr = name;
            }
        }
        ControlFlow::Continue(())
    }
}

/// A set-returning function in FROM (`generate_series(1, 5) g`, `unnest(a)`,
/// `regexp_split_to_table(s, ',')`) gives PostgreSQL one column named after the alias, or
/// after the function when there is none; the engine names it `value` or after the whole
/// call, so `SELECT g FROM generate_series(1, 5) g` found no `g`. The column is named as
/// PostgreSQL names it; `regexp_split_to_table` and `string_to_table` become an `unnest` of
/// the array function.
struct FunctionsInFrom;

/// Set-returning functions of one column, as the engine has them in FROM.
const SET_RETURNING: &[&str] = &["generate_series", "range", "unnest"];

impl VisitorMut for FunctionsInFrom {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name,
            args: Some(args),
            alias,
            ..
        } = factor
        {
            let function = name.to_string().to_ascii_lowercase();
            if let Some(array) = split_array(&function) {
                if let Some(call) = parse_expr(&call_text(array, &args.args)) {
                    *factor = TableFactor::UNNEST {
                        alias: Some(column_alias(alias.take(), &function)),
                        array_exprs: vec![call],
                        with_offset: false,
                        with_offset_alias: None,
                        with_ordinality: false,
                    };
                }
            } else if SET_RETURNING.contains(&function.as_str()) {
                *alias = Some(column_alias(alias.take(), &function));
            }
        } else if let TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset: false,
            ..
        } = factor
            && array_exprs.len() == 1
        {
            *alias = Some(column_alias(alias.take(), "unnest"));
        }
        ControlFlow::Continue(())
    }
}

/// `alias` with its one column named (after the alias, or `function` with no alias), unless
/// the client named the columns.
fn column_alias(alias: Option<TableAlias>, function: &str) -> TableAlias {
    match alias {
        Some(alias) if !alias.columns.is_empty() => alias,
        Some(mut alias) => {
            alias.columns = vec![TableAliasColumnDef::from_name(alias.name.value.clone())];
            alias
        }
        None => TableAlias {
            explicit: true,
            name: Ident::new(function),
            columns: vec![TableAliasColumnDef::from_name(function)],
            at: None,
        },
    }
}

/// The array function whose `unnest` a splitting set-returning function is.
fn split_array(function: &str) -> Option<&'static str> {
    match function {
        "regexp_split_to_table" => Some("regexp_split_to_array"),
        "string_to_table" => Some("string_to_array"),
        _ => None,
    }
}

/// `function(args…)` as SQL text.
fn call_text(function: &str, args: &[FunctionArg]) -> String {
    let args: Vec<String> = args.iter().map(ToString::to_string).collect();
    format!("{function}({})", args.join(", "))
}

/// `regexp_split_to_table(s, p)` / `string_to_table(s, d)` in a select list: the `unnest`
/// of the array function.
fn split_to_table(expr: &mut Expr) {
    let Expr::Function(function) = expr else {
        return;
    };
    let Some(array) = split_array(&function.name.to_string().to_ascii_lowercase()) else {
        return;
    };
    let FunctionArguments::List(list) = &function.args else {
        return;
    };
    if let Some(call) = parse_expr(&format!("unnest({})", call_text(array, &list.args))) {
        *expr = call;
    }
}

/// `2 * interval '1 day'`, `interval '1 hour' * 1.5`: PostgreSQL multiplies an interval by
/// a number (`interval_mul`); the engine has no such operator, so a product with an
/// interval literal on one side becomes `pg_interval_mul(interval, factor)`.
fn interval_product(expr: &mut Expr) {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Multiply,
        right,
    } = expr
    else {
        return;
    };
    let is_interval = |e: &Expr| {
        matches!(e, Expr::Interval(_))
            || matches!(
                e,
                Expr::Cast {
                    data_type: DataType::Interval { .. },
                    ..
                }
            )
            || matches!(e, Expr::TypedString(t) if matches!(t.data_type, DataType::Interval { .. }))
    };
    let (span, factor) = match (is_interval(left), is_interval(right)) {
        (true, false) => (left, right),
        (false, true) => (right, left),
        _ => return,
    };
    if let Some(call) = parse_expr(&format!(
        "pg_interval_mul({span}, CAST({factor} AS DOUBLE PRECISION))"
    )) {
        *expr = call;
    }
}

/// `LOCALTIMESTAMP` and `LOCALTIME` (which the parser reads as names): the current time in
/// the session's zone, without a zone.
fn local_time(expr: &mut Expr) {
    let name = match expr {
        Expr::Identifier(ident) if ident.quote_style.is_none() => ident.value.clone(),
        Expr::Function(function) if matches!(function.args, FunctionArguments::None) => {
            function.name.to_string()
        }
        _ => return,
    };
    let text = match name.to_ascii_lowercase().as_str() {
        "localtimestamp" => "CAST(now() AS TIMESTAMP)",
        "localtime" => "CAST(CAST(now() AS TIMESTAMP) AS TIME)",
        _ => return,
    };
    if let Some(local) = parse_expr(text) {
        *expr = local;
    }
}

/// Casts to `information_schema`'s domains (drivers' catalogue queries write
/// `x::information_schema.sql_identifier`): casts to their base types.
fn domain_cast(expr: &mut Expr) {
    let Expr::Cast { data_type, .. } = expr else {
        return;
    };
    let name = data_type.to_string().to_ascii_lowercase();
    let base = match name.strip_prefix("information_schema.") {
        Some("cardinal_number") => DataType::Integer(None),
        Some("sql_identifier" | "character_data" | "yes_or_no") => DataType::Text,
        Some("time_stamp") => DataType::Timestamp(None, TimezoneInfo::WithTimeZone),
        _ => return,
    };
    *data_type = base;
}

/// `1e3`, `2.5E-3`: in PostgreSQL a numeric literal with an exponent is the `numeric` of
/// its value (`1000`, `0.0025`). The engine reads it as a decimal with a negative scale
/// (1 × 10³ as scale -3), which `numeric` has no form for; it is written out in full, as
/// a `numeric` even when it is whole.
fn exponent_literal(expr: &mut Expr) {
    let Expr::Value(value) = expr else {
        return;
    };
    let Value::Number(text, long) = &value.value else {
        return;
    };
    let Some(plain) = plain_decimal(text) else {
        return;
    };
    if plain.contains('.') {
        // A decimal point makes it `numeric` already.
        value.value = Value::Number(plain, *long);
    } else if let Some(numeric) = parse_expr(&format!("CAST({plain} AS NUMERIC)")) {
        *expr = numeric;
    }
}

/// `1.5e3` as `1500`; `None` if `text` has no exponent or the result would be absurdly
/// long (the engine then refuses it as it is).
fn plain_decimal(text: &str) -> Option<String> {
    let (mantissa, exponent) = text.split_once(['e', 'E'])?;
    let exponent: i64 = exponent.parse().ok()?;
    if exponent.unsigned_abs() > 1000 {
        return None;
    }
    let (int, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = format!("{int}{fraction}");
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let point = i64::try_from(int.len()).ok()? + exponent;
    let plain = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-point).ok()?))
    } else {
        let point = usize::try_from(point).ok()?;
        if point >= digits.len() {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    // Leading zeros of the integer part add nothing.
    let trimmed = plain.trim_start_matches('0');
    Some(if trimmed.is_empty() || trimmed.starts_with('.') {
        format!("0{trimmed}")
    } else {
        trimmed.to_string()
    })
}

/// `extract(f FROM x)` is `numeric` in PostgreSQL and `date_part('f', x)` is `double
/// precision`; the engine's are `integer`. Both become the engine's PostgreSQL-typed
/// functions (`pg_extract`, `pg_date_part`); result columns keep their names (`extract`,
/// `date_part`), which are taken from the SQL as sent.
fn extract_part(expr: &mut Expr) {
    let text = match expr {
        Expr::Extract {
            field, expr: value, ..
        } => {
            let field = field.to_string().to_ascii_lowercase().replace('\'', "''");
            format!("pg_extract('{field}', {value})")
        }
        Expr::Function(function) => {
            let name = function.name.to_string().to_ascii_lowercase();
            if !matches!(
                name.as_str(),
                "date_part" | "pg_catalog.date_part" | "datepart"
            ) {
                return;
            }
            let FunctionArguments::List(list) = &function.args else {
                return;
            };
            let args: Vec<String> = list.args.iter().map(ToString::to_string).collect();
            let [field, value] = args.as_slice() else {
                return;
            };
            format!("pg_date_part({field}, {value})")
        }
        _ => return,
    };
    if let Some(call) = parse_expr(&text) {
        *expr = call;
    }
}

/// `avg(x)` of integers and numerics is `numeric` in PostgreSQL, to 16 decimals; the
/// engine's is a float, or a decimal of 4 more decimals than `x`. It becomes
/// `pg_div(sum(x), count(x))` (the engine's PostgreSQL division), each aggregate with the
/// call's `DISTINCT`, `FILTER` and `OVER`.
fn average(expr: &mut Expr) {
    let Expr::Function(function) = expr else {
        return;
    };
    let name = function.name.to_string().to_ascii_lowercase();
    if !matches!(name.as_str(), "avg" | "pg_catalog.avg") {
        return;
    }
    let FunctionArguments::List(list) = &function.args else {
        return;
    };
    if list.args.len() != 1 {
        return;
    }
    let with_name = |name: &str| {
        let mut call = function.clone();
        call.name = ObjectName::from(vec![Ident::new(name)]);
        call.to_string()
    };
    if let Some(call) = parse_expr(&format!(
        "pg_div({}, {})",
        with_name("sum"),
        with_name("count")
    )) {
        *expr = call;
    }
}

/// `x AT TIME ZONE z` turns a `timestamp` into a `timestamptz` and back in PostgreSQL; the
/// engine's keeps the type. It becomes the engine's `pg_at_time_zone(x, z)`.
fn at_time_zone(expr: &mut Expr) {
    let Expr::AtTimeZone {
        timestamp,
        time_zone,
    } = expr
    else {
        return;
    };
    if let Some(call) = parse_expr(&format!("pg_at_time_zone({timestamp}, {time_zone})")) {
        *expr = call;
    }
}

/// `every(b)` is the SQL standard's name for `bool_and(b)`.
fn every(expr: &mut Expr) {
    if let Expr::Function(function) = expr
        && function.name.to_string().eq_ignore_ascii_case("every")
    {
        function.name = ObjectName::from(vec![Ident::new("bool_and")]);
    }
}

/// `x LIKE p ESCAPE '/'` (SQLAlchemy's schema filters): the engine takes only the
/// backslash, so the pattern is translated to backslash escapes by `like_escape(p, '/')`.
fn like_escape(expr: &mut Expr) {
    let (Expr::Like {
        pattern,
        escape_char,
        ..
    }
    | Expr::ILike {
        pattern,
        escape_char,
        ..
    }) = expr
    else {
        return;
    };
    let Some(escape) = escape_char else {
        return;
    };
    if escape.to_string() == "'\\'" {
        return;
    }
    let text = format!("like_escape({pattern}, {escape})");
    if let Some(translated) = parse_expr(&text) {
        **pattern = translated;
        *escape_char = None;
    }
}

/// `'lake'::name` (psqlODBC): `name` is PostgreSQL's type of identifiers, text here.
fn name_cast(expr: &mut Expr) {
    let Expr::Cast { data_type, .. } = expr else {
        return;
    };
    let written = data_type.to_string().to_ascii_lowercase();
    if matches!(written.as_str(), "name" | "pg_catalog.name" | "\"name\"") {
        *data_type = DataType::Text;
    }
}

/// `oid::regtype::text` (psycopg's type lookups, psql's `\d`) is the type's name; the
/// engine holds a `regtype` as a plain OID.
fn reg_text(expr: &mut Expr) {
    let Expr::Cast {
        expr: inner,
        data_type: outer,
        ..
    } = expr
    else {
        return;
    };
    let Expr::Cast {
        expr: oid,
        data_type: reg,
        ..
    } = inner.as_ref()
    else {
        return;
    };
    let text = matches!(outer, DataType::Text | DataType::Varchar(_))
        || outer.to_string().eq_ignore_ascii_case("pg_catalog.text");
    let reg = reg.to_string().to_ascii_lowercase();
    let regtype = reg.strip_prefix("pg_catalog.").unwrap_or(&reg) == "regtype";
    // PostgreSQL writes the OID 0 (no type) as `-`.
    let named = format!("CASE WHEN {oid} = 0 THEN '-' ELSE format_type({oid}, NULL) END");
    if let (true, true, Some(named)) = (text, regtype, parse_expr(&named)) {
        *expr = named;
    }
}

/// Boolean catalog columns, by the prefixes PostgreSQL names them with.
const BOOLEAN_COLUMNS: &[&str] = &[
    "indis",
    "indimmediate",
    "indcheckxmin",
    "indnullsnotdistinct",
    "attis",
    "atthas",
    "attnotnull",
    "relhas",
    "relis",
    "relrowsecurity",
    "relforcerowsecurity",
    "typisdefined",
    "typbyval",
    "condeferr",
    "convalidated",
    "conislocal",
    "connoinherit",
    "proisstrict",
    "proretset",
    "prosecdef",
    "proleakproof",
    "rolsuper",
    "rolinherit",
    "rolcreate",
    "rolcanlogin",
    "rolreplication",
    "rolbypassrls",
    "datallowconn",
    "datistemplate",
    "opcdefault",
    "tgisinternal",
];

/// `i.indisprimary = 't'` (psqlODBC): PostgreSQL reads the literal as a boolean.
fn boolean_text(expr: &mut Expr) {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Eq | BinaryOperator::NotEq,
        right,
    } = expr
    else {
        return;
    };
    let column = match left.as_ref() {
        Expr::Identifier(ident) => &ident.value,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(last) => &last.value,
            None => return,
        },
        _ => return,
    };
    let column = column.to_ascii_lowercase();
    if !BOOLEAN_COLUMNS.iter().any(|p| column.starts_with(p)) {
        return;
    }
    let Expr::Value(value) = right.as_mut() else {
        return;
    };
    let Value::SingleQuotedString(text) = &value.value else {
        return;
    };
    let truth = match text.to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => true,
        "f" | "false" | "n" | "no" | "off" | "0" => false,
        _ => return,
    };
    value.value = Value::Boolean(truth);
}

/// Set-returning functions that drivers call in a select list, as `unnest` of an array
/// the engine builds: `information_schema._pg_expandarray(a)` (pgjdbc's primary keys)
/// yields `(x, n)` records, `generate_subscripts(a, d)` (SQLAlchemy's keys) the indexes,
/// `generate_series(lo, hi)` (psqlODBC's foreign keys) the numbers.
/// Several in one select list advance together, as in PostgreSQL.
fn set_returning_function(expr: &mut Expr) {
    let Expr::Function(function) = expr else {
        return;
    };
    let name = function.name.to_string().to_ascii_lowercase();
    let array = match name.as_str() {
        "information_schema._pg_expandarray" | "_pg_expandarray" => "pg_expandarray",
        "generate_subscripts" | "pg_catalog.generate_subscripts" => "pg_subscripts",
        "generate_series" | "pg_catalog.generate_series" => "generate_series",
        _ => return,
    };
    let FunctionArguments::List(list) = &function.args else {
        return;
    };
    let args: Vec<String> = list.args.iter().map(ToString::to_string).collect();
    if let Some(unnested) = parse_expr(&format!("unnest({array}({}))", args.join(", "))) {
        *expr = unnested;
    }
}

/// Columns of type `int2vector` or `oidvector`, whose subscripts start at 0; the engine's
/// arrays start at 1.
const ZERO_BASED: &[&str] = &[
    "indkey",
    "indclass",
    "indcollation",
    "indoption",
    "proargtypes",
    "stxkeys",
];

/// `i.indkey[0]` (psqlODBC's primary keys) is the first element.
fn zero_based_subscript(expr: &mut Expr) {
    let Expr::CompoundFieldAccess { root, access_chain } = expr else {
        return;
    };
    let Some(first) = access_chain
        .iter()
        .position(|a| matches!(a, AccessExpr::Subscript(_)))
    else {
        return;
    };
    // `i.indkey[0]` parses as `i` then `.indkey` then `[0]`, or as `i.indkey` then `[0]`.
    let column = match access_chain[..first].last() {
        Some(AccessExpr::Dot(Expr::Identifier(ident))) => ident.value.to_ascii_lowercase(),
        Some(_) => return,
        None => match root.as_ref() {
            Expr::Identifier(ident) => ident.value.to_ascii_lowercase(),
            Expr::CompoundIdentifier(parts) => parts
                .last()
                .map(|p| p.value.to_ascii_lowercase())
                .unwrap_or_default(),
            _ => return,
        },
    };
    if !ZERO_BASED.contains(&column.as_str()) {
        return;
    }
    if let AccessExpr::Subscript(Subscript::Index { index }) = &mut access_chain[first]
        && let Some(shifted) = parse_expr(&format!("({index}) + 1"))
    {
        *index = shifted;
    }
}

/// `(record).field` (pgjdbc's `(result.KEYS).x`) is `get_field(record, 'field')`.
fn composite_field(expr: &mut Expr) {
    let Expr::CompoundFieldAccess { root, access_chain } = expr else {
        return;
    };
    let mut text = match root.as_ref() {
        Expr::Nested(inner) => inner.to_string(),
        Expr::Function(_) => root.to_string(),
        _ => return,
    };
    for access in access_chain.iter() {
        let AccessExpr::Dot(Expr::Identifier(field)) = access else {
            return;
        };
        text = format!("get_field({text}, '{}')", field.value.replace('\'', "''"));
    }
    if let Some(fields) = parse_expr(&text) {
        *expr = fields;
    }
}

/// `obj_description(oid[, 'pg_class'])` and `col_description(oid, attnum)` read
/// `pg_description`, which holds the lake's catalogue entries; as subqueries over it.
fn description_function(expr: &mut Expr) {
    let Expr::Function(function) = expr else {
        return;
    };
    let name = function.name.to_string().to_ascii_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    let FunctionArguments::List(list) = &function.args else {
        return;
    };
    let args: Vec<String> = list.args.iter().map(ToString::to_string).collect();
    let (object, sub) = match (name, args.as_slice()) {
        ("obj_description", [object] | [object, _]) => (object.clone(), "0".to_string()),
        ("col_description", [object, column]) => (object.clone(), column.clone()),
        _ => return,
    };
    let text = format!(
        "(SELECT max(description) FROM pg_catalog.pg_description \
         WHERE objoid = ({object}) AND objsubid = ({sub}))"
    );
    if let Some(subquery) = parse_expr(&text) {
        *expr = subquery;
    }
}

/// `ARRAY(SELECT x FROM … ORDER BY k)` (psql's `\d+`) is `(SELECT array_agg(x ORDER BY k)
/// FROM …)`, which the engine plans.
fn array_subquery(expr: &mut Expr) {
    let Expr::Function(function) = expr else {
        return;
    };
    if !function.name.to_string().eq_ignore_ascii_case("array") {
        return;
    }
    let FunctionArguments::Subquery(query) = &function.args else {
        return;
    };
    let mut query = query.clone();
    let order = query.order_by.take();
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let [SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }] =
        select.projection.as_mut_slice()
    else {
        return;
    };
    let order = match &order {
        Some(order) => format!(" {order}"),
        None => String::new(),
    };
    let Some(aggregated) = parse_expr(&format!("array_agg({item}{order})")) else {
        return;
    };
    *item = aggregated;
    *expr = Expr::Subquery(query);
}

/// Aggregates that already make a subquery return one row.
const AGGREGATES: &[&str] = &[
    "count",
    "max",
    "min",
    "sum",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
];

/// A correlated scalar subquery over catalog tables, such as SQLAlchemy's
/// `(SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE a.atthasdef AND adrelid =
/// a.attrelid AND …)`, in the form the engine decorrelates; user queries over lake tables
/// are left as they are.
/// - It plans correlated scalar subqueries only when they aggregate. Catalog keys make
///   these return at most one row, so `max(…)` of the one expression gives the same answer.
/// - It cannot decorrelate a condition on the outer row alone: such conditions move out in
///   front, `CASE WHEN a.atthasdef THEN (SELECT …) END`, NULL exactly when the subquery was.
/// - It cannot project outer columns: `(SELECT f(a.x, s.y) FROM s WHERE w)` becomes
///   `CASE WHEN (SELECT count(*) FROM s WHERE w) > 0 THEN f(a.x, (SELECT max(s.y) FROM s WHERE w)) END`.
fn catalog_subquery(expr: &mut Expr) {
    let Expr::Subquery(query) = expr else {
        return;
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if grouped || select.projection.len() != 1 || !select.from.iter().all(is_catalog) {
        return;
    }
    let (SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }) =
        &select.projection[0]
    else {
        return;
    };
    let inner = relation_names(&select.from);
    let (mut outer, mut mixed, mut own) = (Vec::new(), Vec::new(), Vec::new());
    for condition in select.selection.clone().map(conjuncts).unwrap_or_default() {
        if only_outer(&condition, &inner) {
            outer.push(condition);
        } else if mentions(&condition, &inner, true) && !is_equality(&condition) {
            mixed.push(condition);
        } else {
            own.push(condition);
        }
    }
    let from: Vec<String> = select.from.iter().map(ToString::to_string).collect();
    let from = from.join(", ");
    let filter = match and_all(own) {
        Some(w) => format!(" WHERE {w}"),
        None => String::new(),
    };
    let one = |e: &Expr| format!("(SELECT max({e}) FROM {from}{filter})");
    // `a.attcollation <> t.typcollation` (psql's `\d`): the subquery's columns are read
    // by subqueries of their own, and the condition joins the guard.
    for mut condition in mixed {
        let _ = visit_expressions_mut(&mut condition, |e| {
            if mentions(e, &inner, false)
                && matches!(e, Expr::CompoundIdentifier(_) | Expr::Identifier(_))
                && let Some(read) = parse_expr(&one(e))
            {
                *e = read;
            }
            ControlFlow::<()>::Continue(())
        });
        outer.push(condition);
    }
    let head = item
        .to_string()
        .split('(')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let aggregated = AGGREGATES.contains(&head.rsplit('.').next().unwrap_or_default());
    let mut text = match item {
        _ if aggregated => format!("(SELECT {item} FROM {from}{filter})"),
        Expr::Function(f) if mentions(item, &inner, true) => {
            let FunctionArguments::List(list) = &f.args else {
                return;
            };
            let args: Vec<String> = list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                        if mentions(e, &inner, false) =>
                    {
                        one(e)
                    }
                    other => other.to_string(),
                })
                .collect();
            format!(
                "CASE WHEN (SELECT count(*) FROM {from}{filter}) > 0 THEN {}({}) END",
                f.name,
                args.join(", ")
            )
        }
        _ => one(item),
    };
    if let Some(guard) = and_all(outer) {
        text = format!("CASE WHEN {guard} THEN {text} END");
    }
    if let Some(rewritten) = parse_expr(&text) {
        *expr = rewritten;
    }
}

fn is_equality(condition: &Expr) -> bool {
    matches!(
        condition,
        Expr::BinaryOp {
            op: BinaryOperator::Eq,
            ..
        }
    )
}

/// Whether an expression names a column of a relation outside `inner` (`outer`), or of
/// one inside it or unqualified (`!outer`).
fn mentions(expr: &Expr, inner: &[String], outer: bool) -> bool {
    let mut found = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| {
        match e {
            Expr::CompoundIdentifier(parts) => {
                let qualifier: Vec<String> = parts[..parts.len().saturating_sub(1)]
                    .iter()
                    .map(|p| p.value.to_ascii_lowercase())
                    .collect();
                found |= inner.contains(&qualifier.join(".")) != outer;
            }
            Expr::Identifier(_) => found |= !outer,
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

fn conjuncts(expr: Expr) -> Vec<Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut all = conjuncts(*left);
            all.extend(conjuncts(*right));
            all
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(*inner)
        }
        other => vec![other],
    }
}

fn and_all(conditions: Vec<Expr>) -> Option<Expr> {
    conditions.into_iter().reduce(|left, right| Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(right),
    })
}

/// The names a query's relations are referred to by: alias, table name, qualified name.
fn relation_names(from: &[TableWithJoins]) -> Vec<String> {
    let mut names = Vec::new();
    for relation in from
        .iter()
        .flat_map(|f| std::iter::once(&f.relation).chain(f.joins.iter().map(|j| &j.relation)))
    {
        if let TableFactor::Table { name, alias, .. } = relation {
            match alias {
                Some(alias) => names.push(alias.name.value.to_ascii_lowercase()),
                None => {
                    let full = name.to_string().to_ascii_lowercase();
                    if let Some(last) = full.rsplit('.').next() {
                        names.push(last.to_string());
                    }
                    names.push(full);
                }
            }
        }
    }
    names
}

/// Whether a condition names columns, all qualified by relations other than `inner`, and
/// holds no subquery.
fn only_outer(condition: &Expr, inner: &[String]) -> bool {
    let mut subquery = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(condition, |e| {
        subquery |= matches!(
            e,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        );
        ControlFlow::<()>::Continue(())
    });
    !subquery && mentions(condition, inner, true) && !mentions(condition, inner, false)
}

/// Whether every relation is a `pg_catalog` or `information_schema` table.
fn is_catalog(from: &TableWithJoins) -> bool {
    std::iter::once(&from.relation)
        .chain(from.joins.iter().map(|j| &j.relation))
        .all(|relation| match relation {
            TableFactor::Table { name, .. } => {
                let parts: Vec<String> = name
                    .0
                    .iter()
                    .map(|p| p.to_string().to_ascii_lowercase())
                    .collect();
                match parts.as_slice() {
                    [table] => table.starts_with("pg_"),
                    [.., schema, _] => schema == "pg_catalog" || schema == "information_schema",
                    [] => false,
                }
            }
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        rewrite(&mut statements);
        statements[0].to_string()
    }

    #[test]
    fn averages_are_an_exact_sum_over_a_count() {
        assert_eq!(
            rewritten(
                "SELECT avg(x), avg(DISTINCT y) FILTER (WHERE z), avg(x) OVER (PARTITION BY k) FROM t"
            ),
            "SELECT pg_div(sum(x), count(x)), pg_div(sum(DISTINCT y) FILTER (WHERE z), count(DISTINCT y) FILTER (WHERE z)), \
             pg_div(sum(x) OVER (PARTITION BY k), count(x) OVER (PARTITION BY k)) FROM t"
        );
    }

    #[test]
    fn extract_and_date_part_take_postgresql_s_types() {
        assert_eq!(
            rewritten(
                "SELECT extract(year FROM t), EXTRACT(EPOCH FROM t), date_part('dow', t) FROM x"
            ),
            "SELECT pg_extract('year', t), pg_extract('epoch', t), pg_date_part('dow', t) FROM x"
        );
    }

    #[test]
    fn exponent_literals_are_written_out_as_numeric_values() {
        assert_eq!(
            rewritten("SELECT 1e3, 2.5e-3, 1.5E+10, 0.1, 12e0, 00.5e1"),
            "SELECT CAST(1000 AS NUMERIC), 0.0025, CAST(15000000000 AS NUMERIC), 0.1, CAST(12 AS NUMERIC), CAST(5 AS NUMERIC)"
        );
    }

    #[test]
    fn like_with_another_escape_character_uses_like_escape() {
        assert_eq!(
            rewritten("SELECT 1 WHERE a NOT LIKE 'pg/_' || '%' ESCAPE '/'"),
            "SELECT 1 WHERE a NOT LIKE like_escape('pg/_' || '%', '/')"
        );
        assert_eq!(
            rewritten("SELECT 1 WHERE a LIKE 'x\\_%' ESCAPE '\\'"),
            "SELECT 1 WHERE a LIKE 'x\\_%' ESCAPE '\\'"
        );
    }

    #[test]
    fn conditions_on_the_outer_row_alone_guard_the_subquery() {
        assert_eq!(
            rewritten(
                "SELECT (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE a.atthasdef AND d.adrelid = a.attrelid) FROM pg_attribute a"
            ),
            "SELECT CASE WHEN a.atthasdef THEN (SELECT max(pg_get_expr(d.adbin, d.adrelid)) FROM pg_attrdef d WHERE d.adrelid = a.attrelid) END FROM pg_attribute a"
        );
    }

    #[test]
    fn inequalities_between_the_rows_join_the_guard() {
        assert_eq!(
            rewritten(
                "SELECT (SELECT t.typname FROM pg_type t WHERE t.oid = a.atttypid AND a.attcollation <> t.typcollation) FROM pg_attribute a"
            ),
            "SELECT CASE WHEN a.attcollation <> (SELECT max(t.typcollation) FROM pg_type t WHERE t.oid = a.atttypid) THEN (SELECT max(t.typname) FROM pg_type t WHERE t.oid = a.atttypid) END FROM pg_attribute a"
        );
    }

    #[test]
    fn driver_array_functions_become_unnest() {
        assert_eq!(
            rewritten(
                "SELECT (information_schema._pg_expandarray(i.indkey)).n, (r.KEYS).x FROM pg_index i"
            ),
            "SELECT get_field(unnest(pg_expandarray(i.indkey)), 'n'), get_field(r.KEYS, 'x') FROM pg_index i"
        );
        assert_eq!(
            rewritten("SELECT generate_series(1, 3) AS i FROM generate_series(1, 2)"),
            "SELECT unnest(generate_series(1, 3)) AS i FROM generate_series(1, 2) AS generate_series (generate_series)"
        );
        assert_eq!(
            rewritten("SELECT generate_subscripts(i.indkey, 1) AS ord FROM pg_index i"),
            "SELECT unnest(pg_subscripts(i.indkey, 1)) AS ord FROM pg_index i"
        );
    }

    #[test]
    fn odbc_literals_take_their_postgresql_types() {
        assert_eq!(
            rewritten(
                "SELECT 'lake'::name FROM pg_index i WHERE i.indisprimary = 't' AND c.contype = 'f'"
            ),
            "SELECT 'lake'::TEXT FROM pg_index i WHERE i.indisprimary = true AND c.contype = 'f'"
        );
    }

    #[test]
    fn registered_names_as_text_are_names() {
        assert_eq!(
            rewritten("SELECT t.oid::regtype::text FROM pg_type t"),
            "SELECT CASE WHEN t.oid = 0 THEN '-' ELSE format_type(t.oid, NULL) END FROM pg_type t"
        );
    }

    #[test]
    fn selected_relation_oids_show_names() {
        let sql = rewritten("SELECT c.conrelid::regclass AS ontable FROM pg_constraint c");
        assert!(sql.contains("quote_ident(lg_c.relname)"), "{sql}");
        assert!(sql.contains("WHERE lg_c.oid = (c.conrelid)"), "{sql}");
        let kept = "SELECT 1 FROM pg_class c WHERE c.oid = 'x'::REGCLASS";
        assert_eq!(rewritten(kept), kept);
    }

    #[test]
    fn int2vector_subscripts_start_at_zero() {
        assert_eq!(
            rewritten("SELECT i.indkey[ia.attnum - 1], c.conkey[1] FROM pg_index i"),
            "SELECT i.indkey[(ia.attnum - 1) + 1], c.conkey[1] FROM pg_index i"
        );
    }

    #[test]
    fn descriptions_read_pg_description() {
        assert_eq!(
            rewritten("SELECT col_description(c.oid, 2) FROM pg_class c"),
            "SELECT (SELECT max(description) FROM pg_catalog.pg_description WHERE objoid = (c.oid) AND objsubid = (2)) FROM pg_class c"
        );
    }

    #[test]
    fn array_of_a_subquery_is_an_aggregating_subquery() {
        assert_eq!(
            rewritten("SELECT array_to_string(ARRAY(SELECT n FROM pg_namespace ORDER BY n), ', ')"),
            "SELECT array_to_string((SELECT array_agg(n ORDER BY n) FROM pg_namespace), ', ')"
        );
    }

    #[test]
    fn correlated_catalog_subqueries_aggregate_and_lake_ones_do_not() {
        assert_eq!(
            rewritten(
                "SELECT (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid) FROM pg_attribute a"
            ),
            "SELECT (SELECT max(pg_get_expr(d.adbin, d.adrelid)) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid) FROM pg_attribute a"
        );
        let lake = "SELECT (SELECT t.vrm FROM parking_raw_zone.tickets AS t WHERE t.pcn = a.pcn) FROM x AS a";
        assert_eq!(rewritten(lake), lake);
        let counted = "SELECT (SELECT count(*) FROM pg_class AS c WHERE c.oid = a.attrelid) FROM pg_attribute AS a";
        assert_eq!(rewritten(counted), counted);
    }
}
