//! `interval * number`: PostgreSQL's `interval_mul`, which the engine has no kernel for
//! (`2 * interval '1 day'` failed to plan). The gateway writes such a product as
//! `pg_interval_mul(interval, factor)`.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, IntervalMonthDayNanoArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, IntervalMonthDayNano, IntervalUnit};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::ValueError;

/// `pg_interval_mul(interval, float8)`, for every session.
pub fn interval_mul_udf() -> datafusion::logical_expr::ScalarUDF {
    datafusion::logical_expr::ScalarUDF::new_from_impl(IntervalMul::new())
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct IntervalMul {
    signature: Signature,
}

impl IntervalMul {
    fn new() -> Self {
        IntervalMul {
            signature: Signature::exact(
                vec![
                    DataType::Interval(IntervalUnit::MonthDayNano),
                    DataType::Float64,
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for IntervalMul {
    fn name(&self) -> &str {
        "pg_interval_mul"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Interval(IntervalUnit::MonthDayNano))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let spans =
            arrays[0].as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>();
        let factors = arrays[1].as_primitive::<Float64Type>();
        let out = spans
            .iter()
            .zip(factors.iter())
            .map(|(span, factor)| match (span, factor) {
                (Some(span), Some(factor)) => multiply(span, factor).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<IntervalMonthDayNanoArray>>()?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// PostgreSQL 15's `interval_mul` (timestamp.c): months and days are multiplied and
/// truncated, their fractions carried down (a month is 30 days, a day 86,400 s), and the
/// time rounded to the microsecond.
fn multiply(span: IntervalMonthDayNano, factor: f64) -> Result<IntervalMonthDayNano> {
    let out_of_range =
        || ValueError::InvalidParameter("interval out of range".into()).into_datafusion();
    let months = f64::from(span.months) * factor;
    let days = f64::from(span.days) * factor;
    if !months.is_finite()
        || !days.is_finite()
        || months.abs() > f64::from(i32::MAX)
        || days.abs() > f64::from(i32::MAX)
    {
        return Err(out_of_range());
    }
    let result_months = months.trunc();
    let month_remainder_days = (months - result_months) * 30.0;
    let mut result_days = days.trunc();
    let mut sec_remainder =
        (days - result_days + month_remainder_days - month_remainder_days.trunc()) * 86_400.0;
    sec_remainder = (sec_remainder * 1e6).round() / 1e6;
    if sec_remainder.abs() >= 86_400.0 {
        let whole = (sec_remainder / 86_400.0).trunc();
        result_days += whole;
        sec_remainder -= whole * 86_400.0;
    }
    result_days += month_remainder_days.trunc();
    let micros = (span.nanoseconds / 1_000) as f64 * factor + sec_remainder * 1e6;
    let micros = micros.round_ties_even();
    if !micros.is_finite() || micros.abs() > i64::MAX as f64 / 1_000.0 {
        return Err(out_of_range());
    }
    Ok(IntervalMonthDayNano::new(
        result_months as i32,
        i32::try_from(result_days as i64).map_err(|_| out_of_range())?,
        (micros as i64) * 1_000,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mul(months: i32, days: i32, micros: i64, factor: f64) -> (i32, i32, i64) {
        let r = multiply(
            IntervalMonthDayNano::new(months, days, micros * 1_000),
            factor,
        )
        .unwrap();
        (r.months, r.days, r.nanoseconds / 1_000)
    }

    #[test]
    fn multiplies_as_postgresql() {
        assert_eq!(mul(0, 1, 0, 2.0), (0, 2, 0));
        assert_eq!(mul(0, 0, 3_600_000_000, 1.5), (0, 0, 5_400_000_000));
        // 1 month * 1.5 = 1 mon 15 days; 1 day * 0.5 = 12:00:00.
        assert_eq!(mul(1, 0, 0, 1.5), (1, 15, 0));
        assert_eq!(mul(0, 1, 0, 0.5), (0, 0, 43_200_000_000));
        assert!(multiply(IntervalMonthDayNano::new(i32::MAX, 0, 0), 2.0).is_err());
    }
}
