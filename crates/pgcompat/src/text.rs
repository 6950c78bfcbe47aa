//! PostgreSQL's text output of single values, byte for byte as PostgreSQL 15 writes them
//! with `DateStyle = ISO` and `IntervalStyle = postgres` (its defaults, and what every
//! driver we serve sets): floats (`float8out`), timestamps (`EncodeDateTime`), times,
//! intervals (`EncodeInterval`) and array elements (`array_out`).

use crate::zone::SessionZone;
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};

/// `float8out` / `float4out` with `extra_float_digits` ≥ 1 (the default, and pgjdbc's 3):
/// the shortest text that reads back as the same value, in fixed notation when the decimal
/// exponent is within [-4, `digits`), else as `d.ddde±XX` (src/common/d2s.c, f2s.c, where
/// `digits` is DBL_DIG = 15 or FLT_DIG = 6). With `extra_float_digits` ≤ 0, `%.{digits +
/// extra}g`, as before PostgreSQL 12.
pub fn write_float(out: &mut Vec<u8>, value: f64, single: bool, extra_float_digits: i8) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        });
        return;
    }
    let digits: i32 = if single { 6 } else { 15 };
    if extra_float_digits > 0 {
        // Rust's `{:e}` is the shortest representation that reads back (for f32, of the f32).
        let scientific = if single {
            format!("{:e}", value as f32)
        } else {
            format!("{value:e}")
        };
        write_decimal_text(out, &scientific, digits, false);
    } else {
        let precision = (digits + i32::from(extra_float_digits)).max(1);
        let scientific = format!("{:.*e}", usize::try_from(precision - 1).unwrap_or(0), value);
        write_decimal_text(out, &scientific, precision, true);
    }
}

/// Re-writes Rust's `[-]d[.ddd]e[-]x` as C's `%g` does: fixed when -4 ≤ x < `limit`,
/// else `d.ddde±xx`; with `trim`, trailing fraction zeros are dropped (as `%g` does).
fn write_decimal_text(out: &mut Vec<u8>, scientific: &str, limit: i32, trim: bool) {
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    if trim {
        while digits.len() > 1 && digits.last() == Some(&b'0') {
            digits.pop();
        }
    }
    if negative {
        out.push(b'-');
    }
    if digits.iter().all(|d| *d == b'0') {
        out.push(b'0');
        return;
    }
    if (-4..limit).contains(&exponent) {
        let point = exponent + 1;
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', point.unsigned_abs() as usize));
            out.extend_from_slice(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.extend_from_slice(&digits);
                out.extend(std::iter::repeat_n(b'0', point - digits.len()));
            } else {
                out.extend_from_slice(&digits[..point]);
                out.push(b'.');
                out.extend_from_slice(&digits[point..]);
            }
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(magnitude.to_string().as_bytes());
    }
}

/// Writes `value` with at least `width` digits.
fn padded(out: &mut Vec<u8>, value: u32, width: usize) {
    let text = value.to_string();
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(text.len())));
    out.extend_from_slice(text.as_bytes());
}

/// `HH:MM:SS` and, if there are any, the microseconds with trailing zeros dropped.
fn write_clock(out: &mut Vec<u8>, hours: u64, minutes: u32, seconds: u32, micros: u32) {
    padded(out, u32::try_from(hours).unwrap_or(u32::MAX), 2);
    out.push(b':');
    padded(out, minutes, 2);
    out.push(b':');
    padded(out, seconds, 2);
    if micros != 0 {
        let mut fraction = format!("{micros:06}");
        while fraction.ends_with('0') {
            fraction.pop();
        }
        out.push(b'.');
        out.extend_from_slice(fraction.as_bytes());
    }
}

/// `YYYY-MM-DD`, with ` BC` for years before 1 (year 0 is 1 BC).
fn write_ymd(out: &mut Vec<u8>, year: i32, month: u32, day: u32) -> bool {
    let bc = year <= 0;
    let shown = if bc { 1 - year } else { year };
    padded(out, shown.unsigned_abs(), 4);
    out.push(b'-');
    padded(out, month, 2);
    out.push(b'-');
    padded(out, day, 2);
    bc
}

/// `timestamp`: `2024-06-05 10:11:12.5`.
pub fn write_timestamp(out: &mut Vec<u8>, value: &NaiveDateTime) {
    let bc = write_ymd(out, value.year(), value.month(), value.day());
    out.push(b' ');
    write_clock(
        out,
        u64::from(value.hour()),
        value.minute(),
        value.second(),
        value.nanosecond() / 1000,
    );
    if bc {
        out.extend_from_slice(b" BC");
    }
}

/// `timestamptz` in the session's zone: `2024-06-05 11:11:12+01`, `… +05:30`.
pub fn write_timestamptz(out: &mut Vec<u8>, utc: &NaiveDateTime, zone: &SessionZone) {
    let offset = zone.offset_at(utc);
    let local = DateTime::<chrono::Utc>::from_naive_utc_and_offset(*utc, chrono::Utc)
        .with_timezone(&offset)
        .naive_local();
    let bc = write_ymd(out, local.year(), local.month(), local.day());
    out.push(b' ');
    write_clock(
        out,
        u64::from(local.hour()),
        local.minute(),
        local.second(),
        local.nanosecond() / 1000,
    );
    let seconds = offset.local_minus_utc();
    out.push(if seconds < 0 { b'-' } else { b'+' });
    let magnitude = seconds.unsigned_abs();
    padded(out, magnitude / 3600, 2);
    if !magnitude.is_multiple_of(3600) {
        out.push(b':');
        padded(out, magnitude % 3600 / 60, 2);
        if !magnitude.is_multiple_of(60) {
            out.push(b':');
            padded(out, magnitude % 60, 2);
        }
    }
    if bc {
        out.extend_from_slice(b" BC");
    }
}

