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

#[cfg(test)]
mod tests {
    use super::*;

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
