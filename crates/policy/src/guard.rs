//! The statement guard: one decision per parsed statement, shared by every front end.
//!
//! lakegate is read-only. Queries run through the engine; client settings, transaction
//! control and session housekeeping are answered by the front end without touching data;
//! every other statement class is [`Forbidden`]. Unknown statements are forbidden by
//! default, so a new parser feature cannot open a write path.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    CloseCursor, CopyTarget, Declare, Expr, FetchDirection, ObjectName, Reset, Set, Statement,
    TableFactor, Value, ValueWithSpan, Visit, Visitor,
};

use crate::copy::{CopyOut, copy_out};
use crate::error::Forbidden;
use lakegate_pgcompat::setting::{is_engine_option, known};

/// What to do with a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Plan and run it through the engine (SELECT, WITH, VALUES, EXPLAIN, SHOW TABLES…).
    Query,
    /// Set a client setting; `None` restores the default.
    Set {
        name: String,
        value: Option<String>,
    },
    /// `RESET name`, or `RESET ALL` when `None`.
    Reset(Option<String>),
    /// `SHOW name`, or `SHOW ALL`.
    Show(String),
    Transaction(Transaction),
    /// Accepted and changes nothing (`SET ROLE`, `DISCARD ALL`, `UNLISTEN *` …); carries
    /// the command tag to answer with.
    NoOp(&'static str),
    /// `COPY … TO STDOUT`: run the query and write its rows in a copy format.
    CopyOut(CopyOut),
    /// `DECLARE name CURSOR FOR query`: start the query, rows to be fetched later.
    Declare {
        name: String,
        query: String,
    },
    /// `FETCH [FORWARD] n | ALL | NEXT FROM name`: `None` means all remaining rows.
    Fetch {
        name: String,
        rows: Option<u64>,
    },
    /// `MOVE [FORWARD] n | ALL | NEXT IN name`: skip rows, `None` meaning all remaining.
    Move {
        name: String,
        rows: Option<u64>,
    },
    /// `CLOSE name`, or `CLOSE ALL` when `None`.
    CloseCursor(Option<String>),
    /// A valid statement lakegate does not implement yet (e.g. cursors).
    Unsupported(String),
}

/// Transaction control; a read-only server accepts it and keeps the client's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    Begin,
    Commit,
    Rollback,
    Savepoint,
    Release,
    RollbackToSavepoint,
}

/// The parser has no `MOVE`: the gateway parses `MOVE …` as `FETCH … INTO` this marker.
pub const MOVE: &str = "lakegate_move";

/// Table functions a query may call: they generate rows and read nothing.
const TABLE_FUNCTIONS: &[&str] = &[
    "generate_series",
    "range",
    "unnest",
    "pg_get_keywords",
    "pg_partition_ancestors",
];

