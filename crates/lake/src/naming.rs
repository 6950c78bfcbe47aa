//! How lake folders become SQL names.

/// A department folder name as a lower-case slug: non-alphanumerics become `-`.
pub fn department_slug(folder: &str) -> String {
    normalise(folder, '-')
}

/// A folder name as an unquoted SQL identifier: lower case, non-alphanumerics become `_`.
pub fn sql_identifier(name: &str) -> String {
    let ident = normalise(name, '_');
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{ident}")
    } else {
        ident
    }
}

/// Lower-cases ASCII letters and digits, replaces everything else with `separator`, and
/// trims separators from both ends.
fn normalise(name: &str, separator: char) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                separator
            }
        })
        .collect();
    mapped.trim_matches(separator).to_string()
}

/// The schema for a department in a zone, as analysts know it from Redshift Spectrum:
/// `housing-repairs` in `raw` is `housing_repairs_raw_zone`.
pub fn schema_name(department: &str, zone: &str) -> String {
    format!(
        "{}_{}_zone",
        sql_identifier(department),
        sql_identifier(zone)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn department_folders_become_slugs() {
        assert_eq!(department_slug("Housing Repairs"), "housing-repairs");
        assert_eq!(department_slug("bens-housing-needs"), "bens-housing-needs");
        assert_eq!(department_slug("data_and_insight"), "data-and-insight");
    }

    #[test]
    fn schema_names_match_spectrum() {
        assert_eq!(schema_name("parking", "raw"), "parking_raw_zone");
        assert_eq!(
            schema_name("housing-repairs", "refined"),
            "housing_repairs_refined_zone"
        );
    }

    #[test]
    fn identifiers_are_plain() {
        assert_eq!(
            sql_identifier("Liberator PCN-Tickets"),
            "liberator_pcn_tickets"
        );
        assert_eq!(sql_identifier("2024_permits"), "_2024_permits");
    }
}
