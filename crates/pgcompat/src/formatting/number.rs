//! `to_char` of a number (PostgreSQL 15 manual, table 9.28 "Template Patterns for Numeric
//! Formatting", in the C locale PostgreSQL's own tests use: `D` is `.`, `G` is `,`, `L` is
//! a blank). Digits are rounded half away from zero to the template's fraction digits; a
//! value with more integer digits than the template has is all `#`; without `S`, `MI`,
//! `PL`, `SG` or `PR` one leading position holds the sign (`-`, or a blank); `FM` drops the
//! padding blanks and the trailing zeros of `9` positions.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type};
use datafusion::error::Result;

use crate::error::ValueError;

/// One piece of a numeric template.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Nine,
    Zero,
    Point,
    Group,
    Sign,
    Minus,
    Plus,
    Brackets,
    Currency,
    Exponent,
    Ordinal(bool),
    Text(String),
}

/// The template read into parts, with `FM` taken out.
struct Template {
    parts: Vec<Part>,
    fill_mode: bool,
}

fn parse(template: &str) -> std::result::Result<Template, String> {
    let mut parts = Vec::new();
    let mut fill_mode = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        let upper = rest.get(..4).map(str::to_ascii_uppercase);
        if upper.as_deref() == Some("EEEE") {
            parts.push(Part::Exponent);
            rest = &rest[4..];
            continue;
        }
        let two = rest.get(..2).map(str::to_ascii_uppercase);
        let (part, length) = match (two.as_deref(), c) {
            (Some("FM"), _) => {
                fill_mode = true;
                rest = &rest[2..];
                continue;
            }
            (Some("MI"), _) => (Part::Minus, 2),
            (Some("PL"), _) => (Part::Plus, 2),
            (Some("SG"), _) => (Part::Sign, 2),
            (Some("PR"), _) => (Part::Brackets, 2),
            (Some("TH"), _) => (Part::Ordinal(rest.starts_with("TH")), 2),
            (Some("RN"), _) | (Some("V9"), _) => {
                return Err(format!(
                    "\"{template}\" is not supported in to_char of a number"
                ));
            }
            (_, '9') => (Part::Nine, 1),
            (_, '0') => (Part::Zero, 1),
            (_, '.' | 'D' | 'd') => (Part::Point, 1),
            (_, ',' | 'G' | 'g') => (Part::Group, 1),
            (_, 'S' | 's') => (Part::Sign, 1),
            (_, 'L' | 'l') => (Part::Currency, 1),
            (_, '"') => {
                let end = rest[1..].find('"').map_or(rest.len(), |i| i + 2);
                let text = rest[1..end.min(rest.len())]
                    .trim_end_matches('"')
                    .to_string();
                parts.push(Part::Text(text));
                rest = &rest[end.min(rest.len())..];
                continue;
            }
            (_, other) => (Part::Text(other.to_string()), other.len_utf8()),
        };
        parts.push(part);
        rest = &rest[length..];
    }
    Ok(Template { parts, fill_mode })
}

/// `to_char(number, template)` of each row.
pub fn to_char(
    value: &ArrayRef,
    template: &datafusion::arrow::array::StringArray,
) -> Result<ArrayRef> {
    // Every number as an exact decimal: integers and numerics as they are, floats by their
    // shortest decimal text (as PostgreSQL converts a float before formatting it).
    let text: Vec<Option<String>> = match value.data_type() {
        DataType::Float32 | DataType::Float64 => {
            let floats = cast(value, &DataType::Float64)?;
            floats
                .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                .iter()
                .map(|v| v.map(|v| format!("{v}")))
                .collect()
        }
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            value
                .as_primitive::<Decimal128Type>()
                .iter()
                .map(|v| v.map(|v| decimal_text(v, scale)))
                .collect()
        }
        _ => {
            let text = cast(value, &DataType::Utf8)?;
            text.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect()
        }
    };
    let mut out = Vec::with_capacity(text.len());
    for (row, value) in text.into_iter().enumerate() {
        let Some(value) = value.filter(|_| template.is_valid(row)) else {
            out.push(None);
            continue;
        };
        let parsed = parse(template.value(row))
            .map_err(|m| ValueError::InvalidDatetimeFormat(m).into_datafusion())?;
        out.push(Some(format(&value, &parsed)));
    }
    Ok(Arc::new(StringArray::from(out)))
}