/// Decides what a statement is. An error means the statement class is forbidden.
pub fn classify(statement: &Statement) -> Result<Action, Forbidden> {
    match statement {
        Statement::Query(_) | Statement::ExplainTable { .. } => {
            check_relations(statement)?;
            Ok(Action::Query)
        }
        Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowViews { .. } => Ok(Action::Query),
        Statement::Explain {
            analyze,
            statement,
            options,
            ..
        } => {
            // `EXPLAIN ANALYZE q` and PostgreSQL's `EXPLAIN (ANALYZE [true]) q` alike.
            let analyze_option = options.iter().flatten().any(|o| {
                o.name.value.eq_ignore_ascii_case("analyze")
                    && !o.arg.as_ref().is_some_and(|arg| {
                        let arg = arg.to_string().to_ascii_lowercase();
                        matches!(arg.trim_matches('\''), "false" | "off" | "0" | "no")
                    })
            });
            if *analyze || analyze_option {
                return Err(Forbidden::ExplainAnalyze);
            }
            match classify(statement)? {
                Action::Query => Ok(Action::Query),
                _ => Err(Forbidden::Statement("EXPLAIN of this".to_string())),
            }
        }
        Statement::Set(set) => classify_set(set),
        Statement::Reset(reset) => Ok(match &reset.reset {
            Reset::ALL => Action::Reset(None),
            Reset::ConfigurationParameter(name) => Action::Reset(Some(name.to_string())),
        }),
        Statement::ShowVariable { variable } => {
            let name = variable
                .iter()
                .map(|i| i.value.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            Ok(Action::Show(name))
        }
        Statement::StartTransaction { .. } => Ok(Action::Transaction(Transaction::Begin)),
        Statement::Commit { .. } => Ok(Action::Transaction(Transaction::Commit)),
        Statement::Rollback { savepoint, .. } => Ok(Action::Transaction(if savepoint.is_some() {
            Transaction::RollbackToSavepoint
        } else {
            Transaction::Rollback
        })),
        Statement::Savepoint { .. } => Ok(Action::Transaction(Transaction::Savepoint)),
        Statement::ReleaseSavepoint { .. } => Ok(Action::Transaction(Transaction::Release)),
        Statement::Discard { .. } => Ok(Action::NoOp("DISCARD ALL")),
        Statement::UNLISTEN { .. } => Ok(Action::NoOp("UNLISTEN")),
        Statement::Deallocate { .. } => Ok(Action::NoOp("DEALLOCATE")),
        Statement::Copy {
            source,
            to: true,
            target: CopyTarget::Stdout,
            options,
            legacy_options,
            ..
        } => Ok(Action::CopyOut(copy_out(source, options, legacy_options)?)),
        Statement::Copy { .. } => Err(Forbidden::CopyFile),
        Statement::Declare { stmts } => declare(stmts),
        Statement::Fetch {
            name,
            direction,
            into,
            ..
        } => {
            let (name, rows) = (name.value.clone(), fetch_rows(direction)?);
            match into {
                None => Ok(Action::Fetch { name, rows }),
                Some(target) if target.to_string() == MOVE => Ok(Action::Move { name, rows }),
                Some(_) => Err(Forbidden::Statement("FETCH INTO".to_string())),
            }
        }
        Statement::Close { cursor } => Ok(Action::CloseCursor(match cursor {
            CloseCursor::All => None,
            CloseCursor::Specific { name } => Some(name.value.clone()),
        })),
        Statement::Prepare { .. } | Statement::Execute { .. } => {
            Ok(Action::Unsupported(leading_keyword(statement)))
        }
        other => Err(forbidden_class(other)),
    }
}

/// A cursor's query is held to the guard like any other.
fn declare(stmts: &[Declare]) -> Result<Action, Forbidden> {
    let [declare] = stmts else {
        return Err(Forbidden::Statement(
            "DECLARE of several cursors".to_string(),
        ));
    };
    let (Some(query), [name]) = (&declare.for_query, declare.names.as_slice()) else {
        return Err(Forbidden::Statement("this DECLARE".to_string()));
    };
    let statement = Statement::Query(query.clone());
    match classify(&statement)? {
        Action::Query => Ok(Action::Declare {
            name: name.value.clone(),
            query: statement.to_string(),
        }),
        _ => Err(Forbidden::Statement("DECLARE of this".to_string())),
    }
}

/// How many rows a forward `FETCH` asks for. Cursors do not scroll backwards.
fn fetch_rows(direction: &FetchDirection) -> Result<Option<u64>, Forbidden> {
    let count = |limit: &ValueWithSpan| match &limit.value {
        Value::Number(n, _) => n
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Forbidden::Statement(format!("FETCH {n}"))),
        other => Err(Forbidden::Statement(format!("FETCH {other}"))),
    };
    match direction {
        FetchDirection::Next => Ok(Some(1)),
        FetchDirection::All | FetchDirection::ForwardAll => Ok(None),
        FetchDirection::Count { limit } => count(limit),
        FetchDirection::Forward { limit } => limit.as_ref().map_or(Ok(Some(1)), count),
        _ => Err(Forbidden::Statement(
            "FETCH backwards (cursors scroll forward only)".to_string(),
        )),
    }
}

fn classify_set(set: &Set) -> Result<Action, Forbidden> {
    match set {
        Set::SingleAssignment {
            variable, values, ..
        } => set_variable(variable, values),
        Set::SetTimeZone { value, .. } => Ok(Action::Set {
            name: "TimeZone".to_string(),
            value: setting_value(std::slice::from_ref(value)),
        }),
        Set::SetNames { charset_name, .. } => Ok(Action::Set {
            name: "client_encoding".to_string(),
            value: Some(charset_name.value.clone()),
        }),
        Set::SetRole { .. } | Set::SetSessionAuthorization(_) | Set::SetTransaction { .. } => {
            Ok(Action::NoOp("SET"))
        }
        Set::MultipleAssignments { assignments } => {
            for a in assignments {
                if is_engine_option(&a.name.to_string()) {
                    return Err(Forbidden::EngineSetting(a.name.to_string()));
                }
            }
            Err(Forbidden::Statement("multi-assignment SET".to_string()))
        }
        _ => Err(Forbidden::Statement("this SET".to_string())),
    }
}

