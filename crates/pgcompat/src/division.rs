//! Division of `numeric` as PostgreSQL divides: the exact quotient rounded (half away from
//! zero) to 16 decimals, or to either operand's scale if larger. DataFusion's decimal
//! division keeps 6 decimals (`151.606367` where PostgreSQL says `151.6063675832127352`),
//! and its `avg` of integers is a float. `pg_div(a, b)` divides as PostgreSQL does; the
//! engine's analyzer rewrites every decimal division to it, and the gateway rewrites
//! `avg(x)` as `pg_div(sum(x), count(x))`, keeping `DISTINCT`, `FILTER` and `OVER` on
//! both, so both aggregates stay DataFusion's fast ones. Floats divide as floats.
//!
//! PostgreSQL chooses the decimals of a quotient per value (`select_div_scale` in
//! `numeric.c`: 16 significant digits at least): 16 decimals for quotients from 1 up to
//! 9,999, 4 fewer for each further 4 integer digits, more below 1. Here a column has one
//! scale, 16; README "Known differences" says so.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Decimal128Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, i256};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The least number of decimals of a quotient (PostgreSQL's `NUMERIC_MIN_SIG_DIGITS`).
const MIN_SCALE: i8 = 16;

/// `pg_div(a, b)`.
pub fn division_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Division {
        signature: Signature::any(2, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Division {
    signature: Signature,
}

/// The scale of a decimal or integer operand, or `None` for a float.
fn exact_scale(t: &DataType) -> Option<i8> {
    match t {
        DataType::Decimal128(_, s) | DataType::Decimal256(_, s) => Some(*s),
        t if t.is_integer() => Some(0),
        _ => None,
    }
}

fn overflow() -> DataFusionError {
    DataFusionError::Execution("numeric field overflow".to_string())
}

impl ScalarUDFImpl for Division {
    fn name(&self) -> &str {
        "pg_div"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let scales: Option<Vec<i8>> = args.iter().map(exact_scale).collect();
        Ok(match scales {
            Some(scales) => DataType::Decimal128(38, scales.into_iter().fold(MIN_SCALE, i8::max)),
            None => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = crate::sql_functions::argument_arrays(args.args, rows)?;
        let [a, b] = arrays.as_slice() else {
            return Err(DataFusionError::Plan("pg_div takes two arguments".into()));
        };
        let (Some(sa), Some(sb)) = (exact_scale(a.data_type()), exact_scale(b.data_type())) else {
            let (a, b) = (cast(a, &DataType::Float64)?, cast(b, &DataType::Float64)?);
            let out: Float64Array = a
                .as_primitive::<Float64Type>()
                .iter()
                .zip(b.as_primitive::<Float64Type>().iter())
                .map(|(a, b)| Some(a? / b?))
                .collect();
            return Ok(ColumnarValue::Array(Arc::new(out)));
        };
        let target = MIN_SCALE.max(sa).max(sb);
        let (a, b) = (
            cast(a, &DataType::Decimal128(38, sa))?,
            cast(b, &DataType::Decimal128(38, sb))?,
        );
        // a·10^-sa / (b·10^-sb) at scale `target`: a·10^(target - sa + sb) / b.
        let shift = i32::from(target) - i32::from(sa) + i32::from(sb);
        let factor = i256::from_i128(10)
            .checked_pow(u32::try_from(shift).map_err(|_| overflow())?)
            .ok_or_else(overflow)?;
        let mut out = Vec::with_capacity(a.len());
        for (a, b) in a
            .as_primitive::<Decimal128Type>()
            .iter()
            .zip(b.as_primitive::<Decimal128Type>().iter())
        {
            let (Some(a), Some(b)) = (a, b) else {
                out.push(None);
                continue;
            };
            if b == 0 {
                return Err(DataFusionError::ArrowError(
                    Box::new(datafusion::arrow::error::ArrowError::DivideByZero),
                    None,
                ));
            }
            let dividend = i256::from_i128(a)
                .checked_mul(factor)
                .ok_or_else(overflow)?;
            let quotient = divide_rounding(dividend, i256::from_i128(b));
            out.push(Some(quotient.to_i128().ok_or_else(overflow)?));
        }
        let out = Decimal128Array::from(out).with_precision_and_scale(38, target)?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `a / b` rounded half away from zero, as PostgreSQL rounds numerics.
fn divide_rounding(a: i256, b: i256) -> i256 {
    let quotient = a.wrapping_div(b);
    let remainder = a.wrapping_rem(b);
    let twice = remainder.wrapping_abs().wrapping_mul(i256::from_i128(2));
    if twice >= b.wrapping_abs() {
        let away = if (a < i256::ZERO) != (b < i256::ZERO) {
            i256::MINUS_ONE
        } else {
            i256::ONE
        };
        quotient.wrapping_add(away)
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn div(a: i128, b: i128) -> i128 {
        divide_rounding(i256::from_i128(a), i256::from_i128(b)).as_i128()
    }

    #[test]
    fn halves_round_away_from_zero() {
        assert_eq!(div(5, 2), 3);
        assert_eq!(div(-5, 2), -3);
        assert_eq!(div(4, 3), 1);
        assert_eq!(div(10i128.pow(16), 3), 3_333_333_333_333_333);
        assert_eq!(div(2 * 10i128.pow(16), 3), 6_666_666_666_666_667);
    }
}
