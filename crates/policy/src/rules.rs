//! Grants and restricts: which rows and columns of a table a principal sees, and masked how.
//!
//! Department access decides whether a table exists for a principal at all; a `[[grant]]`
//! can also open a table. When grants match a principal on a table, they — not department
//! access — decide its rows and columns: rows are the OR of the grants' filters AND every
//! applicable restrict; a column is visible if any grant shows it; a cell is raw where some
//! grant whose filter holds leaves it unmasked, else it takes the weakest mask among the
//! grants whose filter holds, else it is NULL (Lake Formation's cell semantics).

use std::collections::{BTreeMap, BTreeSet};

use glob::Pattern;
use serde::Deserialize;

use crate::mask::MaskKind;
use crate::principal::Principal;

/// `[[grant]]`: detail for the tables it names, for the principals it matches.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Shown in the audit log.
    pub name: Option<String>,
    /// Matches principals in any of these groups; empty matches every group.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Matches principals whose attribute holds this value, for every entry.
    #[serde(default)]
    pub claims: BTreeMap<String, String>,
    /// Globs over `schema.table`, e.g. `parking_*_zone.liberator_pcn_tickets*`.
    pub tables: Vec<String>,
    /// SQL over the table's columns and literals, with `claim('name')` for a claim's values.
    pub row_filter: Option<String>,
    #[serde(default)]
    pub exclude_columns: Vec<String>,
    #[serde(default)]
    pub masks: BTreeMap<String, MaskKind>,
}

/// `[[restrict]]`: a filter ANDed onto the tables it names, for everyone not exempt.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Restrict {
    pub name: Option<String>,
    pub tables: Vec<String>,
    pub row_filter: String,
    #[serde(default)]
    pub unless_groups: Vec<String>,
}

/// One grant as it applies to one table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppliedGrant {
    pub name: String,
    /// `None`: every row.
    pub row_filter: Option<String>,
    pub excluded: BTreeSet<String>,
    pub masks: BTreeMap<String, MaskKind>,
}

/// What a principal gets of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TableRules {
    /// Empty: department access alone, so every row and column, unmasked.
    pub grants: Vec<AppliedGrant>,
    /// Filters always ANDed on, with their names.
    pub restricts: Vec<(String, String)>,
}

pub(crate) fn table_matches(globs: &[String], qualified: &str) -> bool {
    globs
        .iter()
        .any(|g| Pattern::new(g).is_ok_and(|p| p.matches(qualified)))
}

impl Grant {
    pub(crate) fn matches(&self, principal: &Principal) -> bool {
        let in_group = self.groups.is_empty() || principal.in_any_group(&self.groups);
        let claims_hold = self.claims.iter().all(|(attr, value)| {
            principal
                .attributes
                .get(attr)
                .is_some_and(|values| values.contains(value))
        });
        in_group && claims_hold
    }

    pub(crate) fn applied(&self, index: usize) -> AppliedGrant {
        AppliedGrant {
            name: self
                .name
                .clone()
                .unwrap_or_else(|| format!("grant {}", index + 1)),
            row_filter: self.row_filter.clone(),
            excluded: self.exclude_columns.iter().cloned().collect(),
            masks: self.masks.clone(),
        }
    }
}

impl Restrict {
    pub(crate) fn applies_to(&self, principal: &Principal, qualified: &str) -> bool {
        table_matches(&self.tables, qualified) && !principal.in_any_group(&self.unless_groups)
    }
}
