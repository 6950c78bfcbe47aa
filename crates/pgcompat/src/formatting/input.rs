//! `to_date` / `to_timestamp` of text by a template, as PostgreSQL 15 reads it
//! (`DCH_from_char` in `formatting.c`): spaces before a field are skipped, a separator in
//! the template matches one separator in the text, a number is read up to its pattern's
//! width when another pattern follows directly and up to the next non-digit otherwise,
//! names are matched case-insensitively; fields not given default to 0001-01-01 00:00:00.
//! Text that does not match is `22007`; a field out of range is `22008` in PostgreSQL and
//! `22007` here (both are "invalid datetime format" to a client).

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

use super::output::{DAYS, JULIAN_OF_CE, MONTHS};
use super::template::{Field, Node};

/// What the text said.
#[derive(Debug, Default)]
struct Parsed {
    year: Option<i64>,
    bc: bool,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    julian: Option<i64>,
    iso_year: Option<i64>,
    iso_week: Option<u32>,
    iso_day: Option<u32>,
    hour: Option<u32>,
    twelve_hour: bool,
    pm: Option<bool>,
    minute: u32,
    second: u32,
    micros: u32,
    offset_seconds: Option<i32>,
}

/// The local date and time `text` holds by `nodes`, and the zone offset if it gave one.
pub fn parse(text: &str, nodes: &[Node]) -> Result<(NaiveDateTime, Option<FixedOffset>), String> {
    let mut parsed = Parsed::default();
    let mut rest = text;
    for (i, node) in nodes.iter().enumerate() {
        if rest.is_empty() {
            break;
        }
        match node {
            Node::Literal(literal) => {
                for expected in literal.chars() {
                    let Some(c) = rest.chars().next() else { break };
                    if expected.is_whitespace() {
                        rest = rest.trim_start();
                    } else if !expected.is_alphanumeric() {
                        // A separator matches one separator (or none, before a digit).
                        if !c.is_alphanumeric() {
                            rest = &rest[c.len_utf8()..];
                        }
                    } else {
                        rest = &rest[c.len_utf8()..];
                    }
                }
            }
            Node::Field { field, .. } => {
                rest = rest.trim_start();
                let directly_followed = matches!(nodes.get(i + 1), Some(Node::Field { .. }));
                rest = read_field(&mut parsed, *field, rest, directly_followed)?;
            }
        }
    }
    build(&parsed)
}

/// Reads an unsigned number of at most `width` digits (any number if `width` is 0).
fn digits<'a>(rest: &'a str, width: usize, pattern: &str) -> Result<(i64, &'a str), String> {
    let (negative, body) = match rest.strip_prefix('-') {
        Some(body) if pattern.starts_with('Y') || pattern == "J" => (true, body),
        _ => (false, rest),
    };
    let count = body
        .bytes()
        .take_while(u8::is_ascii_digit)
        .take(if width == 0 { usize::MAX } else { width })
        .count();
    if count == 0 {
        let shown: String = rest.chars().take(10).collect();
        return Err(format!("invalid value \"{shown}\" for \"{pattern}\""));
    }
    let value: i64 = body[..count]
        .parse()
        .map_err(|_| format!("value for \"{pattern}\" in source string is out of range"))?;
    Ok((if negative { -value } else { value }, &body[count..]))
}

/// Matches one of `names` (case-insensitively), longest first; returns its index.
fn named<'a>(rest: &'a str, names: &[&str], pattern: &str) -> Result<(usize, &'a str), String> {
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in names.iter().enumerate() {
        let n = name.len();
        if rest.len() >= n
            && rest.is_char_boundary(n)
            && rest[..n].eq_ignore_ascii_case(name)
            && best.is_none_or(|(_, len)| n > len)
        {
            best = Some((i, n));
        }
    }
    match best {
        Some((i, n)) => Ok((i, &rest[n..])),
        None => {
            let shown: String = rest.chars().take(10).collect();
            Err(format!("invalid value \"{shown}\" for \"{pattern}\""))
        }
    }
}

