//! `to_char` of a date or time: each template pattern written as PostgreSQL writes it
//! (`DCH_to_char` in `formatting.c`): numbers zero-padded to their width unless `FM`, names
//! blank-padded to 9 (`Month`, `Day`) unless `FM`, `TH` ordinals, BC years counted from 1.

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike};

use super::template::{Case, Field, Node};

pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];
/// Julian day number of 0001-01-01 minus one (`date2j` counts from 4714-11-24 BC).
pub const JULIAN_OF_CE: i64 = 1_721_425;

/// A local date and time and, for `timestamptz`, its zone.
pub struct Moment {
    pub local: NaiveDateTime,
    /// The offset and zone abbreviation; `None` for `timestamp` and `date`, whose `TZ` is
    /// empty and `OF` is `+00`.
    pub zone: Option<(FixedOffset, String)>,
}

/// `to_char(moment, template)`.
pub fn format(moment: &Moment, nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Literal(text) => out.push_str(text),
            Node::Field {
                field,
                fill_mode,
                ordinal,
            } => write_field(&mut out, moment, *field, *fill_mode, *ordinal),
        }
    }
    out
}

fn ordinal_suffix(value: i64, case: Case) -> &'static str {
    let suffix = match (value % 100, value % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    };
    match (suffix, case) {
        ("st", Case::Upper) => "ST",
        ("nd", Case::Upper) => "ND",
        ("rd", Case::Upper) => "RD",
        ("th", Case::Upper) => "TH",
        (other, _) => other,
    }
}

/// A number padded with zeros to `width` (a minus sign counts), or not at all with `FM`.
fn number(out: &mut String, value: i64, width: usize, fill_mode: bool, ordinal: Option<Case>) {
    let digits = value.unsigned_abs().to_string();
    if value < 0 {
        out.push('-');
    }
    if !fill_mode {
        let used = digits.len() + usize::from(value < 0);
        out.extend(std::iter::repeat_n('0', width.saturating_sub(used)));
    }
    out.push_str(&digits);
    if let Some(case) = ordinal {
        out.push_str(ordinal_suffix(value, case));
    }
}

/// A name, blank-padded to `width` unless `FM`.
fn name(out: &mut String, text: &str, width: usize, fill_mode: bool) {
    out.push_str(text);
    if !fill_mode {
        out.extend(std::iter::repeat_n(
            ' ',
            width.saturating_sub(text.chars().count()),
        ));
    }
}

/// The ISO 8601 week-numbering year, week and day of `date`.
fn iso(date: &NaiveDate) -> (i64, i64, i64) {
    let week = date.iso_week();
    (
        i64::from(week.year()),
        i64::from(week.week()),
        i64::from(date.weekday().number_from_monday()),
    )
}

/// Years before 1 AD as PostgreSQL shows them: year 0 is 1 BC.
fn shown_year(year: i64) -> i64 {
    if year <= 0 { 1 - year } else { year }
}

