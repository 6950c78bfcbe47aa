//! Functions whose result size a client chooses (`repeat('x', 2000000000)`,
//! `lpad('', 1e9)`, `range(1, 1e12)`): DataFusion allocates the whole result before the
//! memory pool sees any of it, so one statement could exhaust the machine and abort the
//! server for everyone. Each is wrapped to estimate its result from its arguments first and
//! refuse one larger than [`MAX_RESULT_BYTES`] per call with `54000` (PostgreSQL's
//! "requested length too large" is `54000` too, at 1 GB per value).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{cast, kernels::length::length};
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

use crate::error::ValueError;

/// Bytes one call of a sized function (one batch of rows) may produce.
pub const MAX_RESULT_BYTES: i128 = 256 << 20;

/// How a function's result size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Size {
    /// `repeat(text, n)`: the text's length times n.
    Repeat,
    /// `lpad` / `rpad(text, n, …)`: n characters of up to 4 bytes.
    Pad,
    /// `array_repeat(x, n)`, `array_resize(a, n, …)`: n elements.
    Elements,
    /// `range` / `generate_series(start, stop[, step])` as arrays: their element count.
    Series,
}

/// DataFusion's sized functions, each behind its bound.
pub fn bounded_udfs() -> Vec<ScalarUDF> {
    use datafusion::functions::{string, unicode};
    use datafusion::functions_nested::{range, repeat, resize};
    [
        (string::repeat(), Size::Repeat),
        (unicode::lpad(), Size::Pad),
        (unicode::rpad(), Size::Pad),
        (repeat::array_repeat_udf(), Size::Elements),
        (resize::array_resize_udf(), Size::Elements),
        (range::range_udf(), Size::Series),
        (range::gen_series_udf(), Size::Series),
    ]
    .into_iter()
    .map(|(inner, size)| ScalarUDF::new_from_impl(Bounded { inner, size }))
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    size: Size,
}

/// An argument's values as 64-bit integers, one per row (a constant once).
fn integers(value: &ColumnarValue) -> Result<Vec<Option<i64>>> {
    let array: ArrayRef = match value {
        ColumnarValue::Scalar(s) => s.to_array_of_size(1)?,
        ColumnarValue::Array(a) => Arc::clone(a),
    };
    let array = match array.data_type() {
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Interval(_) => {
            // Date and time series: counted in days, an upper bound on their steps.
            return Ok(vec![None; array.len()]);
        }
        _ => cast(&array, &DataType::Int64)?,
    };
    Ok(array.as_primitive::<Int64Type>().iter().collect())
}

/// The byte length of each value of a text argument.
fn lengths(value: &ColumnarValue) -> Result<Vec<i64>> {
    let array: ArrayRef = match value {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s),
        ) => {
            return Ok(vec![
                s.as_ref()
                    .map_or(0, |s| i64::try_from(s.len()).unwrap_or(i64::MAX)),
            ]);
        }
        ColumnarValue::Scalar(s) => s.to_array_of_size(1)?,
        ColumnarValue::Array(a) => Arc::clone(a),
    };
    let counted = length(&cast(&array, &DataType::Utf8)?)?;
    let counted = cast(&counted, &DataType::Int64)?;
    Ok(counted
        .as_primitive::<Int64Type>()
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// Row `row` of per-row values (a constant's single value for every row).
fn at<T: Copy>(values: &[T], row: usize) -> Option<T> {
    match values.len() {
        1 => values.first().copied(),
        _ => values.get(row).copied(),
    }
}

impl Bounded {
    /// The result's estimated size in bytes.
    fn estimate(&self, args: &[ColumnarValue], rows: usize) -> Result<i128> {
        let count =
            |i: usize| -> Result<Vec<Option<i64>>> { args.get(i).map_or(Ok(Vec::new()), integers) };
        let mut total: i128 = 0;
        match self.size {
            Size::Repeat => {
                let (texts, times) = (args.first().map_or(Ok(vec![0]), lengths)?, count(1)?);
                for row in 0..rows {
                    let n = at(&times, row).flatten().unwrap_or(0).max(0);
                    total += i128::from(at(&texts, row).unwrap_or(0)) * i128::from(n);
                }
            }
            Size::Pad | Size::Elements => {
                let (bytes_each, target) = if self.size == Size::Pad {
                    (4, count(1)?)
                } else {
                    (16, count(1)?)
                };
                for row in 0..rows {
                    total +=
                        i128::from(at(&target, row).flatten().unwrap_or(0).max(0)) * bytes_each;
                }
            }
            Size::Series => {
                if args.len() == 1 {
                    let stop = count(0)?;
                    for row in 0..rows {
                        total += i128::from(at(&stop, row).flatten().unwrap_or(0).max(0)) * 8;
                    }
                } else {
                    let (start, stop, step) = (count(0)?, count(1)?, count(2)?);
                    for row in 0..rows {
                        let (Some(Some(a)), Some(Some(b))) = (at(&start, row), at(&stop, row))
                        else {
                            continue;
                        };
                        let step = at(&step, row).flatten().unwrap_or(1);
                        let span = (i128::from(b) - i128::from(a)).abs();
                        total += span / i128::from(step.unsigned_abs().max(1) as i64) * 8 + 8;
                    }
                }
            }
        }
        Ok(total)
    }
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let estimate = self.estimate(&args.args, args.number_rows.max(1))?;
        if estimate > MAX_RESULT_BYTES {
            return Err(ValueError::LimitExceeded(format!(
                "requested length too large: {}() would produce about {} MiB; at most {} MiB are allowed",
                self.name(),
                estimate >> 20,
                MAX_RESULT_BYTES >> 20
            ))
            .into_datafusion());
        }
        self.inner.invoke_with_args(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn run(sql: &str) -> Result<usize> {
        let ctx = SessionContext::new();
        for udf in bounded_udfs() {
            ctx.register_udf(udf);
        }
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(batches.iter().map(|b| b.num_rows()).sum())
    }

    fn refused(result: Result<usize>) -> bool {
        let text = format!("{:?}", result.err());
        text.contains("requested length too large")
    }

    #[tokio::test]
    async fn sizes_a_client_chooses_are_bounded_before_allocation() {
        for sql in [
            "SELECT repeat('abc', 2000000000)",
            "SELECT lpad('x', 2000000000)",
            "SELECT rpad('x', 2000000000, 'yz')",
            "SELECT array_repeat(1, 2000000000)",
            "SELECT range(1, 100000000000)",
            "SELECT generate_series(1, 100000000000, 2)",
            "SELECT range(100000000000)",
        ] {
            assert!(refused(run(sql).await), "{sql}");
        }
    }

    #[tokio::test]
    async fn ordinary_sizes_still_work() {
        for sql in [
            "SELECT repeat('ab', 3)",
            "SELECT lpad('x', 5, '*')",
            "SELECT range(1, 10)",
            "SELECT array_repeat('a', 3)",
            "SELECT repeat(v, 2) FROM (VALUES ('a'), (NULL)) t(v)",
        ] {
            assert!(run(sql).await.is_ok(), "{sql}");
        }
    }
}
