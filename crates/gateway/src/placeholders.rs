//! `?` parameter markers, as ADBC (paramstyle `qmark`), JDBC and ODBC write them, numbered
//! into PostgreSQL's `$1`, `$2`, … in the order they appear (Flight SQL leaves the marker
//! syntax to the server; ADBC and the Flight SQL JDBC driver send `?`).

use std::borrow::Cow;

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer};

/// `sql` with each `?` marker written `$n`. A `?` after an expression (PostgreSQL's
/// `jsonb ? key` operator) is left alone, and so is SQL that numbers its own parameters
/// (`$1`) or does not tokenize (the parser then reports the error).
pub fn number_question_marks(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize_with_location() else {
        return Cow::Borrowed(sql);
    };
    if tokens
        .iter()
        .any(|t| matches!(&t.token, Token::Placeholder(p) if p.starts_with('$')))
    {
        return Cow::Borrowed(sql);
    }
    let mut markers = Vec::new();
    let mut previous: Option<&Token> = None;
    for token in &tokens {
        match &token.token {
            Token::Whitespace(_) => continue,
            Token::Question if starts_expression(previous) => markers.push(token.span.start),
            _ => {}
        }
        previous = Some(&token.token);
    }
    if markers.is_empty() {
        return Cow::Borrowed(sql);
    }
    let offsets = line_offsets(sql);
    let mut out = String::with_capacity(sql.len() + markers.len() * 2);
    let mut from = 0;
    for (n, at) in markers.iter().enumerate() {
        let Some(at) = byte_offset(sql, &offsets, at) else {
            return Cow::Borrowed(sql);
        };
        out.push_str(&sql[from..at]);
        out.push_str(&format!("${}", n + 1));
        from = at + 1;
    }
    out.push_str(&sql[from..]);
    Cow::Owned(out)
}

/// Keywords after which a `?` is a value.
const BEFORE_VALUES: &[Keyword] = &[
    Keyword::SELECT,
    Keyword::WHERE,
    Keyword::AND,
    Keyword::OR,
    Keyword::NOT,
    Keyword::ON,
    Keyword::WHEN,
    Keyword::THEN,
    Keyword::ELSE,
    Keyword::CASE,
    Keyword::LIMIT,
    Keyword::OFFSET,
    Keyword::HAVING,
    Keyword::BETWEEN,
    Keyword::LIKE,
    Keyword::ILIKE,
    Keyword::ESCAPE,
    Keyword::DISTINCT,
    Keyword::ALL,
    Keyword::ANY,
    Keyword::SOME,
    Keyword::BY,
    Keyword::FROM,
    Keyword::IS,
    Keyword::AS,
    Keyword::RETURN,
];

/// Whether a value may start after `previous`: at the start, after a keyword, an operator,
/// `(`, `[` or `,` — not after a name, a literal or a closing bracket.
fn starts_expression(previous: Option<&Token>) -> bool {
    match previous {
        None => true,
        // Only keywords an expression follows: many others name columns too (`data`).
        Some(Token::Word(word)) => {
            word.quote_style.is_none() && BEFORE_VALUES.contains(&word.keyword)
        }
        Some(
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_)
            | Token::RParen
            | Token::RBracket,
        ) => false,
        Some(_) => true,
    }
}

/// The byte offset each line starts at.
fn line_offsets(sql: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// A tokenizer location (1-based line and character column) as a byte offset.
fn byte_offset(sql: &str, lines: &[usize], at: &Location) -> Option<usize> {
    let start = *lines.get((at.line as usize).checked_sub(1)?)?;
    let column = (at.column as usize).checked_sub(1)?;
    let (offset, _) = sql[start..].char_indices().nth(column)?;
    let offset = start + offset;
    (sql.as_bytes().get(offset) == Some(&b'?')).then_some(offset)
}

#[cfg(test)]
mod tests {
    use super::number_question_marks as number;

    #[test]
    fn markers_are_numbered_in_order() {
        assert_eq!(
            number("SELECT * FROM t WHERE a = ? AND b IN (?, ?) LIMIT ?"),
            "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3) LIMIT $4"
        );
        assert_eq!(number("SELECT ?"), "SELECT $1");
        assert_eq!(
            number("SELECT 'é?', ?\n  , \"q?\" FROM t -- why?\n WHERE x = ?"),
            "SELECT 'é?', $1\n  , \"q?\" FROM t -- why?\n WHERE x = $2"
        );
        assert_eq!(number("SELECT ? + ?::int"), "SELECT $1 + $2::int");
        assert_eq!(
            number("SELECT CASE WHEN x BETWEEN ? AND ? THEN ? ELSE NOT ? END"),
            "SELECT CASE WHEN x BETWEEN $1 AND $2 THEN $3 ELSE NOT $4 END"
        );
    }

    #[test]
    fn other_question_marks_are_left_alone() {
        for sql in [
            "SELECT 1",
            "SELECT data ? 'key' FROM t",
            "SELECT t.value ? 'key', \"q\" ? 'k' FROM t",
            "SELECT $1, 'a?'",
            "SELECT 'unterminated ?",
        ] {
            assert_eq!(number(sql), sql);
        }
    }
}
