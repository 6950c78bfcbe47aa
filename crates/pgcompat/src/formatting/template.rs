//! Date/time template patterns, read as PostgreSQL 15's `formatting.c` reads them
//! (manual, table 9.26 "Template Patterns for Date/Time Formatting" and 9.27 "Template
//! Pattern Modifiers").

/// A letter case of a name pattern: `MONTH`, `Month`, `month`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Upper,
    Capital,
    Lower,
}

impl Case {
    pub fn apply(self, name: &str) -> String {
        match self {
            Case::Upper => name.to_uppercase(),
            Case::Lower => name.to_lowercase(),
            Case::Capital => name.to_string(),
        }
    }
}

/// One template pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Hour12,
    Hour24,
    Minute,
    Second,
    Millisecond,
    Microsecond,
    /// `FF1`…`FF6`: that many fraction digits.
    Fraction(u8),
    /// `SSSS`, `SSSSS`: seconds past midnight.
    SecondsOfDay,
    /// `AM`, `PM` (either matches either), with or without periods.
    Meridian {
        case: Case,
        periods: bool,
    },
    /// `Y,YYY`.
    YearComma,
    /// `YYYY`, `YYY`, `YY`, `Y`: the last n digits of the year.
    Year(u8),
    /// `IYYY`…`I`: the ISO 8601 week-numbering year.
    IsoYear(u8),
    /// `AD`, `BC`, with or without periods.
    Era {
        case: Case,
        periods: bool,
    },
    MonthName(Case),
    MonthAbbreviation(Case),
    Month,
    DayName(Case),
    DayAbbreviation(Case),
    DayOfYear,
    IsoDayOfYear,
    DayOfMonth,
    /// `D`: Sunday 1 … Saturday 7.
    DayOfWeek,
    /// `ID`: Monday 1 … Sunday 7.
    IsoDayOfWeek,
    WeekOfMonth,
    WeekOfYear,
    IsoWeek,
    Century,
    JulianDay,
    Quarter,
    RomanMonth(Case),
    ZoneName(Case),
    ZoneHours,
    ZoneMinutes,
    ZoneOffset,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Field {
        field: Field,
        /// `FM`: no padding.
        fill_mode: bool,
        /// `TH` / `th`: an ordinal suffix, upper or lower case.
        ordinal: Option<Case>,
    },
    /// Text copied as is: quoted text, or a character that is no pattern.
    Literal(String),
}

