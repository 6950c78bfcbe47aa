//! Mask kinds and the pure functions behind them. Every mask keeps the column's type.

use serde::Deserialize;

/// How a column's values are hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskKind {
    /// Everything but the last four characters redacted.
    #[serde(rename = "show_last_4")]
    ShowLast4,
    /// Everything but the first four characters redacted.
    #[serde(rename = "show_first_4")]
    ShowFirst4,
    /// `E8 1DY` → `E8 1`.
    PostcodeSector,
    /// A date or timestamp reduced to 1 January of its year.
    DateYear,
    /// Letters become `x`/`X`, digits `0`; length and punctuation stay.
    Redact,
    /// Keyed HMAC-SHA256: equal values hash equally, so joins and GROUP BY still work.
    Hash,
    /// NULL.
    Null,
}

impl MaskKind {
    /// Masks ordered from the one that reveals most to the one that reveals least; where a
    /// cell could take several masks, the first applicable one in this order is used.
    pub const WEAKEST_FIRST: [MaskKind; 7] = [
        MaskKind::ShowLast4,
        MaskKind::ShowFirst4,
        MaskKind::PostcodeSector,
        MaskKind::DateYear,
        MaskKind::Redact,
        MaskKind::Hash,
        MaskKind::Null,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MaskKind::ShowLast4 => "show_last_4",
            MaskKind::ShowFirst4 => "show_first_4",
            MaskKind::PostcodeSector => "postcode_sector",
            MaskKind::DateYear => "date_year",
            MaskKind::Redact => "redact",
            MaskKind::Hash => "hash",
            MaskKind::Null => "null",
        }
    }
}

/// Letters become `x` (`X` for capitals), digits `0`; everything else stays.
pub fn redact(value: &str) -> String {
    value.chars().map(redact_char).collect()
}

fn redact_char(c: char) -> char {
    if c.is_alphabetic() {
        if c.is_uppercase() { 'X' } else { 'x' }
    } else if c.is_numeric() {
        '0'
    } else {
        c
    }
}

/// The last four characters as they are, the rest redacted.
pub fn show_last_4(value: &str) -> String {
    let count = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 4 >= count { c } else { redact_char(c) })
        .collect()
}

/// The first four characters as they are, the rest redacted.
pub fn show_first_4(value: &str) -> String {
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 4 { c } else { redact_char(c) })
        .collect()
}

/// The postcode sector: the outward code and the first character of the inward code
/// (`E8 1DY` → `E8 1`, `N167AB` → `N16 7`). Values too short to be postcodes are redacted.
pub fn postcode_sector(value: &str) -> String {
    let compact: String = value.split_whitespace().collect();
    let chars: Vec<char> = compact.chars().collect();
    if chars.len() < 5 {
        return redact(value);
    }
    let split = chars.len() - 3;
    let outward: String = chars[..split].iter().collect();
    format!(
        "{} {}",
        outward.to_uppercase(),
        chars[split].to_ascii_uppercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_keeps_shape() {
        assert_eq!(redact("Amina Brown-Smith 42"), "Xxxxx Xxxxx-Xxxxx 00");
        assert_eq!(redact(""), "");
        assert_eq!(redact("Zoë Ørsted ١٢"), "Xxx Xxxxxx 00");
        assert_eq!(redact("李小龍"), "xxx");
    }

    #[test]
    fn show_last_and_first_four() {
        assert_eq!(show_last_4("LK21 ABX"), "XX00 ABX");
        assert_eq!(show_first_4("LK21 ABX"), "LK21 XXX");
        assert_eq!(show_last_4("ab"), "ab");
        assert_eq!(show_first_4(""), "");
        assert_eq!(show_last_4("Zoë Ørsted"), "Xxx Xxsted");
    }

    #[test]
    fn postcode_sectors() {
        assert_eq!(postcode_sector("E8 1DY"), "E8 1");
        assert_eq!(postcode_sector("n16 7ab"), "N16 7");
        assert_eq!(postcode_sector("N167AB"), "N16 7");
        assert_eq!(postcode_sector("E8"), "X0");
        assert_eq!(postcode_sector(""), "");
    }

    #[test]
    fn weakest_first_is_every_kind_once() {
        let mut kinds = MaskKind::WEAKEST_FIRST.to_vec();
        kinds.dedup();
        assert_eq!(kinds.len(), 7);
    }
}