fn write_field(out: &mut String, m: &Moment, field: Field, fill_mode: bool, ordinal: Option<Case>) {
    let t = &m.local;
    let date = t.date();
    let year = i64::from(date.year());
    let num = |out: &mut String, value: i64, width: usize| {
        number(out, value, width, fill_mode, ordinal);
    };
    match field {
        Field::Hour12 => num(out, i64::from((t.hour() + 11) % 12 + 1), 2),
        Field::Hour24 => num(out, i64::from(t.hour()), 2),
        Field::Minute => num(out, i64::from(t.minute()), 2),
        Field::Second => num(out, i64::from(t.second()), 2),
        Field::Millisecond => num(out, i64::from(t.nanosecond() / 1_000_000), 3),
        Field::Microsecond => num(out, i64::from(t.nanosecond() / 1_000), 6),
        Field::Fraction(digits) => {
            let divisor = 10u32.pow(9 - u32::from(digits));
            num(
                out,
                i64::from(t.nanosecond() / divisor),
                usize::from(digits),
            );
        }
        Field::SecondsOfDay => num(out, i64::from(t.num_seconds_from_midnight()), 0),
        Field::Meridian { case, periods } => {
            let text = match (t.hour() >= 12, periods) {
                (false, false) => "AM",
                (true, false) => "PM",
                (false, true) => "A.M.",
                (true, true) => "P.M.",
            };
            out.push_str(&case.apply(text));
        }
        Field::YearComma => {
            let shown = shown_year(year);
            out.push_str(&format!("{},{:03}", shown / 1000, shown % 1000));
        }
        Field::Year(4) => num(out, shown_year(year), 4),
        Field::Year(n) => {
            let modulus = 10i64.pow(u32::from(n));
            num(out, shown_year(year) % modulus, usize::from(n));
        }
        Field::IsoYear(n) => {
            let (iso_year, _, _) = iso(&date);
            if n == 4 {
                num(out, shown_year(iso_year), 4);
            } else {
                let modulus = 10i64.pow(u32::from(n));
                num(out, shown_year(iso_year) % modulus, usize::from(n));
            }
        }
        Field::Era { case, periods } => {
            let text = match (year <= 0, periods) {
                (false, false) => "AD",
                (true, false) => "BC",
                (false, true) => "A.D.",
                (true, true) => "B.C.",
            };
            out.push_str(&case.apply(text));
        }
        Field::MonthName(case) => name(
            out,
            &case.apply(MONTHS[date.month0() as usize]),
            9,
            fill_mode,
        ),
        Field::MonthAbbreviation(case) => {
            out.push_str(&case.apply(&MONTHS[date.month0() as usize][..3]));
        }
        Field::Month => num(out, i64::from(date.month()), 2),
        Field::DayName(case) => {
            let day = DAYS[date.weekday().num_days_from_sunday() as usize];
            name(out, &case.apply(day), 9, fill_mode);
        }
        Field::DayAbbreviation(case) => {
            let day = DAYS[date.weekday().num_days_from_sunday() as usize];
            out.push_str(&case.apply(&day[..3]));
        }
        Field::DayOfYear => num(out, i64::from(date.ordinal()), 3),
        Field::IsoDayOfYear => {
            let (_, week, day) = iso(&date);
            num(out, (week - 1) * 7 + day, 3);
        }
        Field::DayOfMonth => num(out, i64::from(date.day()), 2),
        Field::DayOfWeek => num(out, i64::from(date.weekday().number_from_sunday()), 1),
        Field::IsoDayOfWeek => num(out, iso(&date).2, 1),
        Field::WeekOfMonth => num(out, i64::from((date.day() - 1) / 7 + 1), 1),
        Field::WeekOfYear => num(out, i64::from((date.ordinal() - 1) / 7 + 1), 2),
        Field::IsoWeek => num(out, iso(&date).1, 2),
        Field::Century => {
            let century = if year > 0 {
                (year - 1) / 100 + 1
            } else {
                year / 100 - 1
            };
            num(out, century, if century >= 0 { 2 } else { 3 });
        }
        Field::JulianDay => num(out, i64::from(date.num_days_from_ce()) + JULIAN_OF_CE, 0),
        Field::Quarter => num(out, i64::from(date.month0() / 3 + 1), 1),
        Field::RomanMonth(case) => {
            let roman = case.apply(ROMAN[date.month0() as usize]);
            name(out, &roman, 4, fill_mode);
        }
        Field::ZoneName(case) => {
            if let Some((_, abbreviation)) = &m.zone {
                out.push_str(&case.apply(abbreviation));
            }
        }
        Field::ZoneHours => {
            let seconds = m.zone.as_ref().map_or(0, |(o, _)| o.local_minus_utc());
            out.push(if seconds < 0 { '-' } else { '+' });
            out.push_str(&format!("{:02}", seconds.abs() / 3600));
        }
        Field::ZoneMinutes => {
            let seconds = m.zone.as_ref().map_or(0, |(o, _)| o.local_minus_utc());
            out.push_str(&format!("{:02}", seconds.abs() % 3600 / 60));
        }
        Field::ZoneOffset => {
            let seconds = m.zone.as_ref().map_or(0, |(o, _)| o.local_minus_utc());
            out.push(if seconds < 0 { '-' } else { '+' });
            out.push_str(&format!("{:02}", seconds.abs() / 3600));
            if seconds.abs() % 3600 != 0 {
                out.push_str(&format!(":{:02}", seconds.abs() % 3600 / 60));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::template::parse;
    use super::*;

    fn moment() -> Moment {
        Moment {
            local: NaiveDate::from_ymd_opt(2024, 6, 5)
                .unwrap()
                .and_hms_micro_opt(9, 8, 7, 123_456)
                .unwrap(),
            zone: None,
        }
    }

    fn to_char(template: &str) -> String {
        format(&moment(), &parse(template))
    }

    #[test]
    fn patterns_are_written_as_postgresql_writes_them() {
        let cases = [
            ("YYYY-MM-DD HH24:MI:SS", "2024-06-05 09:08:07"),
            ("HH12:MI AM", "09:08 AM"),
            ("HH:MI:SS.MS", "09:08:07.123"),
            ("US", "123456"),
            ("FF2", "12"),
            ("Day", "Wednesday"),
            ("Dy", "Wed"),
            ("FMDay", "Wednesday"),
            ("Month", "June     "),
            ("FMMonth", "June"),
            ("MONTH", "JUNE     "),
            ("mon", "jun"),
            ("DDD", "157"),
            ("D", "4"),
            ("ID", "3"),
            ("IYYY-IW", "2024-23"),
            ("WW", "23"),
            ("W", "1"),
            ("Q", "2"),
            ("J", "2460467"),
            ("CC", "21"),
            ("Y,YYY", "2,024"),
            ("YY", "24"),
            ("DDth", "05th"),
            ("FMDDth", "5th"),
            ("FMDD/FMMM/YYYY", "5/6/2024"),
            ("RM", "VI  "),
            ("FMRM", "VI"),
            ("SSSS", "32887"),
            ("\"Week \"IW", "Week 23"),
            ("a.m.", "a.m."),
            ("TZ", ""),
            ("OF", "+00"),
        ];
        for (template, expected) in cases {
            assert_eq!(to_char(template), expected, "{template}");
        }
    }
}