/// Patterns, longest first where one is a prefix of another, as `formatting.c` lists them.
const KEYWORDS: &[(&str, Field)] = &[
    (
        "A.D.",
        Field::Era {
            case: Case::Upper,
            periods: true,
        },
    ),
    (
        "A.M.",
        Field::Meridian {
            case: Case::Upper,
            periods: true,
        },
    ),
    (
        "AD",
        Field::Era {
            case: Case::Upper,
            periods: false,
        },
    ),
    (
        "AM",
        Field::Meridian {
            case: Case::Upper,
            periods: false,
        },
    ),
    (
        "B.C.",
        Field::Era {
            case: Case::Upper,
            periods: true,
        },
    ),
    (
        "BC",
        Field::Era {
            case: Case::Upper,
            periods: false,
        },
    ),
    ("CC", Field::Century),
    ("DAY", Field::DayName(Case::Upper)),
    ("DDD", Field::DayOfYear),
    ("DD", Field::DayOfMonth),
    ("DY", Field::DayAbbreviation(Case::Upper)),
    ("Day", Field::DayName(Case::Capital)),
    ("Dy", Field::DayAbbreviation(Case::Capital)),
    ("D", Field::DayOfWeek),
    ("FF1", Field::Fraction(1)),
    ("FF2", Field::Fraction(2)),
    ("FF3", Field::Fraction(3)),
    ("FF4", Field::Fraction(4)),
    ("FF5", Field::Fraction(5)),
    ("FF6", Field::Fraction(6)),
    ("HH24", Field::Hour24),
    ("HH12", Field::Hour12),
    ("HH", Field::Hour12),
    ("IDDD", Field::IsoDayOfYear),
    ("ID", Field::IsoDayOfWeek),
    ("IW", Field::IsoWeek),
    ("IYYY", Field::IsoYear(4)),
    ("IYY", Field::IsoYear(3)),
    ("IY", Field::IsoYear(2)),
    ("I", Field::IsoYear(1)),
    ("J", Field::JulianDay),
    ("MI", Field::Minute),
    ("MM", Field::Month),
    ("MONTH", Field::MonthName(Case::Upper)),
    ("MON", Field::MonthAbbreviation(Case::Upper)),
    ("MS", Field::Millisecond),
    ("Month", Field::MonthName(Case::Capital)),
    ("Mon", Field::MonthAbbreviation(Case::Capital)),
    ("OF", Field::ZoneOffset),
    (
        "P.M.",
        Field::Meridian {
            case: Case::Upper,
            periods: true,
        },
    ),
    (
        "PM",
        Field::Meridian {
            case: Case::Upper,
            periods: false,
        },
    ),
    ("Q", Field::Quarter),
    ("RM", Field::RomanMonth(Case::Upper)),
    ("SSSSS", Field::SecondsOfDay),
    ("SSSS", Field::SecondsOfDay),
    ("SS", Field::Second),
    ("TZH", Field::ZoneHours),
    ("TZM", Field::ZoneMinutes),
    ("TZ", Field::ZoneName(Case::Upper)),
    ("US", Field::Microsecond),
    ("WW", Field::WeekOfYear),
    ("W", Field::WeekOfMonth),
    ("Y,YYY", Field::YearComma),
    ("YYYY", Field::Year(4)),
    ("YYY", Field::Year(3)),
    ("YY", Field::Year(2)),
    ("Y", Field::Year(1)),
    (
        "a.d.",
        Field::Era {
            case: Case::Lower,
            periods: true,
        },
    ),
    (
        "a.m.",
        Field::Meridian {
            case: Case::Lower,
            periods: true,
        },
    ),
    (
        "ad",
        Field::Era {
            case: Case::Lower,
            periods: false,
        },
    ),
    (
        "am",
        Field::Meridian {
            case: Case::Lower,
            periods: false,
        },
    ),
    (
        "b.c.",
        Field::Era {
            case: Case::Lower,
            periods: true,
        },
    ),
    (
        "bc",
        Field::Era {
            case: Case::Lower,
            periods: false,
        },
    ),
    ("cc", Field::Century),
    ("day", Field::DayName(Case::Lower)),
    ("ddd", Field::DayOfYear),
    ("dd", Field::DayOfMonth),
    ("dy", Field::DayAbbreviation(Case::Lower)),
    ("d", Field::DayOfWeek),
    ("ff1", Field::Fraction(1)),
    ("ff2", Field::Fraction(2)),
    ("ff3", Field::Fraction(3)),
    ("ff4", Field::Fraction(4)),
    ("ff5", Field::Fraction(5)),
    ("ff6", Field::Fraction(6)),
    ("hh24", Field::Hour24),
    ("hh12", Field::Hour12),
    ("hh", Field::Hour12),
    ("iddd", Field::IsoDayOfYear),
    ("id", Field::IsoDayOfWeek),
    ("iw", Field::IsoWeek),
    ("iyyy", Field::IsoYear(4)),
    ("iyy", Field::IsoYear(3)),
    ("iy", Field::IsoYear(2)),
    ("i", Field::IsoYear(1)),
    ("j", Field::JulianDay),
    ("mi", Field::Minute),
    ("mm", Field::Month),
    ("month", Field::MonthName(Case::Lower)),
    ("mon", Field::MonthAbbreviation(Case::Lower)),
    ("ms", Field::Millisecond),
    ("of", Field::ZoneOffset),
    (
        "p.m.",
        Field::Meridian {
            case: Case::Lower,
            periods: true,
        },
    ),
    (
        "pm",
        Field::Meridian {
            case: Case::Lower,
            periods: false,
        },
    ),
    ("q", Field::Quarter),
    ("rm", Field::RomanMonth(Case::Lower)),
    ("sssss", Field::SecondsOfDay),
    ("ssss", Field::SecondsOfDay),
    ("ss", Field::Second),
    ("tzh", Field::ZoneHours),
    ("tzm", Field::ZoneMinutes),
    ("tz", Field::ZoneName(Case::Lower)),
    ("us", Field::Microsecond),
    ("ww", Field::WeekOfYear),
    ("w", Field::WeekOfMonth),
    ("y,yyy", Field::YearComma),
    ("yyyy", Field::Year(4)),
    ("yyy", Field::Year(3)),
    ("yy", Field::Year(2)),
    ("y", Field::Year(1)),
];