fn set_variable(variable: &ObjectName, values: &[Expr]) -> Result<Action, Forbidden> {
    let name = variable.to_string();
    if is_engine_option(&name) {
        return Err(Forbidden::EngineSetting(name));
    }
    let lower = name.to_ascii_lowercase();
    if lower == "role" || lower == "session authorization" {
        return Ok(Action::NoOp("SET"));
    }
    let canonical = known(&name).map_or(name, |k| k.name.to_string());
    Ok(Action::Set {
        name: canonical,
        value: setting_value(values),
    })
}

/// A setting's value as text: `'ISO', MDY` → `ISO, MDY`; `DEFAULT` → `None`.
fn setting_value(values: &[Expr]) -> Option<String> {
    let parts: Vec<String> = values
        .iter()
        .map(|v| match v {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            Expr::Identifier(ident) => ident.value.clone(),
            other => other.to_string(),
        })
        .collect();
    let joined = parts.join(", ");
    (!joined.eq_ignore_ascii_case("default")).then_some(joined)
}

/// Refuses table references that would read files or URLs, and table functions other
/// than the row generators.
fn check_relations(statement: &Statement) -> Result<(), Forbidden> {
    struct Relations;
    impl Visitor for Relations {
        type Break = Forbidden;
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Forbidden> {
            match factor {
                TableFactor::Table { name, args, .. } => {
                    if looks_like_path(name) {
                        return ControlFlow::Break(Forbidden::UrlTable);
                    }
                    if args.is_some() && !is_allowed_function(name) {
                        return ControlFlow::Break(Forbidden::TableFunction(name.to_string()));
                    }
                    ControlFlow::Continue(())
                }
                TableFactor::Function { name, .. } if !is_allowed_function(name) => {
                    ControlFlow::Break(Forbidden::TableFunction(name.to_string()))
                }
                TableFactor::TableFunction { expr, .. } => {
                    ControlFlow::Break(Forbidden::TableFunction(expr.to_string()))
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    match statement.visit(&mut Relations) {
        ControlFlow::Break(forbidden) => Err(forbidden),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn looks_like_path(name: &ObjectName) -> bool {
    let text = name.to_string();
    text.contains('/')
        || text.contains('\\')
        || text.contains("://")
        || [".parquet", ".csv", ".json", ".avro", ".arrow", ".ndjson"]
            .iter()
            .any(|ext| {
                text.to_ascii_lowercase()
                    .trim_end_matches(['"', '\''])
                    .ends_with(ext)
            })
}

fn is_allowed_function(name: &ObjectName) -> bool {
    let last = name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_ascii_lowercase());
    last.is_some_and(|f| TABLE_FUNCTIONS.contains(&f.as_str()))
}

fn leading_keyword(statement: &Statement) -> String {
    statement
        .to_string()
        .split_whitespace()
        .next()
        .unwrap_or("statement")
        .to_ascii_uppercase()
}

fn forbidden_class(statement: &Statement) -> Forbidden {
    let keyword = leading_keyword(statement);
    match keyword.as_str() {
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "TRUNCATE" | "LOAD" | "UNLOAD" | "REPLACE" => {
            Forbidden::Write(keyword)
        }
        "CREATE" | "ALTER" | "DROP" | "COMMENT" | "GRANT" | "REVOKE" | "RENAME" | "VACUUM"
        | "ANALYZE" | "REFRESH" | "ATTACH" | "DETACH" | "INSTALL" => Forbidden::Ddl(keyword),
        _ => Forbidden::Statement(keyword),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    use super::*;

    fn action(sql: &str) -> Result<Action, Forbidden> {
        let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        classify(&statements[0])
    }

    #[test]
    fn queries_run() {
        assert_eq!(action("SELECT 1").unwrap(), Action::Query);
        assert_eq!(
            action("WITH a AS (SELECT 1) SELECT * FROM a").unwrap(),
            Action::Query
        );
        assert_eq!(action("VALUES (1)").unwrap(), Action::Query);
        assert_eq!(action("EXPLAIN SELECT 1").unwrap(), Action::Query);
        assert_eq!(
            action("SELECT * FROM generate_series(1, 3)").unwrap(),
            Action::Query
        );
    }

    #[test]
    fn writes_and_ddl_are_forbidden() {
        assert!(matches!(action("DROP TABLE x"), Err(Forbidden::Ddl(_))));
        assert!(matches!(
            action("CREATE TABLE x (a int)"),
            Err(Forbidden::Ddl(_))
        ));
        assert!(matches!(
            action("INSERT INTO x VALUES (1)"),
            Err(Forbidden::Write(_))
        ));
        assert!(matches!(action("DELETE FROM x"), Err(Forbidden::Write(_))));
        assert!(matches!(
            action("COPY x FROM '/etc/passwd'"),
            Err(Forbidden::CopyFile)
        ));
        assert!(matches!(
            action("COPY x TO '/tmp/out'"),
            Err(Forbidden::CopyFile)
        ));
        assert!(matches!(
            action("EXPLAIN ANALYZE SELECT 1"),
            Err(Forbidden::ExplainAnalyze)
        ));
        assert!(matches!(
            action("EXPLAIN DELETE FROM x"),
            Err(Forbidden::Write(_))
        ));
        for sql in [
            "EXPLAIN (ANALYZE) SELECT 1",
            "EXPLAIN (ANALYZE true, VERBOSE) SELECT 1",
            "EXPLAIN (analyze on) SELECT 1",
        ] {
            assert_eq!(action(sql), Err(Forbidden::ExplainAnalyze), "{sql}");
        }
        assert_eq!(
            action("EXPLAIN (ANALYZE false) SELECT 1"),
            Ok(Action::Query)
        );
    }

    #[test]
    fn url_tables_and_path_functions_are_forbidden() {
        assert_eq!(
            action("SELECT * FROM '/etc/passwd'"),
            Err(Forbidden::UrlTable)
        );
        assert_eq!(
            action("SELECT * FROM \"lake/raw/x.parquet\""),
            Err(Forbidden::UrlTable)
        );
        assert_eq!(
            action("SELECT * FROM 's3://bucket/key'"),
            Err(Forbidden::UrlTable)
        );
        assert!(matches!(
            action("SELECT * FROM read_parquet('/tmp/x.parquet')"),
            Err(Forbidden::TableFunction(_))
        ));
        assert!(matches!(
            action("SELECT * FROM (SELECT * FROM read_csv('x')) s"),
            Err(Forbidden::TableFunction(_))
        ));
    }

    #[test]
    fn engine_settings_are_forbidden_client_settings_are_not() {
        assert!(matches!(
            action("SET datafusion.execution.batch_size = 1"),
            Err(Forbidden::EngineSetting(_))
        ));
        assert_eq!(
            action("SET application_name = 'psql'").unwrap(),
            Action::Set {
                name: "application_name".into(),
                value: Some("psql".into())
            }
        );
        assert_eq!(
            action("SET datestyle TO 'ISO', MDY").unwrap(),
            Action::Set {
                name: "DateStyle".into(),
                value: Some("ISO, MDY".into())
            }
        );
        assert_eq!(action("SET ROLE admin").unwrap(), Action::NoOp("SET"));
        assert_eq!(
            action("SET SESSION AUTHORIZATION postgres").unwrap(),
            Action::NoOp("SET")
        );
    }

    #[test]
    fn transactions_and_housekeeping_are_accepted() {
        assert_eq!(
            action("BEGIN").unwrap(),
            Action::Transaction(Transaction::Begin)
        );
        assert_eq!(
            action("COMMIT").unwrap(),
            Action::Transaction(Transaction::Commit)
        );
        assert_eq!(
            action("ROLLBACK").unwrap(),
            Action::Transaction(Transaction::Rollback)
        );
        assert_eq!(action("DISCARD ALL").unwrap(), Action::NoOp("DISCARD ALL"));
        assert_eq!(
            action("SHOW search_path").unwrap(),
            Action::Show("search_path".into())
        );
        assert_eq!(action("RESET ALL").unwrap(), Action::Reset(None));
    }
}
