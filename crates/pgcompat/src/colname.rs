//! Result column names as PostgreSQL gives them (`SELECT count(*)` is `count`, `SELECT 1`
//! is `?column?`, `'x'::text` is `text`), where the engine would name the column after the
//! whole expression. Drivers and BI tools read columns by these names.
//!
//! Names come from the statement as the client wrote it, before the rewrites that make it
//! plannable change its expressions, and go onto the outermost select list of the
//! statement that runs.

use std::collections::HashSet;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, CastKind, DataType, Expr, Ident, ObjectNamePart, Query, SelectItem, SetExpr,
    Statement,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// Names the outermost select list of each statement of `rewritten` after the matching
/// statement of `sql` as the client wrote it.
pub fn name_columns(sql: &str, rewritten: &mut [Statement]) {
    let Ok(original) = Parser::parse_sql(&PostgreSqlDialect {}, sql) else {
        return;
    };
    if original.len() != rewritten.len() {
        return;
    }
    for (written, statement) in original.iter().zip(rewritten.iter_mut()) {
        let (Statement::Query(written), Statement::Query(running)) = (written, statement) else {
            continue;
        };
        let (Some(names), Some(items)) = (figured_names(written), select_list(running)) else {
            continue;
        };
        if names.len() != items.len() {
            continue;
        }
        apply(names, items);
    }
}

/// The names of a query's columns, from its first select.
fn figured_names(query: &Query) -> Option<Vec<Option<String>>> {
    let SetExpr::Select(select) = first_select(&query.body)? else {
        return None;
    };
    Some(
        select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::UnnamedExpr(expr) => Some(figure(expr).0),
                _ => None,
            })
            .collect(),
    )
}

fn first_select(body: &SetExpr) -> Option<&SetExpr> {
    match body {
        SetExpr::Select(_) => Some(body),
        SetExpr::SetOperation { left, .. } => first_select(left),
        SetExpr::Query(query) => first_select(&query.body),
        _ => None,
    }
}

fn select_list(query: &mut Query) -> Option<&mut Vec<SelectItem>> {
    let mut body = query.body.as_mut();
    loop {
        match body {
            SetExpr::Select(select) => return Some(&mut select.projection),
            SetExpr::SetOperation { left, .. } => body = left.as_mut(),
            SetExpr::Query(query) => body = query.body.as_mut(),
            _ => return None,
        }
    }
}

/// Separates a column's name from the suffix that keeps it unique: PostgreSQL allows two
/// columns of one name (`SELECT NULL, NULL`), the engine does not.
const UNIQUE: char = '\u{1f}';

/// A column's name as the client should see it.
pub fn wire_name(name: &str) -> &str {
    name.split(UNIQUE).next().unwrap_or(name)
}

/// Names each expression the client left unnamed (the rewrites may have aliased it since),
/// except plain columns, which the engine names so already. A name already taken — by an
/// earlier column, alias or expression: PostgreSQL allows `SELECT a, a` — gets a suffix the
/// wire drops.
fn apply(names: Vec<Option<String>>, items: &mut [SelectItem]) {
    let mut taken: HashSet<String> = HashSet::new();
    for (name, item) in names.into_iter().zip(items.iter_mut()) {
        let figured = match &*item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }
                if !matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) =>
            {
                name
            }
            _ => None,
        };
        let (Some(name), SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) =
            (figured.or_else(|| current_name(item)), &*item)
        else {
            continue;
        };
        let mut unique = name.clone();
        let mut n = 1;
        while !taken.insert(unique.clone()) {
            unique = format!("{name}{UNIQUE}{n}");
            n += 1;
        }
        if current_name(item).as_deref() != Some(unique.as_str()) {
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias: Ident::with_quote('"', unique),
            };
        }
    }
}

fn current_name(item: &SelectItem) -> Option<String> {
    match item {
        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
        SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(i.value.clone()),
        SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
            parts.last().map(|p| p.value.clone())
        }
        _ => None,
    }
}