fn in_range<T: PartialOrd + std::fmt::Display>(
    value: T,
    low: T,
    high: T,
    pattern: &str,
) -> Result<T, String> {
    if value < low || value > high {
        return Err(format!(
            "value for \"{pattern}\" in source string is out of range (valid values are between {low} and {high})"
        ));
    }
    Ok(value)
}

fn read_field<'a>(
    p: &mut Parsed,
    field: Field,
    rest: &'a str,
    directly_followed: bool,
) -> Result<&'a str, String> {
    // A number runs to its width only when another pattern follows with no separator.
    let width = |w: usize| if directly_followed { w } else { 0 };
    let small = |v: i64| u32::try_from(v).map_err(|_| "field value out of range".to_string());
    Ok(match field {
        Field::Year(n) => {
            let (value, rest) = digits(rest, width(usize::from(n)), "YYYY")?;
            // Two- and three-digit years pick the century nearest 2020, as PostgreSQL does.
            p.year = Some(match n {
                2 if value < 100 => {
                    if value < 70 {
                        2000 + value
                    } else {
                        1900 + value
                    }
                }
                3 if value < 1000 => {
                    if value < 100 {
                        2000 + value
                    } else {
                        1000 + value
                    }
                }
                1 if value < 10 => 2000 + value,
                _ => value,
            });
            rest
        }
        Field::YearComma => {
            let (thousands, rest) = digits(rest, 0, "Y,YYY")?;
            let rest = rest.strip_prefix(',').unwrap_or(rest);
            let (units, rest) = digits(rest, 3, "Y,YYY")?;
            p.year = Some(thousands * 1000 + units);
            rest
        }
        Field::IsoYear(n) => {
            let (value, rest) = digits(rest, width(usize::from(n)), "IYYY")?;
            p.iso_year = Some(value);
            rest
        }
        Field::Month => {
            let (value, rest) = digits(rest, width(2), "MM")?;
            p.month = Some(in_range(small(value)?, 1, 12, "MM")?);
            rest
        }
        Field::MonthName(_) => {
            let (i, rest) = named(rest, &MONTHS, "Month")?;
            p.month = Some(u32::try_from(i).unwrap_or(0) + 1);
            rest
        }
        Field::MonthAbbreviation(_) => {
            let short: Vec<&str> = MONTHS.iter().map(|m| &m[..3]).collect();
            let (i, rest) = named(rest, &short, "Mon")?;
            p.month = Some(u32::try_from(i).unwrap_or(0) + 1);
            rest
        }
        Field::RomanMonth(_) => {
            const ROMAN: [&str; 12] = [
                "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
            ];
            let (i, rest) = named(rest, &ROMAN, "RM")?;
            p.month = Some(u32::try_from(i).unwrap_or(0) + 1);
            rest
        }
        Field::DayName(_) => named(rest, &DAYS, "Day")?.1,
        Field::DayAbbreviation(_) => {
            let short: Vec<&str> = DAYS.iter().map(|d| &d[..3]).collect();
            named(rest, &short, "Dy")?.1
        }
        Field::DayOfMonth => {
            let (value, rest) = digits(rest, width(2), "DD")?;
            p.day = Some(in_range(small(value)?, 1, 31, "DD")?);
            rest
        }
        Field::DayOfYear => {
            let (value, rest) = digits(rest, width(3), "DDD")?;
            p.day_of_year = Some(in_range(small(value)?, 1, 366, "DDD")?);
            rest
        }
        Field::IsoWeek => {
            let (value, rest) = digits(rest, width(2), "IW")?;
            p.iso_week = Some(in_range(small(value)?, 1, 53, "IW")?);
            rest
        }
        Field::IsoDayOfWeek => {
            let (value, rest) = digits(rest, width(1), "ID")?;
            p.iso_day = Some(in_range(small(value)?, 1, 7, "ID")?);
            rest
        }
        Field::JulianDay => {
            let (value, rest) = digits(rest, 0, "J")?;
            p.julian = Some(value);
            rest
        }
        Field::Hour24 => {
            let (value, rest) = digits(rest, width(2), "HH24")?;
            p.hour = Some(in_range(small(value)?, 0, 24, "HH24")?);
            rest
        }
        Field::Hour12 => {
            let (value, rest) = digits(rest, width(2), "HH12")?;
            p.hour = Some(in_range(small(value)?, 1, 12, "HH12")?);
            p.twelve_hour = true;
            rest
        }
        Field::Minute => {
            let (value, rest) = digits(rest, width(2), "MI")?;
            p.minute = in_range(small(value)?, 0, 59, "MI")?;
            rest
        }
        Field::Second => {
            let (value, rest) = digits(rest, width(2), "SS")?;
            p.second = in_range(small(value)?, 0, 60, "SS")?;
            rest
        }
        Field::SecondsOfDay => {
            let (value, rest) = digits(rest, 0, "SSSS")?;
            let value = in_range(small(value)?, 0, 86_399, "SSSS")?;
            p.hour = Some(value / 3600);
            p.minute = value / 60 % 60;
            p.second = value % 60;
            rest
        }
        Field::Millisecond | Field::Microsecond | Field::Fraction(_) => {
            let (width_digits, scale) = match field {
                Field::Millisecond => (3, 1000),
                Field::Fraction(n) => (usize::from(n), 10u32.pow(6 - u32::from(n.min(6)))),
                _ => (6, 1),
            };
            let start = rest;
            let (value, rest) = digits(rest, width_digits, "US")?;
            let read = start.len() - rest.len();
            // Fewer digits than the width are a fraction's leading digits ("5" is 500 ms).
            let padding = 10u32.pow(u32::try_from(width_digits.saturating_sub(read)).unwrap_or(0));
            p.micros = small(value)?.saturating_mul(padding).saturating_mul(scale);
            rest
        }
        Field::Meridian { periods, .. } => {
            let names: &[&str] = if periods {
                &["A.M.", "P.M."]
            } else {
                &["AM", "PM"]
            };
            let (i, rest) = named(rest, names, "AM")?;
            p.pm = Some(i == 1);
            rest
        }
        Field::Era { periods, .. } => {
            let names: &[&str] = if periods {
                &["A.D.", "B.C."]
            } else {
                &["AD", "BC"]
            };
            let (i, rest) = named(rest, names, "BC")?;
            p.bc = i == 1;
            rest
        }
        Field::ZoneHours | Field::ZoneOffset => {
            let (negative, body) = match rest.as_bytes().first() {
                Some(b'-') => (true, &rest[1..]),
                Some(b'+') => (false, &rest[1..]),
                _ => (false, rest),
            };
            let (hours, mut body) = digits(body, 2, "TZH")?;
            let mut seconds = hours * 3600;
            if field == Field::ZoneOffset && body.starts_with(':') {
                let (minutes, after) = digits(&body[1..], 2, "OF")?;
                seconds += minutes * 60;
                body = after;
            }
            let seconds = i32::try_from(if negative { -seconds } else { seconds })
                .map_err(|e| e.to_string())?;
            p.offset_seconds = Some(seconds);
            body
        }
        Field::ZoneMinutes => {
            let (minutes, rest) = digits(rest, 2, "TZM")?;
            let sign = if p.offset_seconds.unwrap_or(0) < 0 {
                -1
            } else {
                1
            };
            let minutes = i32::try_from(minutes).map_err(|e| e.to_string())?;
            p.offset_seconds = Some(p.offset_seconds.unwrap_or(0) + sign * minutes * 60);
            rest
        }
        Field::Century
        | Field::Quarter
        | Field::DayOfWeek
        | Field::WeekOfMonth
        | Field::WeekOfYear
        | Field::IsoDayOfYear => {
            // Read and, as PostgreSQL does for these, not used to build the date.
            digits(rest, width(3), "Q")?.1
        }
        Field::ZoneName(_) => {
            return Err("formatting field \"TZ\" is only supported in to_char".to_string());
        }
    })
}

