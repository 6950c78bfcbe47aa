//! Session time zones, read as PostgreSQL reads the `TimeZone` setting.
//!
//! PostgreSQL accepts a full zone name from the IANA database, case-insensitively
//! (`Europe/London`, `utc`), or a POSIX-style specification (`EST5`, `<+0530>-05:30`, a bare
//! `+05:30`), in which **positive offsets are west of Greenwich** (PostgreSQL 15 manual,
//! 8.5.3 and B.5), or a plain number of hours, which is east of Greenwich (`SET TIME ZONE
//! -8`, or `'-8'`: PostgreSQL's `check_timezone` tries a number first). Zone abbreviations
//! (`BST`) are for timestamp input only and are refused here, as PostgreSQL refuses them.

use std::fmt;
use std::str::FromStr;

use chrono::{FixedOffset, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// The zone `timestamptz` values are shown in, and local times are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionZone {
    /// A zone of the IANA database, with its daylight-saving rules.
    Named(Tz),
    /// A fixed offset east of UTC.
    Fixed(FixedOffset),
}

impl Default for SessionZone {
    fn default() -> Self {
        SessionZone::Named(Tz::UTC)
    }
}

impl SessionZone {
    /// Reads a `TimeZone` setting; `None` if PostgreSQL would refuse it (22023).
    pub fn parse(value: &str) -> Option<SessionZone> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        // A plain number is hours east of UTC (the SQL convention, unlike POSIX's).
        if let Ok(hours) = value.parse::<f64>() {
            if !hours.is_finite() || hours.abs() > 15.0 {
                return None;
            }
            return FixedOffset::east_opt((hours * 3600.0).round() as i32).map(SessionZone::Fixed);
        }
        if let Ok(tz) = Tz::from_str(value) {
            return Some(SessionZone::Named(tz));
        }
        if let Some(tz) = chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(value))
        {
            return Some(SessionZone::Named(*tz));
        }
        posix(value).map(SessionZone::Fixed)
    }

    /// Reads the zone of `AT TIME ZONE` (`timezone(zone, x)`), where PostgreSQL reads a
    /// plain number as a POSIX offset (`'-08'` is 8 hours east), unlike `SET TIME ZONE`.
    pub fn parse_at(value: &str) -> Option<SessionZone> {
        let value = value.trim();
        if value.parse::<f64>().is_ok() {
            return posix(value).map(SessionZone::Fixed);
        }
        SessionZone::parse(value)
    }

    /// A statement's zone, from its configuration (the gateway sets DataFusion's
    /// `time_zone` to the connection's); UTC where none is set.
    pub fn of(config: &datafusion::common::config::ConfigOptions) -> SessionZone {
        config
            .execution
            .time_zone
            .as_deref()
            .and_then(SessionZone::parse)
            .unwrap_or_default()
    }

    /// The zone as Arrow names it in a `Timestamp` type: the IANA name, or `+hh:mm`.
    pub fn arrow_name(&self) -> String {
        match self {
            SessionZone::Named(tz) => tz.name().to_string(),
            SessionZone::Fixed(offset) => offset.to_string(),
        }
    }

    /// The offset from UTC in force at the instant `utc`.
    pub fn offset_at(&self, utc: &NaiveDateTime) -> FixedOffset {
        match self {
            SessionZone::Named(tz) => tz.offset_from_utc_datetime(utc).fix(),
            SessionZone::Fixed(offset) => *offset,
        }
    }
}

impl fmt::Display for SessionZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arrow_name())
    }
}

/// A POSIX zone without daylight-saving rules: an optional abbreviation (letters, or
/// anything in `<…>`), then `[+-]h[h][:mm[:ss]]` hours **west** of UTC.
fn posix(value: &str) -> Option<FixedOffset> {
    let rest = if let Some(quoted) = value.strip_prefix('<') {
        &quoted[quoted.find('>')? + 1..]
    } else {
        let letters = value.chars().take_while(char::is_ascii_alphabetic).count();
        if letters != 0 && letters < 3 {
            return None;
        }
        &value[letters..]
    };
    let (west, digits) = match rest.as_bytes().first()? {
        b'+' => (true, &rest[1..]),
        b'-' => (false, &rest[1..]),
        b'0'..=b'9' => (true, rest),
        _ => return None,
    };
    let mut parts = digits.split(':');
    let mut next = |max: i32| -> Option<Option<i32>> {
        match parts.next() {
            None => Some(None),
            Some(p) if !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().ok().filter(|v| *v <= max).map(Some)
            }
            Some(_) => None,
        }
    };
    let hours = next(24)??;
    let minutes = next(59)?.unwrap_or(0);
    let seconds = next(59)?.unwrap_or(0);
    if parts.next().is_some() {
        return None;
    }
    let offset = hours * 3600 + minutes * 60 + seconds;
    FixedOffset::east_opt(if west { -offset } else { offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_are_read_case_insensitively() {
        assert_eq!(
            SessionZone::parse("europe/london"),
            Some(SessionZone::Named(Tz::Europe__London))
        );
        assert_eq!(SessionZone::parse("UTC"), Some(SessionZone::Named(Tz::UTC)));
    }

    #[test]
    fn posix_offsets_are_west_positive() {
        let east = |s: i32| Some(SessionZone::Fixed(FixedOffset::east_opt(s).unwrap()));
        assert_eq!(SessionZone::parse("+05:30"), east(-(5 * 3600 + 1800)));
        assert_eq!(SessionZone::parse("EST5"), east(-5 * 3600));
        assert_eq!(SessionZone::parse("<-08>+08"), east(-8 * 3600));
        assert_eq!(SessionZone::parse("<+03>-3"), east(3 * 3600));
    }

    #[test]
    fn plain_numbers_are_east_positive_hours() {
        assert_eq!(SessionZone::parse("-8").unwrap().arrow_name(), "-08:00");
        assert_eq!(SessionZone::parse("5.5").unwrap().arrow_name(), "+05:30");
    }

    #[test]
    fn abbreviations_and_nonsense_are_refused() {
        for bad in ["", "BST", "Mars/Olympus", "+25", "99", "E5", "+05:61", "<x"] {
            assert_eq!(SessionZone::parse(bad), None, "{bad}");
        }
    }
}
