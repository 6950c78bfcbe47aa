//! Date and time text read as PostgreSQL reads it (`datetime.c`, manual section 8.5.1 and
//! appendix B) in the ISO forms clients and BI tools send: `2024-06-05`, `2024-06-05
//! 10:11`, `2024-06-05T10:11:12.5`, each optionally followed by a zone — `Z`, `+05:30`,
//! `-0800`, `+05`, or a zone name (`Europe/London`, `UTC`) — and ` BC`. pgjdbc binds
//! `setTimestamp` as `2024-06-05 10:11:12+05:30` and `setDate` as `2024-06-05 +05:30`,
//! untyped; the database casts them. As in PostgreSQL, a `timestamp` or `date` ignores the
//! zone, and a `timestamptz` without one is read in the session's zone.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};

use crate::zone::SessionZone;

/// What the text says: a local date and time and, if given, its zone.
#[derive(Debug, PartialEq)]
pub struct Written {
    pub local: NaiveDateTime,
    pub zone: Option<Zone>,
}

/// A zone written in the text.
#[derive(Debug, PartialEq)]
pub enum Zone {
    Offset(FixedOffset),
    Named(SessionZone),
}

impl Written {
    /// The instant, in microseconds since 1970 UTC: the written zone's, else `session`'s
    /// (in a daylight-saving overlap the earlier reading, as PostgreSQL takes it).
    pub fn instant(&self, session: &SessionZone) -> Option<i64> {
        let zone = match &self.zone {
            Some(Zone::Offset(offset)) => {
                return Some((self.local - *offset).and_utc().timestamp_micros());
            }
            Some(Zone::Named(zone)) => zone,
            None => session,
        };
        let utc = match zone {
            SessionZone::Fixed(offset) => self.local - *offset,
            SessionZone::Named(tz) => match tz.from_local_datetime(&self.local).earliest() {
                Some(t) => t.naive_utc(),
                // A local time in a spring-forward gap: read with the offset before it.
                None => self.local - tz.offset_from_utc_datetime(&self.local).fix(),
            },
        };
        Some(utc.and_utc().timestamp_micros())
    }
}

/// Reads `text`; `None` if it is not one of the forms above.
pub fn parse(text: &str) -> Option<Written> {
    let text = text.trim();
    let (text, bc) = match text
        .strip_suffix(" BC")
        .or_else(|| text.strip_suffix(" bc"))
    {
        Some(rest) => (rest.trim_end(), true),
        None => (text, false),
    };
    let (date_text, rest) = text.split_at(text.find([' ', 'T', 't']).unwrap_or(text.len()));
    let date = date(date_text, bc)?;
    let rest = rest.trim_start_matches([' ', 'T', 't']).trim();
    // The time runs while it is digits, colons and a fraction.
    let time_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(rest.len());
    let (time_text, zone_text) = rest.split_at(time_end);
    let (time, zone_text) = if time_text.contains(':') {
        (time(time_text)?, zone_text.trim())
    } else if time_text.is_empty() {
        (NaiveTime::MIN, zone_text.trim())
    } else {
        return None;
    };
    let zone = if zone_text.is_empty() {
        None
    } else {
        Some(zone(zone_text)?)
    };
    Some(Written {
        local: date.and_time(time),
        zone,
    })
}

