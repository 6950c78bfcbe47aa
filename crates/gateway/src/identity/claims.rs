//! From verified claims to a principal, through configured JSON pointers.

use std::collections::BTreeSet;

use lakegate_lake::department_slug;
use lakegate_policy::Principal;
use serde_json::Value;

use crate::config::ClaimMapping;
use crate::error::AuthError;

/// Binds a principal. The subject must be a non-empty string; list claims may be an array
/// of strings or a single string; a missing list claim is an empty list.
pub fn principal_from_claims(
    claims: &Value,
    mapping: &ClaimMapping,
) -> Result<Principal, AuthError> {
    let subject = match claims.pointer(&mapping.subject) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(AuthError::BadClaim(mapping.subject.clone())),
        None => return Err(AuthError::MissingClaim("sub".to_string())),
    };
    let username = match claims.pointer(&mapping.username) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Null) | None => subject.clone(),
        Some(_) => return Err(AuthError::BadClaim(mapping.username.clone())),
    };
    let departments = list(claims, &mapping.departments)?
        .iter()
        .map(|d| department_slug(d))
        .filter(|d| !d.is_empty())
        .collect();
    let groups: BTreeSet<String> = list(claims, &mapping.groups)?.into_iter().collect();
    let mut attributes = std::collections::BTreeMap::new();
    for (name, pointer) in &mapping.attributes {
        attributes.insert(name.clone(), list(claims, pointer)?);
    }
    Ok(Principal {
        subject,
        username,
        departments,
        groups,
        attributes,
    })
}

/// A list claim: a string, an integer, or an array of them. Anything else (objects,
/// nested arrays, floats, booleans) is refused rather than guessed at.
fn list(claims: &Value, pointer: &str) -> Result<Vec<String>, AuthError> {
    let item = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        _ => Err(AuthError::BadClaim(pointer.to_string())),
    };
    match claims.pointer(pointer) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(item).collect(),
        Some(other) => Ok(vec![item(other)?]),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn claims_bind_through_pointers() {
        let mut mapping = ClaimMapping::default();
        mapping
            .attributes
            .insert("wards".into(), "/ext/wards".into());
        let p = principal_from_claims(
            &json!({"sub": "u1", "preferred_username": "pat", "departments": ["Parking"],
                    "groups": "analyst", "ext": {"wards": ["E05009367", 7]}}),
            &mapping,
        )
        .unwrap();
        assert_eq!(p.subject, "u1");
        assert_eq!(p.username, "pat");
        assert!(p.departments.contains("parking"));
        assert!(p.groups.contains("analyst"));
        assert_eq!(p.attributes["wards"], vec!["E05009367", "7"]);
    }

    #[test]
    fn missing_lists_are_empty_and_bad_types_are_refused() {
        let mapping = ClaimMapping::default();
        let p = principal_from_claims(&json!({"sub": "u"}), &mapping).unwrap();
        assert!(p.departments.is_empty());
        assert_eq!(p.username, "u");
        assert!(principal_from_claims(&json!({"sub": "u", "groups": {"a": 1}}), &mapping).is_err());
        assert!(principal_from_claims(&json!({"sub": "u", "groups": 7.5}), &mapping).is_err());
        assert!(principal_from_claims(&json!({"sub": "u", "groups": [["a"]]}), &mapping).is_err());
        assert!(principal_from_claims(&json!({"sub": "u", "groups": [true]}), &mapping).is_err());
        assert!(principal_from_claims(&json!({"sub": ""}), &mapping).is_err());
        assert!(principal_from_claims(&json!({"sub": 5}), &mapping).is_err());
    }
}
