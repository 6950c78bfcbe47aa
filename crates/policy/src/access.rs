//! Department access: the bucket-prefix permissions councils already have.
//!
//! A member of a department (its slug in the principal's `departments`) reads that
//! department's schema in the zones its groups open; public departments (`unrestricted`)
//! are readable by every authenticated principal. Anything else does not exist for them.

use serde::Deserialize;

use crate::error::PolicyError;
use crate::principal::Principal;
use crate::rules::{Grant, Restrict, TableRules, table_matches};

/// The policy file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Which zones members of these groups may read of their own departments.
    #[serde(default)]
    pub department_access: Vec<DepartmentAccess>,
    /// Departments every authenticated principal may read.
    #[serde(default)]
    pub public: PublicAccess,
    /// Row, column and cell detail for the tables they name.
    #[serde(default)]
    pub grant: Vec<Grant>,
    /// Filters ANDed onto the tables they name.
    #[serde(default)]
    pub restrict: Vec<Restrict>,
}

/// One rule: members of any of `groups` read their departments in `zones`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DepartmentAccess {
    pub groups: Vec<String>,
    pub zones: Vec<String>,
}

/// Departments open to everyone who is authenticated.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PublicAccess {
    #[serde(default = "default_public_departments")]
    pub departments: Vec<String>,
    #[serde(default = "default_public_zones")]
    pub zones: Vec<String>,
}

impl Default for PublicAccess {
    fn default() -> Self {
        PublicAccess {
            departments: default_public_departments(),
            zones: default_public_zones(),
        }
    }
}

fn default_public_departments() -> Vec<String> {
    vec!["unrestricted".to_string()]
}

fn default_public_zones() -> Vec<String> {
    ["raw", "refined", "trusted"].map(String::from).to_vec()
}

