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

/// A text mask that writes into a buffer, so a column is masked without an allocation
/// per value.
pub type TextMask = fn(&str, &mut String);

/// Letters become `x` (`X` for capitals), digits `0`; everything else stays.
pub fn redact(value: &str) -> String {
    collect(value, redact_into)
}

/// [`redact`] into `out`.
pub fn redact_into(value: &str, out: &mut String) {
    out.extend(value.chars().map(redact_char));
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
    collect(value, show_last_4_into)
}

/// [`show_last_4`] into `out`.
pub fn show_last_4_into(value: &str, out: &mut String) {
    let keep_from = value.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
    redact_into(&value[..keep_from], out);
    out.push_str(&value[keep_from..]);
}

/// The first four characters as they are, the rest redacted.
pub fn show_first_4(value: &str) -> String {
    collect(value, show_first_4_into)
}

/// [`show_first_4`] into `out`.
pub fn show_first_4_into(value: &str, out: &mut String) {
    let keep_to = value.char_indices().nth(4).map_or(value.len(), |(i, _)| i);
    out.push_str(&value[..keep_to]);
    redact_into(&value[keep_to..], out);
}

/// The postcode sector: the outward code and the first character of the inward code
/// (`E8 1DY` → `E8 1`, `N167AB` → `N16 7`). Values too short to be postcodes are redacted.
pub fn postcode_sector(value: &str) -> String {
    collect(value, postcode_sector_into)
}

/// [`postcode_sector`] into `out`.
pub fn postcode_sector_into(value: &str, out: &mut String) {
    let compact: Vec<char> = value.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < 5 {
        return redact_into(value, out);
    }
    let split = compact.len() - 3;
    out.extend(compact[..split].iter().map(|c| c.to_ascii_uppercase()));
    out.push(' ');
    out.push(compact[split].to_ascii_uppercase());
}

fn collect(value: &str, mask: TextMask) -> String {
    let mut out = String::with_capacity(value.len());
    mask(value, &mut out);
    out
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