/// The longest pattern at the start of `text`.
fn keyword(text: &str) -> Option<(usize, Field)> {
    KEYWORDS
        .iter()
        .filter(|(k, _)| text.starts_with(k))
        .max_by_key(|(k, _)| k.len())
        .map(|(k, f)| (k.len(), *f))
}

/// Reads a template into its pieces. Never fails: anything that is no pattern is text.
pub fn parse(template: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut rest = template;
    let mut literal = String::new();
    let flush = |literal: &mut String, nodes: &mut Vec<Node>| {
        if !literal.is_empty() {
            nodes.push(Node::Literal(std::mem::take(literal)));
        }
    };
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            // Quoted text, with backslash escapes, up to the closing quote (or the end).
            let mut chars = rest[1..].char_indices();
            let mut end = rest.len();
            while let Some((i, ch)) = chars.next() {
                match ch {
                    '"' => {
                        end = i + 2;
                        break;
                    }
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            literal.push(escaped);
                        }
                    }
                    other => literal.push(other),
                }
            }
            rest = &rest[end.min(rest.len())..];
            continue;
        }
        if c == '\\' && rest[1..].starts_with('"') {
            literal.push('"');
            rest = &rest[2..];
            continue;
        }
        let mut fill_mode = false;
        let mut after_modifiers = rest;
        loop {
            let upper = after_modifiers.get(..2).map(str::to_ascii_uppercase);
            match upper.as_deref() {
                Some("FM") => fill_mode = true,
                Some("FX" | "TM") => {}
                _ => break,
            }
            after_modifiers = &after_modifiers[2..];
        }
        if let Some((length, field)) = keyword(after_modifiers) {
            flush(&mut literal, &mut nodes);
            let mut next = &after_modifiers[length..];
            let ordinal = if next.starts_with("TH") {
                next = &next[2..];
                Some(Case::Upper)
            } else if next.starts_with("th") {
                next = &next[2..];
                Some(Case::Lower)
            } else {
                None
            };
            nodes.push(Node::Field {
                field,
                fill_mode,
                ordinal,
            });
            rest = next;
            continue;
        }
        if after_modifiers.len() != rest.len() && after_modifiers.is_empty() {
            // Modifiers with nothing to modify are dropped, as PostgreSQL drops them.
            rest = after_modifiers;
            continue;
        }
        literal.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut literal, &mut nodes);
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(field: Field) -> Node {
        Node::Field {
            field,
            fill_mode: false,
            ordinal: None,
        }
    }

    #[test]
    fn patterns_modifiers_and_text_are_told_apart() {
        let nodes = parse("YYYY-MM-DD\"T\"HH24:MI FMDDth");
        assert_eq!(
            nodes,
            vec![
                field(Field::Year(4)),
                Node::Literal("-".into()),
                field(Field::Month),
                Node::Literal("-".into()),
                field(Field::DayOfMonth),
                Node::Literal("T".into()),
                field(Field::Hour24),
                Node::Literal(":".into()),
                field(Field::Minute),
                Node::Literal(" ".into()),
                Node::Field {
                    field: Field::DayOfMonth,
                    fill_mode: true,
                    ordinal: Some(Case::Lower)
                },
            ]
        );
        assert_eq!(parse("Month")[0], field(Field::MonthName(Case::Capital)));
        assert_eq!(parse("MONTH")[0], field(Field::MonthName(Case::Upper)));
        assert_eq!(parse("SSSS")[0], field(Field::SecondsOfDay));
    }
}
