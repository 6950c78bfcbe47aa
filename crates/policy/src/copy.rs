//! `COPY … TO STDOUT`: which query it runs and how its rows are written.

use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, Ident, ObjectName, Query,
};

use crate::error::Forbidden;

/// How `COPY … TO STDOUT` writes rows, as PostgreSQL defines its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOut {
    /// The query whose rows are copied: the `(query)`, or `SELECT cols FROM table`.
    pub query: String,
    pub format: CopyFormat,
    pub header: bool,
    pub delimiter: Option<char>,
    pub null: Option<String>,
    pub quote: Option<char>,
    pub escape: Option<char>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    Text,
    Csv,
    Binary,
}

/// The copy a `COPY source TO STDOUT` statement asks for.
pub fn copy_out(
    source: &CopySource,
    options: &[CopyOption],
    legacy: &[CopyLegacyOption],
) -> Result<CopyOut, Forbidden> {
    let mut out = CopyOut {
        query: query_of(source),
        format: CopyFormat::Text,
        header: false,
        delimiter: None,
        null: None,
        quote: None,
        escape: None,
    };
    for option in options {
        match option {
            CopyOption::Format(name) => out.format = format_named(name)?,
            CopyOption::Header(h) => out.header = *h,
            CopyOption::Delimiter(c) => out.delimiter = Some(*c),
            CopyOption::Null(s) => out.null = Some(s.clone()),
            CopyOption::Quote(c) => out.quote = Some(*c),
            CopyOption::Escape(c) => out.escape = Some(*c),
            // Options that only matter when reading into a table, or that change nothing
            // for UTF-8 output.
            CopyOption::Freeze(_)
            | CopyOption::ForceNotNull(_)
            | CopyOption::ForceNull(_)
            | CopyOption::ForceQuote(_)
            | CopyOption::Encoding(_) => {}
        }
    }
    for option in legacy {
        match option {
            CopyLegacyOption::Binary => out.format = CopyFormat::Binary,
            CopyLegacyOption::Delimiter(c) => out.delimiter = Some(*c),
            CopyLegacyOption::Null(s) => out.null = Some(s.clone()),
            CopyLegacyOption::Csv(csv) => {
                out.format = CopyFormat::Csv;
                for o in csv {
                    match o {
                        CopyLegacyCsvOption::Header => out.header = true,
                        CopyLegacyCsvOption::Quote(c) => out.quote = Some(*c),
                        CopyLegacyCsvOption::Escape(c) => out.escape = Some(*c),
                        CopyLegacyCsvOption::ForceQuote(_)
                        | CopyLegacyCsvOption::ForceNotNull(_) => {}
                    }
                }
            }
            other => return Err(Forbidden::Statement(format!("COPY option {other}"))),
        }
    }
    Ok(out)
}

fn format_named(name: &Ident) -> Result<CopyFormat, Forbidden> {
    match name.value.to_ascii_lowercase().as_str() {
        "text" => Ok(CopyFormat::Text),
        "csv" => Ok(CopyFormat::Csv),
        "binary" => Ok(CopyFormat::Binary),
        other => Err(Forbidden::Statement(format!("COPY format {other}"))),
    }
}

fn query_of(source: &CopySource) -> String {
    match source {
        CopySource::Query(query) => Query::to_string(query),
        CopySource::Table {
            table_name,
            columns,
        } => select_from(table_name, columns),
    }
}

fn select_from(table: &ObjectName, columns: &[Ident]) -> String {
    let list = if columns.is_empty() {
        "*".to_string()
    } else {
        columns
            .iter()
            .map(Ident::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("SELECT {list} FROM {table}")
}
