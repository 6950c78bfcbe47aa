//! Client settings: the `SET`/`SHOW` parameters drivers use, none of which reach the engine.

/// A client setting lakegate knows: its canonical name, default, and whether PostgreSQL
/// reports changes to it with `ParameterStatus`.
#[derive(Debug, Clone, Copy)]
pub struct KnownSetting {
    pub name: &'static str,
    pub default: &'static str,
    pub reported: bool,
}

const fn s(name: &'static str, default: &'static str, reported: bool) -> KnownSetting {
    KnownSetting {
        name,
        default,
        reported,
    }
}

/// The settings drivers set or show. Names are PostgreSQL's, matched case-insensitively.
pub const KNOWN: &[KnownSetting] = &[
    s("application_name", "", true),
    s("client_encoding", "UTF8", true),
    s("DateStyle", "ISO, MDY", true),
    s("IntervalStyle", "postgres", true),
    s("TimeZone", "UTC", true),
    s("standard_conforming_strings", "on", true),
    s("integer_datetimes", "on", true),
    s("is_superuser", "off", true),
    s("server_encoding", "UTF8", true),
    s(
        "server_version",
        concat!(pg_version!(), " (lakegate)"),
        true,
    ),
    s("search_path", "\"$user\", public", false),
    s("extra_float_digits", "1", false),
    s("statement_timeout", "0", false),
    s("lock_timeout", "0", false),
    s("idle_in_transaction_session_timeout", "0", false),
    s("bytea_output", "hex", false),
    s("client_min_messages", "notice", false),
    s("default_transaction_read_only", "on", false),
    s("transaction_read_only", "on", false),
    s("default_transaction_isolation", "read committed", false),
    s("transaction_isolation", "read committed", false),
    s("lc_collate", "C", false),
    s("lc_ctype", "C", false),
    s("lc_messages", "C", false),
    s("lc_monetary", "C", false),
    s("lc_numeric", "C", false),
    s("lc_time", "C", false),
    s("max_identifier_length", "63", false),
    s("escape_string_warning", "on", false),
    s("synchronous_commit", "on", false),
    s("jit", "off", false),
    s("geqo", "on", false),
    s("join_collapse_limit", "8", false),
    s("plan_cache_mode", "auto", false),
    s("row_security", "on", false),
    // `SET ROLE` is accepted and changes nothing: the role is the token's.
    s("role", "none", false),
    s("datestyle", "ISO, MDY", false),
];

/// Looks a setting up by any spelling (`timezone`, `TimeZone`, `time zone`).
pub fn known(name: &str) -> Option<&'static KnownSetting> {
    let name = name.trim().replace(' ', "");
    let name = if name.eq_ignore_ascii_case("time_zone") {
        "TimeZone"
    } else {
        name.as_str()
    };
    KNOWN.iter().find(|k| k.name.eq_ignore_ascii_case(name))
}

/// Whether a dotted name belongs to the engine (`datafusion.*`), which users may not change.
pub fn is_engine_option(name: &str) -> bool {
    // `SET "datafusion.x"` names the same option as `SET datafusion.x`.
    name.trim_start_matches(['"', '`', ' '])
        .split('.')
        .next()
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("datafusion"))
}

/// A duration setting's value in milliseconds, as PostgreSQL reads `statement_timeout`: a
/// number of milliseconds, or a number with a unit (`ms`, `s`, `min`, `h`, `d`), quoted or
/// not. `None` for anything else (PostgreSQL's `22023`).
pub fn milliseconds(value: &str) -> Option<u64> {
    let value = value.trim().trim_matches('\'').trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "" | "ms" => 1.0,
        "s" => 1e3,
        "min" => 60e3,
        "h" => 3_600e3,
        "d" => 86_400e3,
        _ => return None,
    };
    let millis = (number * scale).round();
    (millis.is_finite() && millis <= i32::MAX as f64).then_some(millis as u64)
}

/// The session's `statement_timeout`; `None` when it is 0 (no limit) or unset.
pub fn statement_timeout(
    settings: &std::collections::HashMap<String, String>,
) -> Option<std::time::Duration> {
    let millis = settings
        .get("statement_timeout")
        .and_then(|v| milliseconds(v))?;
    (millis > 0).then(|| std::time::Duration::from_millis(millis))
}