fn build(p: &Parsed) -> Result<(NaiveDateTime, Option<FixedOffset>), String> {
    let out_of_range = || "date/time field value out of range".to_string();
    let date = if let Some(julian) = p.julian {
        let days = i32::try_from(julian - JULIAN_OF_CE).map_err(|_| out_of_range())?;
        NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(out_of_range)?
    } else if let (Some(iso_year), Some(week)) = (p.iso_year, p.iso_week) {
        let weekday = chrono::Weekday::try_from(
            u8::try_from(p.iso_day.unwrap_or(1) - 1).map_err(|_| out_of_range())?,
        )
        .map_err(|_| out_of_range())?;
        let year = i32::try_from(iso_year).map_err(|_| out_of_range())?;
        NaiveDate::from_isoywd_opt(year, week, weekday).ok_or_else(out_of_range)?
    } else {
        let mut year = p.year.or(p.iso_year).unwrap_or(1);
        if p.bc {
            year = 1 - year;
        }
        let year = i32::try_from(year).map_err(|_| out_of_range())?;
        match p.day_of_year {
            Some(ordinal) if p.month.is_none() => {
                NaiveDate::from_yo_opt(year, ordinal).ok_or_else(out_of_range)?
            }
            _ => NaiveDate::from_ymd_opt(year, p.month.unwrap_or(1), p.day.unwrap_or(1))
                .ok_or_else(out_of_range)?,
        }
    };
    let mut hour = p.hour.unwrap_or(0);
    if p.twelve_hour || p.pm.is_some() {
        hour %= 12;
        if p.pm == Some(true) {
            hour += 12;
        }
    }
    let (hour, extra_day) = if hour == 24 { (0, 1) } else { (hour, 0) };
    let time = NaiveTime::from_hms_micro_opt(hour, p.minute, p.second.min(59), p.micros)
        .ok_or_else(out_of_range)?;
    let at = date.and_time(time) + chrono::Duration::days(extra_day);
    let offset = match p.offset_seconds {
        Some(s) => Some(FixedOffset::east_opt(s).ok_or_else(out_of_range)?),
        None => None,
    };
    Ok((at, offset))
}

