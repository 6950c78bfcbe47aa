//! The identity a query runs as.

use std::collections::{BTreeMap, BTreeSet};

/// Who is asking, as bound from a verified token's claims. Ordered collections make equal
/// principals hash equally, so they can key caches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal {
    pub subject: String,
    /// The name clients log in with; defaults to the subject.
    pub username: String,
    /// Department slugs.
    pub departments: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    /// Named claims such as `wards`, each a list of strings.
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl Principal {
    pub fn in_any_group(&self, groups: &[String]) -> bool {
        groups.iter().any(|g| self.groups.contains(g))
    }
}