fn number(text: &str, digits: std::ops::RangeInclusive<usize>) -> Option<u32> {
    (digits.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn date(text: &str, bc: bool) -> Option<NaiveDate> {
    let mut parts = text.split('-');
    let year = i32::try_from(number(parts.next()?, 1..=6)?).ok()?;
    let month = number(parts.next()?, 1..=2)?;
    let day = number(parts.next()?, 1..=2)?;
    if parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(if bc { 1 - year } else { year }, month, day)
}

fn time(text: &str) -> Option<NaiveTime> {
    let (clock, fraction) = text.split_once('.').unwrap_or((text, ""));
    let mut parts = clock.split(':');
    let hour = number(parts.next()?, 1..=2)?;
    let minute = number(parts.next()?, 1..=2)?;
    let second = match parts.next() {
        Some(s) => number(s, 1..=2)?,
        None if fraction.is_empty() => 0,
        None => return None,
    };
    if parts.next().is_some() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Microseconds, rounded half up from any further digits, as PostgreSQL rounds.
    let mut digits: String = fraction.chars().take(7).collect();
    while digits.len() < 7 {
        digits.push('0');
    }
    let tenths_of_micros: u32 = digits.parse().ok()?;
    let micros = (tenths_of_micros + 5) / 10;
    // Rounding up into the next second would change the date; keep the last microsecond.
    let micros = micros.min(999_999);
    NaiveTime::from_hms_micro_opt(hour, minute, second, micros)
}

fn zone(text: &str) -> Option<Zone> {
    if text.eq_ignore_ascii_case("z") {
        return FixedOffset::east_opt(0).map(Zone::Offset);
    }
    if let Some(sign) = text.chars().next().filter(|c| *c == '+' || *c == '-') {
        let body = &text[1..];
        let (hours, minutes, seconds) = match body.split(':').collect::<Vec<_>>().as_slice() {
            [h] if h.len() == 4 => (number(&h[..2], 2..=2)?, number(&h[2..], 2..=2)?, 0),
            [h] => (number(h, 1..=2)?, 0, 0),
            [h, m] => (number(h, 1..=2)?, number(m, 2..=2)?, 0),
            [h, m, s] => (number(h, 1..=2)?, number(m, 2..=2)?, number(s, 2..=2)?),
            _ => return None,
        };
        if hours > 15 || minutes > 59 || seconds > 59 {
            return None;
        }
        let east = i32::try_from(hours * 3600 + minutes * 60 + seconds).ok()?;
        return FixedOffset::east_opt(if sign == '-' { -east } else { east }).map(Zone::Offset);
    }
    // A zone name: the IANA database's (PostgreSQL also knows abbreviations such as BST;
    // those are refused here rather than guessed).
    match SessionZone::parse(text)? {
        SessionZone::Named(tz) => Some(Zone::Named(SessionZone::Named(tz))),
        SessionZone::Fixed(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_micro_opt(h, mi, s, us)
            .unwrap()
    }

    #[test]
    fn the_forms_clients_send_are_read() {
        let cases = [
            ("2024-06-05", at(2024, 6, 5, 0, 0, 0, 0), None),
            ("2024-06-05 10:11", at(2024, 6, 5, 10, 11, 0, 0), None),
            (
                "2024-06-05T10:11:12.5",
                at(2024, 6, 5, 10, 11, 12, 500_000),
                None,
            ),
            (
                "2024-06-05 10:11:12+05:30",
                at(2024, 6, 5, 10, 11, 12, 0),
                Some(5 * 3600 + 1800),
            ),
            (
                "2024-06-05 +05:30",
                at(2024, 6, 5, 0, 0, 0, 0),
                Some(5 * 3600 + 1800),
            ),
            (
                "2024-06-05 10:11:12Z",
                at(2024, 6, 5, 10, 11, 12, 0),
                Some(0),
            ),
            (
                "2024-06-05 10:11:12-08",
                at(2024, 6, 5, 10, 11, 12, 0),
                Some(-8 * 3600),
            ),
            (
                "2024-06-05 10:11:12.1234567",
                at(2024, 6, 5, 10, 11, 12, 123_457),
                None,
            ),
        ];
        for (text, local, offset) in cases {
            let written = parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(written.local, local, "{text}");
            let zone = offset.map(|s| Zone::Offset(FixedOffset::east_opt(s).unwrap()));
            assert_eq!(written.zone, zone, "{text}");
        }
        let named = parse("2024-06-03 09:30:00 Europe/London").unwrap();
        let london = SessionZone::parse("Europe/London").unwrap();
        assert_eq!(named.zone, Some(Zone::Named(london)));
        assert_eq!(
            named.instant(&SessionZone::default()),
            Some(at(2024, 6, 3, 8, 30, 0, 0).and_utc().timestamp_micros())
        );
    }

    #[test]
    fn other_text_is_not_guessed() {
        for text in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-06-05 25:00",
            "2024-06-05 10:11 BST",
            "05/06/2024",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