#[cfg(test)]
mod tests {
    use super::super::template;
    use super::*;

    fn read(text: &str, fmt: &str) -> Result<String, String> {
        parse(text, &template::parse(fmt)).map(|(at, _)| at.to_string())
    }

    #[test]
    fn text_is_read_by_its_template() {
        let cases = [
            (
                "2024-06-05 10:11:12",
                "YYYY-MM-DD HH24:MI:SS",
                "2024-06-05 10:11:12",
            ),
            ("05/06/2024", "DD/MM/YYYY", "2024-06-05 00:00:00"),
            ("20240605", "YYYYMMDD", "2024-06-05 00:00:00"),
            ("Jun 05 2024", "Mon DD YYYY", "2024-06-05 00:00:00"),
            ("5 June 2024", "DD Month YYYY", "2024-06-05 00:00:00"),
            (
                "10:11 PM 05/06/2024",
                "HH12:MI AM DD/MM/YYYY",
                "2024-06-05 22:11:00",
            ),
            ("2024-23-3", "IYYY-IW-ID", "2024-06-05 00:00:00"),
            ("2024 157", "YYYY DDD", "2024-06-05 00:00:00"),
            ("2460467", "J", "2024-06-05 00:00:00"),
            (
                "2024-06-05T10:11:12",
                "YYYY-MM-DD\"T\"HH24:MI:SS",
                "2024-06-05 10:11:12",
            ),
            ("12:00:01.5", "HH24:MI:SS.MS", "0001-01-01 12:00:01.500"),
        ];
        for (text, fmt, expected) in cases {
            assert_eq!(read(text, fmt).as_deref(), Ok(expected), "{text} / {fmt}");
        }
    }

    #[test]
    fn text_that_does_not_match_is_refused() {
        assert!(read("2024-13-01", "YYYY-MM-DD").is_err());
        assert!(read("June", "MM").is_err());
        assert!(read("2024-02-30", "YYYY-MM-DD").is_err());
        assert!(read("x", "Mon").is_err());
    }
}
