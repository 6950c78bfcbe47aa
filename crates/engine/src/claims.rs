//! `claim('name')` in policy filters: bound to the principal's values as literals.
//!
//! A filter is parsed once as SQL with `claim` as a placeholder function; binding replaces
//! each `col IN (claim('wards'))` or `col = claim('wards')` with a literal list of the
//! principal's values. Claim values never become SQL text, so a value that looks like SQL
//! is only ever compared as a string. A filter naming a claim the principal lacks (or holds
//! empty) matches no rows.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, Operator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility, lit,
};
use lakegate_policy::Principal;

/// The placeholder; it cannot run (binding removes it before planning).
pub fn claim_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Claim {
        signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Claim {
    signature: Signature,
}

impl ScalarUDFImpl for Claim {
    fn name(&self) -> &str {
        "claim"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        datafusion::common::exec_err!("claim() is bound before a query runs")
    }
}

/// The principal's values of a claim: a named attribute, or `sub`, `username`,
/// `departments`, `groups`.
fn values(principal: &Principal, name: &str) -> Vec<String> {
    match name {
        "sub" => vec![principal.subject.clone()],
        "username" => vec![principal.username.clone()],
        "departments" => principal.departments.iter().cloned().collect(),
        "groups" => principal.groups.iter().cloned().collect(),
        other => principal.attributes.get(other).cloned().unwrap_or_default(),
    }
}

fn claim_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::ScalarFunction(f) if f.func.name() == "claim" => match f.args.as_slice() {
            [Expr::Literal(ScalarValue::Utf8(Some(name)), _)] => Some(name.clone()),
            _ => Some(String::new()),
        },
        _ => None,
    }
}

/// Replaces every claim in `filter` with the principal's values.
pub fn bind_claims(filter: Expr, principal: &Principal) -> Result<Expr, String> {
    let mut names = Vec::new();
    filter
        .apply(|e| {
            if let Some(name) = claim_name(e) {
                names.push(name);
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        })
        .map_err(|e| e.to_string())?;
    if names.iter().any(|n| n.is_empty()) {
        return Err("claim() takes one string literal".to_string());
    }
    if names.iter().any(|n| values(principal, n).is_empty()) {
        return Ok(lit(false));
    }
    let bound = filter
        .transform_up(|e| bind_one(e, principal))
        .map_err(|e| e.to_string())?
        .data;
    let mut leftover = false;
    bound
        .apply(|e| {
            leftover |= claim_name(e).is_some();
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        })
        .map_err(|e| e.to_string())?;
    if leftover {
        return Err(
            "claim() may only be used as `column IN (claim('x'))` or `column = claim('x')`"
                .to_string(),
        );
    }
    Ok(bound)
}

fn literals(principal: &Principal, name: &str) -> Vec<Expr> {
    values(principal, name).into_iter().map(lit).collect()
}

fn bind_one(e: Expr, principal: &Principal) -> Result<Transformed<Expr>> {
    match e {
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) if list.iter().any(|i| claim_name(i).is_some()) => {
            let mut bound = Vec::new();
            for item in list {
                match claim_name(&item) {
                    Some(name) => bound.extend(literals(principal, &name)),
                    None => bound.push(item),
                }
            }
            Ok(Transformed::yes(Expr::InList(InList::new(
                expr, bound, negated,
            ))))
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if matches!(op, Operator::Eq | Operator::NotEq) && claim_name(&right).is_some() =>
        {
            let name = claim_name(&right).unwrap_or_default();
            Ok(Transformed::yes(Expr::InList(InList::new(
                left,
                literals(principal, &name),
                op == Operator::NotEq,
            ))))
        }
        other => Ok(Transformed::no(other)),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::common::DFSchema;
    use datafusion::prelude::SessionContext;

    use super::*;

    fn principal(wards: &[&str]) -> Principal {
        let mut p = Principal::default();
        if !wards.is_empty() {
            p.attributes.insert(
                "wards".to_string(),
                wards.iter().map(|w| w.to_string()).collect(),
            );
        }
        p
    }

    fn bound(sql: &str, principal: &Principal) -> Result<Expr, String> {
        let parser = SessionContext::new();
        parser.register_udf(claim_udf());
        let schema = datafusion::arrow::datatypes::Schema::new(vec![
            datafusion::arrow::datatypes::Field::new("ward", DataType::Utf8, true),
        ]);
        let schema = DFSchema::try_from(schema).unwrap();
        let expr = parser.parse_sql_expr(sql, &schema).unwrap();
        bind_claims(expr, principal)
    }

    #[test]
    fn a_claim_becomes_the_principals_values_as_literals() {
        let e = bound(
            "ward IN (claim('wards'))",
            &principal(&["E05009367", "E05009368"]),
        );
        assert_eq!(
            e.unwrap().to_string(),
            "ward IN ([Utf8(\"E05009367\"), Utf8(\"E05009368\")])"
        );
        let e = bound("ward = claim('wards')", &principal(&["E05009367"]));
        assert_eq!(e.unwrap().to_string(), "ward IN ([Utf8(\"E05009367\")])");
        let e = bound("ward <> claim('wards')", &principal(&["E05009367"]));
        assert_eq!(
            e.unwrap().to_string(),
            "ward NOT IN ([Utf8(\"E05009367\")])"
        );
    }

    #[test]
    fn a_missing_claim_shows_no_rows() {
        assert_eq!(
            bound("ward IN (claim('wards'))", &principal(&[])),
            Ok(lit(false))
        );
        assert_eq!(
            bound("ward = claim('wards') OR true", &principal(&[])),
            Ok(lit(false))
        );
    }

    #[test]
    fn a_claim_anywhere_else_is_refused() {
        let p = principal(&["E05009367"]);
        assert!(bound("upper(claim('wards')) = ward", &p).is_err());
        assert!(bound("ward IN (claim(ward))", &p).is_err());
    }
}