impl Policy {
    /// Parses and checks a policy; errors name the line.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = toml::from_str(text)?;
        for (i, rule) in policy.department_access.iter().enumerate() {
            if rule.groups.is_empty() || rule.zones.is_empty() {
                return Err(PolicyError::Invalid(format!(
                    "department_access rule {} needs at least one group and one zone",
                    i + 1
                )));
            }
        }
        policy.check_rules()?;
        Ok(policy)
    }

    fn check_rules(&self) -> Result<(), PolicyError> {
        let globs = self
            .grant
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("grant {}", i + 1), &g.tables))
            .chain(
                self.restrict
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("restrict {}", i + 1), &r.tables)),
            );
        for (rule, tables) in globs {
            if tables.is_empty() {
                return Err(PolicyError::Invalid(format!(
                    "{rule}: `tables` names no table"
                )));
            }
            for glob in tables {
                glob::Pattern::new(glob).map_err(|e| {
                    PolicyError::Invalid(format!("{rule}: table glob `{glob}`: {e}"))
                })?;
            }
        }
        for (i, g) in self.grant.iter().enumerate() {
            if g.row_filter.as_deref().is_some_and(|f| f.trim().is_empty()) {
                return Err(PolicyError::Invalid(format!(
                    "grant {}: empty row_filter",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    /// What `principal` gets of a table, or `None` when the table does not exist for it.
    /// `qualified` is `schema.table`.
    pub fn table_rules(
        &self,
        principal: &Principal,
        zone: &str,
        department: &str,
        qualified: &str,
    ) -> Option<TableRules> {
        let grants: Vec<_> = self
            .grant
            .iter()
            .enumerate()
            .filter(|(_, g)| g.matches(principal) && table_matches(&g.tables, qualified))
            .map(|(i, g)| g.applied(i))
            .collect();
        if grants.is_empty() && !self.can_read(principal, zone, department) {
            return None;
        }
        let restricts = self
            .restrict
            .iter()
            .enumerate()
            .filter(|(_, r)| r.applies_to(principal, qualified))
            .map(|(i, r)| {
                let name = r
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("restrict {}", i + 1));
                (name, r.row_filter.clone())
            })
            .collect();
        Some(TableRules { grants, restricts })
    }

    /// Every grant and restrict naming a table, each alone as the rules it would impose,
    /// whoever it matches: what start-up and `check` type-check against the table's schema.
    pub fn rules_naming(&self, qualified: &str) -> Vec<(String, TableRules)> {
        let grants = self
            .grant
            .iter()
            .enumerate()
            .filter(|(_, g)| table_matches(&g.tables, qualified))
            .map(|(i, g)| {
                let applied = g.applied(i);
                let rules = TableRules {
                    grants: vec![applied.clone()],
                    restricts: Vec::new(),
                };
                (applied.name, rules)
            });
        let restricts = self
            .restrict
            .iter()
            .enumerate()
            .filter(|(_, r)| table_matches(&r.tables, qualified))
            .map(|(i, r)| {
                let name = r
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("restrict {}", i + 1));
                let rules = TableRules {
                    grants: Vec::new(),
                    restricts: vec![(name.clone(), r.row_filter.clone())],
                };
                (name, rules)
            });
        grants.chain(restricts).collect()
    }

    /// Whether `principal` may read `department`'s folder in `zone`. Default deny.
    pub fn can_read(&self, principal: &Principal, zone: &str, department: &str) -> bool {
        let public = self.public.departments.iter().any(|d| d == department)
            && self.public.zones.iter().any(|z| z == zone);
        let member = principal.departments.contains(department)
            && self.department_access.iter().any(|rule| {
                principal.in_any_group(&rule.groups) && rule.zones.iter().any(|z| z == zone)
            });
        public || member
    }

    /// Every zone the policy names, to check against the configured lake.
    pub fn zones(&self) -> impl Iterator<Item = &str> {
        self.department_access
            .iter()
            .flat_map(|r| r.zones.iter())
            .chain(self.public.zones.iter())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
[[department_access]]
groups = ["analyst"]
zones = ["refined", "trusted"]

[[department_access]]
groups = ["engineer"]
zones = ["raw", "refined", "trusted"]
"#;

    fn principal(departments: &[&str], groups: &[&str]) -> Principal {
        Principal {
            subject: "s".into(),
            username: "s".into(),
            departments: departments.iter().map(|s| s.to_string()).collect(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn analysts_read_their_department_in_refined_and_trusted_only() {
        let policy = Policy::parse(POLICY).unwrap();
        let analyst = principal(&["parking"], &["analyst"]);
        assert!(policy.can_read(&analyst, "refined", "parking"));
        assert!(!policy.can_read(&analyst, "raw", "parking"));
        assert!(!policy.can_read(&analyst, "refined", "housing"));
    }

    #[test]
    fn engineers_read_raw_too() {
        let policy = Policy::parse(POLICY).unwrap();
        let engineer = principal(&["parking"], &["engineer"]);
        assert!(policy.can_read(&engineer, "raw", "parking"));
    }

    #[test]
    fn unrestricted_is_open_to_everyone_and_the_rest_is_denied() {
        let policy = Policy::parse(POLICY).unwrap();
        let public = principal(&[], &[]);
        assert!(policy.can_read(&public, "raw", "unrestricted"));
        assert!(!policy.can_read(&public, "raw", "parking"));
        let member_without_group = principal(&["parking"], &[]);
        assert!(!policy.can_read(&member_without_group, "refined", "parking"));
    }

    const RULES: &str = r#"
[[department_access]]
groups = ["analyst"]
zones = ["raw"]

[[grant]]
name = "own wards"
groups = ["analyst"]
tables = ["parking_*_zone.tickets*"]
row_filter = "ward_code IN (claim('wards'))"
masks = { vrm = "show_last_4" }

[[grant]]
groups = ["manager"]
claims = { borough = "hackney" }
tables = ["parking_*_zone.*"]

[[restrict]]
tables = ["housing_*_zone.*"]
row_filter = "NOT safeguarding"
unless_groups = ["safeguarding"]
"#;

    #[test]
    fn grants_decide_rows_and_masks_for_the_principals_they_match() {
        let policy = Policy::parse(RULES).unwrap();
        let analyst = principal(&["parking"], &["analyst"]);
        let rules = policy
            .table_rules(&analyst, "raw", "parking", "parking_raw_zone.tickets")
            .unwrap();
        assert_eq!(rules.grants.len(), 1);
        assert_eq!(rules.grants[0].name, "own wards");
        assert!(rules.grants[0].row_filter.is_some() && rules.restricts.is_empty());
        let other = policy
            .table_rules(&analyst, "raw", "parking", "parking_raw_zone.permits")
            .unwrap();
        assert!(other.grants.is_empty() && other.restricts.is_empty());
    }

    #[test]
    fn claim_matched_grants_open_tables_and_need_every_claim() {
        let policy = Policy::parse(RULES).unwrap();
        let mut manager = principal(&[], &["manager"]);
        assert!(
            policy
                .table_rules(&manager, "trusted", "parking", "parking_trusted_zone.x")
                .is_none()
        );
        manager
            .attributes
            .insert("borough".into(), vec!["hackney".into()]);
        let rules = policy
            .table_rules(&manager, "trusted", "parking", "parking_trusted_zone.x")
            .unwrap();
        assert!(rules.grants[0].row_filter.is_none() && rules.grants[0].masks.is_empty());
    }

    #[test]
    fn restricts_apply_unless_exempt() {
        let policy = Policy::parse(RULES).unwrap();
        let engineer = principal(&["housing"], &["analyst"]);
        let rules = policy
            .table_rules(&engineer, "raw", "housing", "housing_raw_zone.cases")
            .unwrap();
        assert_eq!(rules.restricts.len(), 1);
        let officer = principal(&["housing"], &["analyst", "safeguarding"]);
        let rules = policy
            .table_rules(&officer, "raw", "housing", "housing_raw_zone.cases")
            .unwrap();
        assert!(rules.restricts.is_empty());
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            "[[grant]]\ntables = []\n",
            "[[grant]]\ntables = [\"a[\"]\n",
            "[[grant]]\ntables = [\"x.y\"]\nrow_filter = \" \"\n",
            "[[grant]]\ntables = [\"x.y\"]\nmasks = { a = \"scramble\" }\n",
            "[[restrict]]\ntables = [\"x.y\"]\n",
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
        let err = Policy::parse("[[grant]]\ntables = [\"x.y\"]\nmasks = { a = \"scramble\" }\n")
            .unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn bad_policies_name_the_line() {
        let err = Policy::parse("[[department_access]]\ngroups = [\"a\"]\nzone = [\"raw\"]\n")
            .unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(Policy::parse("[[department_access]]\ngroups = []\nzones = [\"raw\"]\n").is_err());
    }
}
