//! Server logs on stderr: text for people, or one JSON object a line for log shippers.
//!
//! Log lines carry values users control (a startup user name, token claims, lake paths).
//! In text, every control character in a value is escaped (`\n`, `\u{1b}`), so a value
//! can neither forge a log line nor drive a terminal; colour is used only on a terminal.
//! JSON escapes them by its own rules.

use std::fmt::Write as _;
use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `2026-01-01T00:00:00Z  INFO lakegate: message key=value`.
    #[default]
    Text,
    /// One JSON object a line (timestamp, level, target, fields).
    Json,
}

/// Installs the global subscriber; `RUST_LOG` overrides the level. Tokens are never logged.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,pgwire=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .fmt_fields(
                tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
                    let text = escaped(&format!("{value:?}"));
                    if field.name() == "message" {
                        write!(writer, "{text}")
                    } else {
                        write!(writer, "{field}={text}")
                    }
                })
                .delimited(" "),
            )
            .try_init(),
    };
}

/// `text` with its control characters escaped.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_lines_or_drive_terminals() {
        assert_eq!(escaped("eve\nINFO forged"), "eve\\nINFO forged");
        assert_eq!(escaped("x\u{1b}[31mred"), "x\\u{1b}[31mred");
        assert_eq!(escaped("plain café"), "plain café");
    }
}