/// The session's `TimeZone`, set with `SET` or sent at start-up (pgjdbc sends its JVM's
/// zone), from its settings by lower-case name; UTC if it names none PostgreSQL knows.
pub fn zone(settings: &std::collections::HashMap<String, String>) -> crate::SessionZone {
    settings
        .get("timezone")
        .and_then(|v| crate::SessionZone::parse(v))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_as_postgresql_reads_them() {
        assert_eq!(milliseconds("1500"), Some(1500));
        assert_eq!(milliseconds("'2s'"), Some(2000));
        assert_eq!(milliseconds("1min"), Some(60_000));
        assert_eq!(milliseconds("0"), Some(0));
        assert_eq!(milliseconds("abc"), None);
        assert_eq!(milliseconds("5 weeks"), None);
    }

    #[test]
    fn lookups_ignore_case_and_spelling() {
        assert_eq!(known("timezone").unwrap().name, "TimeZone");
        assert_eq!(known("time zone").unwrap().name, "TimeZone");
        assert_eq!(known("APPLICATION_NAME").unwrap().name, "application_name");
        assert!(known("work_mem_of_doom").is_none());
        assert!(is_engine_option("\"datafusion.execution.batch_size\""));
        assert!(is_engine_option("DataFusion.x"));
    }

    #[test]
    fn engine_options_are_recognised() {
        assert!(is_engine_option("datafusion.execution.batch_size"));
        assert!(!is_engine_option("myapp.user_id"));
    }
}

/// What `SHOW` answers: its column names and rows of text, as PostgreSQL's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// `SHOW name` (or `SHOW ALL`) as PostgreSQL answers it, for either front end. `session`
/// gives what the session set a setting to (by lower-case name), `None` where it kept the
/// default. `None` for a name PostgreSQL would not know (`42704`).
pub fn show(name: &str, session: impl Fn(&str) -> Option<String>) -> Option<Shown> {
    let value = |k: &KnownSetting| {
        session(&k.name.to_ascii_lowercase()).unwrap_or_else(|| k.default.to_string())
    };
    let one = |column: &str, value: String| Shown {
        columns: vec![column.to_string()],
        rows: vec![vec![value]],
    };
    if name.eq_ignore_ascii_case("all") {
        return Some(Shown {
            columns: ["name", "setting", "description"]
                .map(String::from)
                .to_vec(),
            rows: KNOWN
                .iter()
                .map(|k| vec![k.name.to_string(), value(k), String::new()])
                .collect(),
        });
    }
    if let Some(k) = known(name) {
        return Some(one(&k.name.to_ascii_lowercase(), value(k)));
    }
    // A custom (dotted) setting exists once the session has set it.
    if name.contains('.')
        && let Some(set) = session(&name.to_ascii_lowercase())
    {
        return Some(one(&name.to_ascii_lowercase(), set));
    }
    // `SHOW TRANSACTION ISOLATION LEVEL`: every statement reads one snapshot of the lake.
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.len() == 3
        && words
            .iter()
            .zip(["transaction", "isolation", "level"])
            .all(|(w, expected)| w.eq_ignore_ascii_case(expected))
    {
        return Some(one("transaction_isolation", "read committed".to_string()));
    }
    None
}

#[cfg(test)]
mod show_tests {
    use super::*;

    #[test]
    fn show_answers_as_postgresql_with_the_sessions_values() {
        let session = |n: &str| (n == "timezone").then(|| "Europe/London".to_string());
        assert_eq!(
            show("TIME ZONE", session).unwrap().rows,
            vec![vec!["Europe/London".to_string()]]
        );
        assert_eq!(
            show("transaction  isolation level", |_| None).unwrap(),
            Shown {
                columns: vec!["transaction_isolation".into()],
                rows: vec![vec!["read committed".into()]]
            }
        );
        assert_eq!(show("no_such_setting", |_| None), None);
        assert_eq!(show("my.setting", |_| None), None);
        assert_eq!(
            show("my.setting", |n| (n == "my.setting").then(|| "x".into()))
                .unwrap()
                .rows,
            vec![vec!["x".to_string()]]
        );
    }
}