/// PostgreSQL's `FigureColname`: a name and how sure it is (2 for a name taken from the
/// expression, 1 for a type name, 0 for `?column?`).
fn figure(expr: &Expr) -> (String, u8) {
    let named = |n: &str| (n.to_string(), 2);
    match expr {
        Expr::Identifier(ident) => named(&ident.value),
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(last) => named(&last.value),
            None => unknown(),
        },
        Expr::CompoundFieldAccess { root, access_chain } => match access_chain.last() {
            Some(AccessExpr::Dot(Expr::Identifier(field))) => named(&field.value),
            _ => figure(root),
        },
        Expr::Function(function) => match function.name.0.last() {
            Some(ObjectNamePart::Identifier(name)) => named(&name.value.to_ascii_lowercase()),
            _ => unknown(),
        },
        Expr::Cast {
            kind,
            expr,
            data_type,
            ..
        } => {
            let inner = figure(expr);
            match kind {
                _ if inner.1 > 1 => inner,
                CastKind::Cast | CastKind::DoubleColon | CastKind::TryCast | CastKind::SafeCast => {
                    (type_name(data_type), 1)
                }
            }
        }
        // `TIMESTAMP '…'`: named after its type, as a cast is.
        Expr::TypedString(typed) => (type_name(&typed.data_type), 1),
        Expr::Collate { expr, .. } | Expr::Nested(expr) => figure(expr),
        Expr::Exists { .. } => named("exists"),
        Expr::Array(_) => named("array"),
        Expr::Tuple(_) => named("row"),
        Expr::Subquery(query) => match figured_names(query).as_deref() {
            Some([Some(name), ..]) => named(name),
            _ => unknown(),
        },
        Expr::Case { else_result, .. } => match else_result.as_deref().map(figure) {
            Some(name) if name.1 > 1 => name,
            _ => named("case"),
        },
        Expr::Extract { .. } => named("extract"),
        Expr::Substring { .. } => named("substring"),
        Expr::Trim { .. } => named("btrim"),
        Expr::Position { .. } => named("position"),
        Expr::Overlay { .. } => named("overlay"),
        Expr::Ceil { .. } => named("ceil"),
        Expr::Floor { .. } => named("floor"),
        _ => unknown(),
    }
}

fn unknown() -> (String, u8) {
    ("?column?".to_string(), 0)
}

/// A type's name as PostgreSQL's parser resolves it (`integer` is `int4`).
fn type_name(data_type: &DataType) -> String {
    let written = data_type.to_string().to_ascii_lowercase();
    let base = written.split('(').next().unwrap_or_default().trim();
    let base = base.rsplit('.').next().unwrap_or(base);
    match base {
        "int" | "integer" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "real" => "float4",
        "double precision" | "float" => "float8",
        "boolean" => "bool",
        "character varying" => "varchar",
        "character" | "char" => "bpchar",
        "decimal" => "numeric",
        "timestamp with time zone" => "timestamptz",
        "timestamp without time zone" => "timestamp",
        "time with time zone" => "timetz",
        "time without time zone" => "time",
        other => other,
    }
    .trim_matches('"')
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<String> {
        let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        name_columns(sql, &mut statements);
        let Statement::Query(query) = &mut statements[0] else {
            panic!("not a query")
        };
        select_list(query)
            .unwrap()
            .iter()
            .map(|item| match item {
                SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    #[test]
    fn columns_are_named_as_postgresql_names_them() {
        assert_eq!(
            names("SELECT count(*), 1, 'x'::text, 2::integer, a.b, c AS d, current_schema()"),
            [
                "count",
                "?column?",
                "text",
                "int4",
                "a.b",
                "d",
                "current_schema"
            ]
        );
        assert_eq!(
            names(
                "SELECT CASE WHEN x THEN 1 END, CASE WHEN x THEN 1 ELSE y END, (SELECT max(z) FROM t), pg_catalog.format_type(1, 2)"
            ),
            ["case", "y", "max", "format_type"]
        );
    }

    #[test]
    fn repeated_names_are_kept_apart_until_the_wire() {
        let named = names("SELECT 1, 2");
        assert_eq!(
            named.iter().map(|n| wire_name(n)).collect::<Vec<_>>(),
            ["?column?", "?column?"]
        );
        assert_ne!(named[0], named[1]);
    }
}