/// `time`: microseconds since midnight as `HH:MM:SS[.ffffff]`.
pub fn write_time(out: &mut Vec<u8>, micros: i64) {
    let micros = micros.rem_euclid(86_400_000_000);
    let seconds = micros / 1_000_000;
    write_clock(
        out,
        u64::try_from(seconds / 3600).unwrap_or(0),
        u32::try_from(seconds / 60 % 60).unwrap_or(0),
        u32::try_from(seconds % 60).unwrap_or(0),
        u32::try_from(micros % 1_000_000).unwrap_or(0),
    );
}

/// `interval` in the `postgres` style: `1 year 2 mons -3 days +04:05:06.5`.
pub fn write_interval(out: &mut Vec<u8>, months: i32, days: i32, micros: i64) {
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |out: &mut Vec<u8>, value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        if !is_zero {
            out.push(b' ');
        }
        if is_before && value > 0 {
            out.push(b'+');
        }
        out.extend_from_slice(value.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(unit.as_bytes());
        if value != 1 {
            out.push(b's');
        }
        is_before = value < 0;
        is_zero = false;
    };
    part(out, i64::from(months / 12), "year");
    part(out, i64::from(months % 12), "mon");
    part(out, i64::from(days), "day");
    if is_zero || micros != 0 {
        if !is_zero {
            out.push(b' ');
        }
        if micros < 0 {
            out.push(b'-');
        } else if is_before {
            out.push(b'+');
        }
        let magnitude = micros.unsigned_abs();
        let seconds = magnitude / 1_000_000;
        write_clock(
            out,
            seconds / 3600,
            u32::try_from(seconds / 60 % 60).unwrap_or(0),
            u32::try_from(seconds % 60).unwrap_or(0),
            u32::try_from(magnitude % 1_000_000).unwrap_or(0),
        );
    }
}

/// An array element as `array_out` writes it: quoted (with `"` and `\` escaped) when it
/// is empty, is `NULL` in any case, or holds a brace, comma, quote, backslash or space.
pub fn write_array_element(out: &mut Vec<u8>, text: &[u8]) {
    let needs_quotes = text.is_empty()
        || text.eq_ignore_ascii_case(b"null")
        || text.iter().any(|b| {
            matches!(
                b,
                b'{' | b'}' | b',' | b'"' | b'\\' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
            )
        });
    if !needs_quotes {
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    for b in text {
        if matches!(b, b'"' | b'\\') {
            out.push(b'\\');
        }
        out.push(*b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn float(value: f64) -> String {
        let mut out = Vec::new();
        write_float(&mut out, value, false, 1);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_are_spelled_as_float8out_spells_them() {
        let cases = [
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e20, "1e+20"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (1e-7, "1e-07"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e300 * 10.0, "1e+301"),
        ];
        for (value, text) in cases {
            assert_eq!(float(value), text, "{value:e}");
        }
        let mut out = Vec::new();
        write_float(&mut out, f64::from(123456789.123f32), true, 1);
        assert_eq!(out, b"1.2345679e+08");
        let mut out = Vec::new();
        write_float(&mut out, 0.1, false, 0);
        assert_eq!(out, b"0.1");
    }

    #[test]
    fn timestamps_drop_zero_fractions_and_zones_show_their_offset() {
        let at = NaiveDate::from_ymd_opt(2024, 6, 5)
            .unwrap()
            .and_hms_micro_opt(10, 11, 12, 500_000)
            .unwrap();
        let mut out = Vec::new();
        write_timestamp(&mut out, &at);
        assert_eq!(out, b"2024-06-05 10:11:12.5");
        let london = SessionZone::parse("Europe/London").unwrap();
        let mut out = Vec::new();
        write_timestamptz(&mut out, &at, &london);
        assert_eq!(out, b"2024-06-05 11:11:12.5+01");
        let kolkata = SessionZone::parse("Asia/Kolkata").unwrap();
        let mut out = Vec::new();
        write_timestamptz(&mut out, &at.with_nanosecond(0).unwrap(), &kolkata);
        assert_eq!(out, b"2024-06-05 15:41:12+05:30");
    }

    #[test]
    fn intervals_are_in_the_postgres_style() {
        let text = |m, d, us| {
            let mut out = Vec::new();
            write_interval(&mut out, m, d, us);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(0, 0, 0), "00:00:00");
        assert_eq!(text(0, 1, 0), "1 day");
        assert_eq!(text(14, 3, 0), "1 year 2 mons 3 days");
        assert_eq!(text(0, -1, 0), "-1 days");
        assert_eq!(text(0, 1, 7_200_000_000), "1 day 02:00:00");
        assert_eq!(text(0, -1, 7_200_000_000), "-1 days +02:00:00");
        assert_eq!(text(0, 0, -90_500_000), "-00:01:30.5");
        assert_eq!(text(0, 0, 129_600_000_000), "36:00:00");
    }

    #[test]
    fn array_elements_are_quoted_when_they_must_be() {
        let quoted = |s: &str| {
            let mut out = Vec::new();
            write_array_element(&mut out, s.as_bytes());
            String::from_utf8(out).unwrap()
        };
        assert_eq!(quoted("a"), "a");
        assert_eq!(quoted("x y"), "\"x y\"");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("NULL"), "\"NULL\"");
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
