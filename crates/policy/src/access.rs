//! Department access: the bucket-prefix permissions councils already have.
//!
//! A member of a department (its slug in the principal's `departments`) reads that
//! department's schema in the zones its groups open; public departments (`unrestricted`)
//! are readable by every authenticated principal. Anything else does not exist for them.

use serde::Deserialize;

use crate::error::PolicyError;
use crate::principal::Principal;

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
        Ok(policy)
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

    #[test]
    fn bad_policies_name_the_line() {
        let err = Policy::parse("[[department_access]]\ngroups = [\"a\"]\nzone = [\"raw\"]\n")
            .unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(Policy::parse("[[department_access]]\ngroups = []\nzones = [\"raw\"]\n").is_err());
    }
}
