//! Limits on statement size and nesting, checked before anything recursive sees the SQL.
//!
//! `1 + 1 + … + 1` parses in a loop but yields a tree as deep as it is long, and the
//! rewriters, planner, printers and even `Drop` walk trees recursively: a long enough chain
//! would overflow a thread's stack and abort the whole server. So the statement is first
//! tokenised (iteratively) and its structural tokens — everything but literals, commas and
//! whitespace — are counted: a tree cannot be deeper than that, so long IN lists pass while
//! long operator chains are refused before a tree exists. Then the parsed expression depth
//! is measured by a walk that stops one level past the limit.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::QueryError;

/// Tokens in one request (all its statements); enough for IN lists of hundreds of thousands.
pub const MAX_TOKENS: usize = 1_000_000;
/// Tokens that can deepen a tree (operators, keywords, names, brackets).
pub const MAX_STRUCTURE: usize = 20_000;
/// Nesting of expressions (operators, function calls, parentheses, subqueries).
pub const MAX_DEPTH: usize = 1_000;
/// The highest parameter number (`$65535`), as in PostgreSQL, whose Bind message counts
/// parameters in 16 bits. Parameter lists are allocated up to the highest number used.
pub const MAX_PARAMETER: u64 = 65_535;
/// Relational operators (SELECT, JOIN, UNION, INTERSECT, EXCEPT): each can add a level to
/// the plan, which the planner and optimizer walk recursively.
pub const MAX_RELATIONS: usize = 200;

/// Refuses a request that is too large or too deeply nested to process safely.
pub fn check(sql: &str) -> Result<(), QueryError> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(|e| QueryError::Syntax(e.to_string()))?;
    let meaningful = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .count();
    if meaningful > MAX_TOKENS {
        return Err(QueryError::TooComplex(format!(
            "the statement has {meaningful} tokens; at most {MAX_TOKENS} are accepted"
        )));
    }
    let structure = tokens.iter().filter(|t| is_structural(t)).count();
    if structure > MAX_STRUCTURE {
        return Err(QueryError::TooComplex(format!(
            "the statement has {structure} operators, names and keywords; at most {MAX_STRUCTURE} are accepted"
        )));
    }
    for token in &tokens {
        if let Token::Placeholder(p) = token
            && let Some(number) = p.strip_prefix('$')
            && (number.len() > 6 || number.parse::<u64>().is_ok_and(|n| n > MAX_PARAMETER))
        {
            return Err(QueryError::LimitExceeded(format!(
                "parameter {p} is out of range; at most ${MAX_PARAMETER} is allowed"
            )));
        }
    }
    let relations = tokens.iter().filter(|t| is_relational(t)).count();
    if relations > MAX_RELATIONS {
        return Err(QueryError::TooComplex(format!(
            "the statement has {relations} SELECT, JOIN and set operations; at most {MAX_RELATIONS} are accepted"
        )));
    }
    let statements = Parser::new(&dialect)
        .with_tokens(tokens)
        .parse_statements()
        .map_err(|e| QueryError::Syntax(e.to_string()))?;
    for statement in &statements {
        let mut depth = Depth::default();
        if statement.visit(&mut depth).is_break() {
            return Err(QueryError::TooComplex(format!(
                "expressions are nested more than {MAX_DEPTH} levels deep"
            )));
        }
    }
    Ok(())
}

fn is_structural(token: &Token) -> bool {
    !matches!(
        token,
        Token::Whitespace(_)
            | Token::Comma
            | Token::Number(_, _)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::DollarQuotedString(_)
    )
}

fn is_relational(token: &Token) -> bool {
    use datafusion::sql::sqlparser::keywords::Keyword;
    matches!(token, Token::Word(w) if matches!(
        w.keyword,
        Keyword::SELECT | Keyword::JOIN | Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT
    ))
}

#[derive(Default)]
struct Depth {
    current: usize,
}

impl Visitor for Depth {
    type Break = ();

    fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
        self.current += 1;
        if self.current > MAX_DEPTH {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
        self.current -= 1;
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> String {
        format!("SELECT 1{}", " + 1".repeat(n))
    }

    #[test]
    fn ordinary_statements_pass() {
        assert!(check("SELECT a, b FROM t WHERE x IN (1, 2, 3) AND y = 'z'").is_ok());
        assert!(check(&chain(900)).is_ok());
        let in_list = format!("SELECT 1 WHERE x IN ({})", vec!["'v'"; 100_000].join(", "));
        assert!(check(&in_list).is_ok());
    }

    #[test]
    fn parameter_numbers_past_postgresql_s_limit_are_refused() {
        assert!(check("SELECT $65535").is_ok());
        for sql in [
            "SELECT $65536",
            "SELECT $2000000000",
            "SELECT $99999999999999999999999",
        ] {
            assert!(
                matches!(check(sql), Err(QueryError::LimitExceeded(_))),
                "{sql}"
            );
        }
    }

    #[test]
    fn deep_chains_and_huge_statements_are_refused() {
        assert!(matches!(
            check(&chain(5_000)),
            Err(QueryError::TooComplex(_))
        ));
        assert!(matches!(
            check(&chain(15_000)),
            Err(QueryError::TooComplex(_))
        ));
        assert!(matches!(
            check(&chain(600_000)),
            Err(QueryError::TooComplex(_))
        ));
        let nested = format!("SELECT {}1{}", "abs(".repeat(1_200), ")".repeat(1_200));
        assert!(check(&nested).is_err());
        let unions = format!("SELECT 1{}", " UNION ALL SELECT 1".repeat(300));
        assert!(matches!(check(&unions), Err(QueryError::TooComplex(_))));
        let ctes: Vec<String> = (1..300)
            .map(|i| format!("a{i} AS (SELECT x FROM a{})", i - 1))
            .collect();
        let chain = format!(
            "WITH a0 AS (SELECT 1 AS x), {} SELECT * FROM a299",
            ctes.join(", ")
        );
        assert!(matches!(check(&chain), Err(QueryError::TooComplex(_))));
    }
}
