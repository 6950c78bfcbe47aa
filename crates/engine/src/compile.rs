//! From a principal's table rules to expressions over the table's raw columns.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::logical_expr::{Expr, ExprSchemable, col, lit, when};
use datafusion::prelude::SessionContext;
use lakegate_policy::{MaskKind, Principal, TableRules};
use sha2::{Digest, Sha256};

use crate::claims::bind_claims;
use crate::mask::{HashKey, mask_expr};

/// A table's rules as expressions: what the secured scan evaluates below the barrier.
#[derive(Debug)]
pub struct Compiled {
    /// The visible columns, in table order.
    pub schema: SchemaRef,
    /// One expression per visible column, over the raw columns.
    pub outputs: Vec<Expr>,
    /// Whether each visible column is served exactly as stored (no mask on any branch).
    pub raw: Vec<bool>,
    /// Rows: OR of the grants' filters AND every restrict; `None` is every row.
    pub filter: Option<Expr>,
    /// Names the policy in `EXPLAIN` without revealing it.
    pub policy_hash: String,
}

/// Why a table's rules do not apply to its current schema.
pub type CompileError = String;

/// Compiles rules for one principal against the table's schema. `parser` knows `claim`.
pub fn compile(
    table: &SchemaRef,
    rules: &TableRules,
    principal: &Principal,
    parser: &SessionContext,
    key: Option<&HashKey>,
) -> Result<Compiled, CompileError> {
    let df_schema = DFSchema::try_from(table.as_ref().clone()).map_err(|e| e.to_string())?;
    let parse = |sql: &str| -> Result<Expr, CompileError> {
        let expr = parser
            .parse_sql_expr(sql, &df_schema)
            .map_err(|e| format!("filter `{sql}`: {e}"))?;
        let bound = bind_claims(expr, principal).map_err(|e| format!("filter `{sql}`: {e}"))?;
        match bound.get_type(&df_schema) {
            Ok(DataType::Boolean) => Ok(bound),
            Ok(other) => Err(format!("filter `{sql}` is {other}, not boolean")),
            Err(e) => Err(format!("filter `{sql}`: {e}")),
        }
    };
    let grant_filters = rules
        .grants
        .iter()
        .map(|g| g.row_filter.as_deref().map(parse).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let mut filter = if grant_filters.iter().any(Option::is_none) {
        None
    } else {
        grant_filters.iter().flatten().cloned().reduce(Expr::or)
    };
    for (_, sql) in &rules.restricts {
        let restrict = parse(sql)?;
        filter = Some(match filter {
            Some(f) => f.and(restrict),
            None => restrict,
        });
    }
    let (mut fields, mut outputs, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    for field in table.fields() {
        let Some(branches) = column_branches(field.name(), rules, &grant_filters) else {
            continue;
        };
        let (expr, is_raw) = column_expr(field, branches, key)?;
        let out = if is_raw {
            field.as_ref().clone()
        } else {
            Field::new(field.name(), field.data_type().clone(), true)
        };
        fields.push(out);
        outputs.push(expr.alias(field.name()));
        raw.push(is_raw);
    }
    Ok(Compiled {
        schema: Arc::new(Schema::new(fields)),
        outputs,
        raw,
        filter,
        policy_hash: policy_hash(rules),
    })
}

/// For one column: each mask (`None` = raw) with the condition under which a row gets it,
/// weakest first. `None` when no grant shows the column.
fn column_branches(
    column: &str,
    rules: &TableRules,
    filters: &[Option<Expr>],
) -> Option<Vec<(Option<MaskKind>, Option<Expr>)>> {
    if rules.grants.is_empty() {
        return Some(vec![(None, None)]);
    }
    let mut by_mask: BTreeMap<(usize, Option<MaskKind>), Vec<&Option<Expr>>> = BTreeMap::new();
    for (grant, filter) in rules.grants.iter().zip(filters) {
        if grant.excluded.contains(column) {
            continue;
        }
        let mask = grant.masks.get(column).copied();
        let rank = mask.map_or(0, |m| {
            1 + MaskKind::WEAKEST_FIRST
                .iter()
                .position(|k| *k == m)
                .unwrap_or(0)
        });
        by_mask.entry((rank, mask)).or_default().push(filter);
    }
    if by_mask.is_empty() {
        return None;
    }
    // Every grant shows the column the same way: the table's row filter (the OR of the
    // grants' filters) already holds for every row that reaches it, so no condition is
    // needed, and a raw column stays raw (and its predicates can be pushed down).
    if let [((_, mask), shown_by)] = by_mask.iter().collect::<Vec<_>>().as_slice()
        && shown_by.len() == rules.grants.len()
    {
        return Some(vec![(*mask, None)]);
    }
    Some(
        by_mask
            .into_iter()
            .map(|((_, mask), conditions)| {
                let condition = if conditions.iter().any(|c| c.is_none()) {
                    None
                } else {
                    conditions.into_iter().flatten().cloned().reduce(Expr::or)
                };
                (mask, condition)
            })
            .collect(),
    )
}

/// `CASE WHEN <grant filters> THEN <value as that grant shows it> … ELSE NULL END`,
/// collapsed to the value itself when the first branch holds for every row.
fn column_expr(
    field: &Field,
    branches: Vec<(Option<MaskKind>, Option<Expr>)>,
    key: Option<&HashKey>,
) -> Result<(Expr, bool), CompileError> {
    let value = |mask: Option<MaskKind>| -> Result<Expr, CompileError> {
        let column = col(field.name());
        match mask {
            None => Ok(column),
            Some(kind) => mask_expr(kind, column, field.data_type(), key)
                .map_err(|e| format!("column `{}`: {e}", field.name())),
        }
    };
    if let Some((mask, None)) = branches.first() {
        return Ok((value(*mask)?, mask.is_none()));
    }
    let null = Expr::Literal(
        datafusion::common::ScalarValue::try_from(field.data_type()).map_err(|e| e.to_string())?,
        None,
    );
    let mut branches = branches.into_iter();
    let Some((mask, condition)) = branches.next() else {
        return Ok((null, false));
    };
    let mut builder = when(condition.unwrap_or_else(|| lit(true)), value(mask)?);
    for (mask, condition) in branches {
        builder = builder.when(condition.unwrap_or_else(|| lit(true)), value(mask)?);
    }
    let expr = builder.otherwise(null).map_err(|e| e.to_string())?;
    Ok((expr, false))
}

fn policy_hash(rules: &TableRules) -> String {
    let digest = Sha256::digest(format!("{rules:?}").as_bytes());
    hex::encode(&digest[..4])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use lakegate_policy::AppliedGrant;

    use super::*;
    use crate::claims::claim_udf;

    fn table() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("ward", DataType::Utf8, false),
            Field::new("vrm", DataType::Utf8, true),
            Field::new("amount", DataType::Int64, true),
        ]))
    }

    fn grant(filter: Option<&str>, excluded: &[&str], masks: &[(&str, MaskKind)]) -> AppliedGrant {
        AppliedGrant {
            name: "g".to_string(),
            row_filter: filter.map(String::from),
            excluded: excluded
                .iter()
                .map(|c| c.to_string())
                .collect::<BTreeSet<_>>(),
            masks: masks.iter().map(|(c, k)| (c.to_string(), *k)).collect(),
        }
    }

    fn compiled(rules: &TableRules) -> Result<Compiled, CompileError> {
        let parser = SessionContext::new();
        parser.register_udf(claim_udf());
        let mut principal = Principal::default();
        principal
            .attributes
            .insert("wards".to_string(), vec!["E05009367".to_string()]);
        compile(&table(), rules, &principal, &parser, None)
    }

    #[test]
    fn one_grant_masks_its_columns_and_hides_excluded_ones() {
        let rules = TableRules {
            grants: vec![grant(
                Some("ward IN (claim('wards'))"),
                &["amount"],
                &[("vrm", MaskKind::Redact)],
            )],
            restricts: vec![],
        };
        let c = compiled(&rules).unwrap();
        let names: Vec<&str> = c
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["ward", "vrm"]);
        assert_eq!(c.raw, [true, false]);
        assert!(
            c.outputs[1].to_string().contains("mask_redact"),
            "{}",
            c.outputs[1]
        );
        assert_eq!(
            c.filter.unwrap().to_string(),
            "ward IN ([Utf8(\"E05009367\")])"
        );
    }

    #[test]
    fn grants_that_show_a_column_differently_choose_per_row() {
        let rules = TableRules {
            grants: vec![
                grant(Some("ward = 'A'"), &[], &[]),
                grant(Some("ward = 'B'"), &[], &[("vrm", MaskKind::ShowLast4)]),
            ],
            restricts: vec![],
        };
        let c = compiled(&rules).unwrap();
        // Raw where the first grant's filter holds, masked where the second's does.
        let vrm = c.outputs[1].to_string();
        assert!(
            vrm.starts_with("CASE WHEN ward = Utf8(\"A\") THEN vrm"),
            "{vrm}"
        );
        assert!(vrm.contains("mask_show_last_4"), "{vrm}");
        assert_eq!(c.raw, [true, false, true]);
        assert!(c.schema.field(1).is_nullable());
        assert_eq!(
            c.filter.unwrap().to_string(),
            "ward = Utf8(\"A\") OR ward = Utf8(\"B\")"
        );
    }

    #[test]
    fn restricts_hold_whatever_the_grants_allow() {
        let rules = TableRules {
            grants: vec![grant(None, &[], &[])],
            restricts: vec![("r".to_string(), "amount < 100".to_string())],
        };
        let c = compiled(&rules).unwrap();
        assert_eq!(c.filter.unwrap().to_string(), "amount < Int64(100)");
        assert_eq!(c.raw, [true, true, true]);
    }

    #[test]
    fn a_filter_that_does_not_type_check_is_refused_with_its_text() {
        for filter in ["no_such_column = 1", "amount + 1"] {
            let rules = TableRules {
                grants: vec![grant(Some(filter), &[], &[])],
                restricts: vec![],
            };
            let error = compiled(&rules).unwrap_err();
            assert!(error.contains(filter), "{error}");
        }
        let rules = TableRules {
            grants: vec![grant(None, &[], &[("amount", MaskKind::Redact)])],
            restricts: vec![],
        };
        assert!(compiled(&rules).unwrap_err().contains("amount"));
    }
}
