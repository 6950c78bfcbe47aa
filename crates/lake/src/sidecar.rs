//! `_catalog.toml`: the catalogue entry a data engineer keeps beside a dataset.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Description, ownership and the data dictionary for one dataset.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub description: Option<String>,
    pub owner: Option<String>,
    /// The columns that identify a row; shown to clients as the table's primary key.
    #[serde(default)]
    pub primary_key: Vec<String>,
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnDoc>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
}

/// What a column means, and whether it holds personal data.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ColumnDoc {
    pub description: Option<String>,
    /// PII tags such as `name`, `date_of_birth`, `vehicle_registration`.
    #[serde(default)]
    pub pii: Vec<String>,
}

/// A join the data dictionary declares: `column` references `table.column`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Relationship {
    pub column: String,
    /// `schema.table.column`, or `table.column` in the same schema.
    pub references: String,
}

impl Relationship {
    /// The referenced `(schema, table, column)`; a two-part reference is in `schema`.
    pub fn target(&self, schema: &str) -> Option<(String, String, String)> {
        let parts: Vec<&str> = self.references.split('.').collect();
        match parts.as_slice() {
            [schema, table, column] => {
                Some((schema.to_string(), table.to_string(), column.to_string()))
            }
            [table, column] => Some((schema.to_string(), table.to_string(), column.to_string())),
            _ => None,
        }
    }
}

impl Sidecar {
    /// Parses a sidecar; the error names the line that is wrong.
    pub fn parse(text: &str) -> Result<Sidecar, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_description_columns_and_relationships() {
        let s = Sidecar::parse(
            r#"
description = "Penalty charge notices"
owner = "parking-data@hackney.gov.uk"
[columns.vrm]
description = "Vehicle registration mark"
pii = ["vehicle_registration"]
[[relationships]]
column = "ward_code"
references = "unrestricted_raw_zone.wards.ward_code"
"#,
        )
        .unwrap();
        assert_eq!(s.owner.as_deref(), Some("parking-data@hackney.gov.uk"));
        assert_eq!(s.columns["vrm"].pii, vec!["vehicle_registration"]);
        assert_eq!(s.relationships.len(), 1);
        let target = s.relationships[0].target("parking_raw_zone");
        assert_eq!(
            target,
            Some((
                "unrestricted_raw_zone".into(),
                "wards".into(),
                "ward_code".into()
            ))
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_a_line() {
        let err = Sidecar::parse("descripton = \"typo\"\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