fn decimal_text(value: i128, scale: i8) -> String {
    let negative = value < 0;
    let digits = value.unsigned_abs().to_string();
    let scale = usize::try_from(scale).unwrap_or(0);
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// `value` (decimal text: `-12.5`, `1e+20`, `NaN`) rounded half away from zero to `frac`
/// digits: (negative, integer digits, fraction digits).
fn rounded(value: &str, frac: usize) -> Option<(bool, String, String)> {
    let negative = value.starts_with('-');
    let value = value.trim_start_matches(['-', '+']);
    // Scientific notation (floats) as plain digits.
    let (mantissa, exponent) = match value.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (value, 0),
    };
    let (int, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: Vec<u8> = int.bytes().chain(fraction.bytes()).collect();
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut point = i64::try_from(int.len()).ok()? + exponent;
    while point <= 0 {
        digits.insert(0, b'0');
        point += 1;
    }
    let point = usize::try_from(point).ok()?;
    while digits.len() < point + frac + 1 {
        digits.push(b'0');
    }
    let round_up = digits[point + frac] >= b'5';
    digits.truncate(point + frac);
    let mut all: Vec<u8> = digits;
    if round_up {
        let mut i = all.len();
        loop {
            if i == 0 {
                all.insert(0, b'1');
                return split(negative, all, point + 1, frac);
            }
            i -= 1;
            if all[i] == b'9' {
                all[i] = b'0';
            } else {
                all[i] += 1;
                break;
            }
        }
    }
    split(negative, all, point, frac)
}

fn split(
    negative: bool,
    all: Vec<u8>,
    point: usize,
    _frac: usize,
) -> Option<(bool, String, String)> {
    let text = String::from_utf8(all).ok()?;
    let (int, fraction) = text.split_at(point);
    let int = int.trim_start_matches('0').to_string();
    let is_zero = int.is_empty() && fraction.bytes().all(|b| b == b'0');
    Some((negative && !is_zero, int, fraction.to_string()))
}

fn format(value: &str, t: &Template) -> String {
    let is_digit = |p: &Part| matches!(p, Part::Nine | Part::Zero);
    let point = t.parts.iter().position(|p| *p == Part::Point);
    let int_positions: Vec<usize> = t
        .parts
        .iter()
        .enumerate()
        .filter(|(i, p)| is_digit(p) && point.is_none_or(|pt| *i < pt))
        .map(|(i, _)| i)
        .collect();
    let frac_positions: Vec<usize> = t
        .parts
        .iter()
        .enumerate()
        .filter(|(i, p)| is_digit(p) && point.is_some_and(|pt| *i > pt))
        .map(|(i, _)| i)
        .collect();
    if t.parts.contains(&Part::Exponent) {
        return exponent_format(value, frac_positions.len(), t.fill_mode);
    }
    let Some((negative, int, frac)) = rounded(value, frac_positions.len()) else {
        return value.to_string();
    };
    let int = if int.is_empty() && point.is_none() {
        "0".to_string()
    } else {
        int
    };
    let overflow = int.len() > int_positions.len();
    // The first integer position that prints a digit or a forced zero.
    let first_zero = int_positions
        .iter()
        .position(|i| t.parts[*i] == Part::Zero)
        .unwrap_or(int_positions.len());
    let first_digit = int_positions.len().saturating_sub(int.len());
    let start = first_zero.min(first_digit);
    // A leading `S` is anchored to the number: written just before its first digit.
    let anchored = t.parts.first() == Some(&Part::Sign);
    let explicit_sign = !anchored
        && t.parts
            .iter()
            .any(|p| matches!(p, Part::Sign | Part::Minus | Part::Plus | Part::Brackets));
    let mut out = String::new();
    let mut started = false;
    let mut sign_written = explicit_sign;
    let write_sign = |out: &mut String, sign_written: &mut bool| {
        if !*sign_written {
            if negative {
                out.push('-');
            } else if anchored {
                out.push('+');
            } else if !t.fill_mode {
                out.push(' ');
            }
            *sign_written = true;
        }
    };
    let trailing_nines = if t.fill_mode {
        // Fraction digits at `9` positions that are trailing zeros are dropped.
        let mut n = 0;
        for (k, i) in frac_positions.iter().enumerate().rev() {
            if t.parts[*i] == Part::Nine && frac.as_bytes().get(k) == Some(&b'0') {
                n += 1;
            } else {
                break;
            }
        }
        n
    } else {
        0
    };
    let mut int_index = 0;
    let mut frac_index = 0;
    for (i, part) in t.parts.iter().enumerate() {
        match part {
            Part::Nine | Part::Zero if point.is_none_or(|pt| i < pt) => {
                let k = int_index;
                int_index += 1;
                if overflow {
                    if !started {
                        // The sign's position stays, as in PostgreSQL (` ##`, `+##`).
                        if anchored {
                            out.push(if negative { '-' } else { '+' });
                        } else if !explicit_sign && negative {
                            out.push('-');
                        } else if !t.fill_mode && !explicit_sign {
                            out.push(' ');
                        }
                        started = true;
                    }
                    out.push('#');
                    continue;
                }
                if k < start {
                    if !t.fill_mode {
                        out.push(' ');
                    }
                    continue;
                }
                if !started {
                    write_sign(&mut out, &mut sign_written);
                    started = true;
                }
                let digit = k
                    .checked_sub(first_digit)
                    .and_then(|d| int.as_bytes().get(d));
                out.push(digit.map_or('0', |d| char::from(*d)));
            }
            Part::Nine | Part::Zero => {
                let k = frac_index;
                frac_index += 1;
                if overflow {
                    out.push('#');
                } else if k < frac_positions.len() - trailing_nines {
                    out.push(char::from(frac.as_bytes().get(k).copied().unwrap_or(b'0')));
                }
            }
            Part::Point => {
                if !started && !overflow {
                    write_sign(&mut out, &mut sign_written);
                    started = true;
                }
                out.push('.');
            }
            Part::Group => {
                if started || overflow {
                    out.push(',');
                } else if !t.fill_mode {
                    out.push(' ');
                }
            }
            Part::Sign if anchored && i == 0 => {}
            Part::Sign => out.push(if negative { '-' } else { '+' }),
            Part::Minus => out.push(if negative { '-' } else { ' ' }),
            Part::Plus => out.push(if negative { ' ' } else { '+' }),
            Part::Brackets => {
                if negative {
                    out.insert(0, '<');
                    out.push('>');
                } else if !t.fill_mode {
                    out.insert(0, ' ');
                    out.push(' ');
                }
            }
            Part::Currency => out.push(' '),
            Part::Ordinal(upper) => {
                let n = int.parse::<u64>().unwrap_or(0);
                let suffix = match (n % 100, n % 10) {
                    (11..=13, _) => "th",
                    (_, 1) => "st",
                    (_, 2) => "nd",
                    (_, 3) => "rd",
                    _ => "th",
                };
                out.push_str(&if *upper {
                    suffix.to_uppercase()
                } else {
                    suffix.to_string()
                });
            }
            Part::Exponent => {}
            Part::Text(text) => out.push_str(text),
        }
    }
    if !started && !overflow && !explicit_sign {
        write_sign(&mut out, &mut sign_written);
    }
    out
}

/// `EEEE`: `d.ddde+XX` with `frac` fraction digits.
fn exponent_format(value: &str, frac: usize, fill_mode: bool) -> String {
    let Ok(number) = value.parse::<f64>() else {
        return value.to_string();
    };
    let text = format!("{:.*e}", frac, number.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if number < 0.0 {
        "-"
    } else if fill_mode {
        ""
    } else {
        " "
    };
    let exponent_sign = if exponent < 0 { '-' } else { '+' };
    format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_char(value: &str, template: &str) -> String {
        format(value, &parse(template).unwrap())
    }

    #[test]
    fn numbers_are_formatted_as_postgresql_formats_them() {
        let cases = [
            ("160.00", "999G999D99", "     160.00"),
            ("160.50", "FM9999.00", "160.50"),
            ("160.50", "FM9999.99", "160.5"),
            ("160", "9999", "  160"),
            ("-160", "9999", " -160"),
            ("5", "0009", " 0005"),
            ("-5", "0009", "-0005"),
            ("160", "FM999,999", "160"),
            ("1234567", "FM9,999,999.99", "1,234,567."),
            ("12.5", "S999.99", " +12.50"),
            ("12.5", "999.99S", " 12.50+"),
            ("-12.5", "999.99MI", " 12.50-"),
            ("12345", "99", " ##"),
            ("0.5", "999.99", "    .50"),
            ("0.5", "FM990.0", "0.5"),
            ("0", "999", "   0"),
            ("2.675", "9.99", " 2.68"),
            ("1234.5", "9.99EEEE", " 1.23e+03"),
        ];
        for (value, template, expected) in cases {
            assert_eq!(to_char(value, template), expected, "{value} {template}");
        }
    }
}
