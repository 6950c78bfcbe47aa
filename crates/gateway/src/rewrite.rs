//! Rewrites of what drivers send into SQL the engine runs, applied after parsing.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, FunctionArguments, GroupByExpr, SelectItem, SetExpr, Statement,
    TableFactor, TableWithJoins, Value, visit_expressions_mut,
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
        let _ = visit_expressions_mut(statement, |expr| {
            like_escape(expr);
            search_path_with_pg_catalog(expr);
            description_function(expr);
            array_subquery(expr);
            catalog_scalar_subquery(expr);
            guarded_catalog_subquery(expr);
            ControlFlow::<()>::Continue(())
        });
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

/// `'pg_class'::regclass` becomes a lookup of `nspname = current_schema()` before it reaches
/// us; PostgreSQL also searches `pg_catalog`, which drivers rely on
/// (`classoid = 'pg_class'::regclass`).
fn search_path_with_pg_catalog(expr: &mut Expr) {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Eq,
        right,
    } = expr
    else {
        return;
    };
    let is_nspname = left.to_string().ends_with("nspname");
    let is_current_schema = right.to_string().eq_ignore_ascii_case("current_schema()");
    if !(is_nspname && is_current_schema) {
        return;
    }
    let text = format!("{left} IN (current_schema(), 'pg_catalog')");
    if let Some(widened) = parse_expr(&text) {
        *expr = widened;
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
/// `(SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = attrelid AND …)`:
/// the engine plans correlated scalar subqueries only when they aggregate. Catalog keys make
/// these return at most one row, so `max(…)` of the one expression gives the same answer.
/// User queries over lake tables are left as they are.
fn catalog_scalar_subquery(expr: &mut Expr) {
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
        &mut select.projection[0]
    else {
        return;
    };
    let text = item.to_string();
    let head = text
        .split('(')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if AGGREGATES.contains(&head.rsplit('.').next().unwrap_or_default()) {
        return;
    }
    if let Some(aggregated) = parse_expr(&format!("max({text})")) {
        *item = aggregated;
    }
}

/// `CASE WHEN c THEN (SELECT max(x) FROM pg_… WHERE w) END` (SQLAlchemy's column
/// defaults and identities): the engine cannot plan a correlated subquery inside `CASE`, so
/// the condition moves into the subquery, `(SELECT max(x) FROM pg_… WHERE (w) AND (c))`,
/// which is NULL exactly when the `CASE` was.
fn guarded_catalog_subquery(expr: &mut Expr) {
    let Expr::Case {
        operand: None,
        conditions,
        else_result,
        ..
    } = expr
    else {
        return;
    };
    let null_else = match else_result {
        None => true,
        Some(e) => matches!(e.as_ref(), Expr::Value(v) if v.value == Value::Null),
    };
    let ([when], true) = (conditions.as_slice(), null_else) else {
        return;
    };
    let Expr::Subquery(query) = &when.result else {
        return;
    };
    let mut query = query.clone();
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let aggregated = matches!(
        select.projection.as_slice(),
        [SelectItem::UnnamedExpr(Expr::Function(f)) | SelectItem::ExprWithAlias { expr: Expr::Function(f), .. }]
            if AGGREGATES.contains(&f.name.to_string().to_ascii_lowercase().as_str())
    );
    if !aggregated || !select.from.iter().all(is_catalog) {
        return;
    }
    let condition = Expr::Nested(Box::new(when.condition.clone()));
    select.selection = Some(match select.selection.take() {
        Some(w) => Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(w))),
            op: BinaryOperator::And,
            right: Box::new(condition),
        },
        None => condition,
    });
    *expr = Expr::Subquery(query);
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
    fn a_case_guarded_catalog_subquery_takes_its_guard_inside() {
        assert_eq!(
            rewritten(
                "SELECT CASE WHEN a.atthasdef THEN (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE d.adrelid = a.attrelid) ELSE NULL END FROM pg_attribute a"
            ),
            "SELECT (SELECT max(pg_get_expr(d.adbin, d.adrelid)) FROM pg_attrdef d WHERE (d.adrelid = a.attrelid) AND (a.atthasdef)) FROM pg_attribute a"
        );
    }

    #[test]
    fn regclass_lookups_also_search_pg_catalog() {
        assert_eq!(
            rewritten(
                "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid WHERE n.nspname = current_schema() AND c.relname = 'pg_class'"
            ),
            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid WHERE n.nspname IN (current_schema(), 'pg_catalog') AND c.relname = 'pg_class'"
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
