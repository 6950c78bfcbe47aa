//! `extract(field FROM x)` and `date_part('field', x)` as PostgreSQL 15 has them: `extract`
//! is `numeric` (with 6 decimals for `second` and `epoch`, 3 for `milliseconds`), and
//! `date_part` is `double precision`; `timestamptz` fields are of the session's local time.
//! DataFusion's `date_part` answers `integer` for both. The gateway rewrites both calls to
//! `pg_extract` / `pg_date_part` (manual section 9.9.1; `timestamp_part_common` in
//! `timestamp.c`, `extract_date` in `date.c`).

use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::zone::SessionZone;

/// `pg_extract(field, x)` → numeric and `pg_date_part(field, x)` → double precision.
pub fn extract_udfs() -> Vec<ScalarUDF> {
    [true, false]
        .into_iter()
        .map(|numeric| {
            ScalarUDF::new_from_impl(Extract {
                numeric,
                signature: Signature::any(2, Volatility::Stable),
            })
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Extract {
    /// `extract` (numeric) rather than `date_part` (double precision).
    numeric: bool,
    signature: Signature,
}

/// A field as PostgreSQL names it, singular and lower case (`years` → `year`).
fn field_name(text: &str) -> String {
    let lower = text.trim().to_ascii_lowercase();
    match lower.as_str() {
        "years" | "y" | "yr" | "yrs" => "year".to_string(),
        "months" | "mon" | "mons" => "month".to_string(),
        "days" | "d" => "day".to_string(),
        "hours" | "h" | "hr" | "hrs" => "hour".to_string(),
        "minutes" | "m" | "min" | "mins" => "minute".to_string(),
        "seconds" | "s" | "sec" | "secs" => "second".to_string(),
        "weeks" | "w" => "week".to_string(),
        "millisecond" | "ms" | "msec" | "msecs" | "mseconds" => "milliseconds".to_string(),
        "microsecond" | "us" | "usec" | "usecs" | "useconds" => "microseconds".to_string(),
        "decades" => "decade".to_string(),
        "centuries" => "century".to_string(),
        "millenniums" | "millennia" => "millennium".to_string(),
        _ => lower,
    }
}

/// The decimals of `extract`'s numeric result for a field (of a date: none).
fn scale(field: &str, date: bool) -> i8 {
    match field {
        _ if date => 0,
        "second" | "epoch" => 6,
        "milliseconds" => 3,
        _ => 0,
    }
}

fn literal_field(args: &[Option<&ScalarValue>]) -> Result<String> {
    match args.first().copied().flatten() {
        Some(
            ScalarValue::Utf8(Some(f))
            | ScalarValue::Utf8View(Some(f))
            | ScalarValue::LargeUtf8(Some(f)),
        ) => Ok(field_name(f)),
        _ => Err(DataFusionError::Plan(
            "the field of extract and date_part must be a literal".to_string(),
        )),
    }
}

fn unsupported(field: &str, kind: &str) -> DataFusionError {
    DataFusionError::Plan(format!("unit \"{field}\" not supported for type {kind}"))
}

impl ScalarUDFImpl for Extract {
    fn name(&self) -> &str {
        if self.numeric {
            "pg_extract"
        } else {
            "pg_date_part"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(if self.numeric {
            DataType::Decimal128(38, 6)
        } else {
            DataType::Float64
        })
    }

    fn return_field_from_args(
        &self,
        args: ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let field = literal_field(args.scalar_arguments)?;
        let date = args
            .arg_fields
            .get(1)
            .is_some_and(|f| matches!(f.data_type(), DataType::Date32 | DataType::Date64));
        let data_type = if self.numeric {
            DataType::Decimal128(38, scale(&field, date))
        } else {
            DataType::Float64
        };
        Ok(Arc::new(datafusion::arrow::datatypes::Field::new(
            self.name(),
            data_type,
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = SessionZone::of(&args.config_options);
        let rows = args.number_rows;
        let field = match args.args.first() {
            Some(ColumnarValue::Scalar(s)) => literal_field(&[Some(s)])?,
            _ => {
                return Err(DataFusionError::Plan(
                    "extract takes a literal field".into(),
                ));
            }
        };
        let value = args
            .args
            .get(1)
            .ok_or_else(|| DataFusionError::Plan("extract takes two arguments".into()))?
            .clone()
            .into_array(rows)?;
        let is_date = matches!(value.data_type(), DataType::Date32 | DataType::Date64);
        let (moments, with_zone) = moments(&value, &zone)?;
        // Values in microseconds (or units of the field's scale), per row.
        let mut numbers: Vec<Option<i128>> = Vec::with_capacity(moments.len());
        let mut floats: Vec<Option<f64>> = Vec::with_capacity(moments.len());
        for moment in &moments {
            let Some((local, utc_micros, offset)) = moment else {
                numbers.push(None);
                floats.push(None);
                continue;
            };
            let (n, f) = part(
                &field,
                local,
                *utc_micros,
                *offset,
                is_date && self.numeric,
                with_zone,
            )?;
            if self.numeric && n.is_none() {
                return Err(DataFusionError::NotImplemented(format!(
                    "extract({field} from a timestamp past midnight) as numeric; use date_part"
                )));
            }
            numbers.push(n);
            floats.push(Some(f));
        }
        let out: ArrayRef = if self.numeric {
            Arc::new(
                Decimal128Array::from(numbers)
                    .with_precision_and_scale(38, scale(&field, is_date))?,
            )
        } else {
            Arc::new(Float64Array::from(floats))
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// Each row's local time, its instant in microseconds since 1970 (the nominal one for
/// `timestamp`), and its offset east of UTC in seconds; and whether the type has a zone.
#[allow(clippy::type_complexity)]
fn moments(
    value: &ArrayRef,
    zone: &SessionZone,
) -> Result<(Vec<Option<(NaiveDateTime, i64, i32)>>, bool)> {
    match value.data_type() {
        DataType::Timestamp(_, tz) => {
            let micros = cast(
                value,
                &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            )?;
            let with_zone = tz.is_some();
            let out = micros
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .map(|v| {
                    let v = v?;
                    let at = chrono::DateTime::from_timestamp_micros(v)?.naive_utc();
                    if with_zone {
                        let offset = zone.offset_at(&at);
                        Some((at + offset, v, offset.local_minus_utc()))
                    } else {
                        Some((at, v, 0))
                    }
                })
                .collect();
            Ok((out, with_zone))
        }
        DataType::Date32 | DataType::Date64 => {
            let days = cast(value, &DataType::Date32)?;
            let out = days
                .as_primitive::<Date32Type>()
                .iter()
                .map(|d| {
                    let micros = i64::from(d?) * 86_400_000_000;
                    Some((
                        chrono::DateTime::from_timestamp_micros(micros)?.naive_utc(),
                        micros,
                        0,
                    ))
                })
                .collect();
            Ok((out, false))
        }
        other => Err(DataFusionError::Plan(format!(
            "function extract(text, {other}) is not supported"
        ))),
    }
}

/// One field: as an integer in units of the field's numeric scale (`None` where PostgreSQL's
/// numeric has digits this does not give: the julian day of a time past midnight), and as a
/// float.
fn part(
    field: &str,
    t: &NaiveDateTime,
    utc_micros: i64,
    offset: i32,
    date_only: bool,
    with_zone: bool,
) -> Result<(Option<i128>, f64)> {
    let year = i64::from(t.year());
    let second_micros = i64::from(t.second()) * 1_000_000 + i64::from(t.nanosecond() / 1000);
    let whole = |v: i64| Ok((Some(i128::from(v)), v as f64));
    let scaled = |v: i64, divisor: f64| Ok((Some(i128::from(v)), v as f64 / divisor));
    if date_only
        && matches!(
            field,
            "hour" | "minute" | "second" | "milliseconds" | "microseconds"
        )
    {
        return Err(unsupported(field, "date"));
    }
    let julian = i64::from(t.num_days_from_ce()) + 1_721_425;
    let since_midnight =
        i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1000);
    match field {
        "microseconds" => whole(second_micros),
        "milliseconds" => scaled(second_micros, 1000.0),
        "second" => scaled(second_micros, 1e6),
        "minute" => whole(i64::from(t.minute())),
        "hour" => whole(i64::from(t.hour())),
        "day" => whole(i64::from(t.day())),
        "month" => whole(i64::from(t.month())),
        "quarter" => whole(i64::from(t.month0() / 3 + 1)),
        "week" => whole(i64::from(t.iso_week().week())),
        "year" => whole(if year > 0 { year } else { year - 1 }),
        "isoyear" => {
            let iso = i64::from(t.iso_week().year());
            whole(if iso > 0 { iso } else { iso - 1 })
        }
        "decade" => whole(if year >= 0 {
            year / 10
        } else {
            -((8 - (year - 1)) / 10)
        }),
        "century" => whole(if year > 0 {
            (year + 99) / 100
        } else {
            -((99 - (year - 1)) / 100)
        }),
        "millennium" => whole(if year > 0 {
            (year + 999) / 1000
        } else {
            -((999 - (year - 1)) / 1000)
        }),
        "dow" => whole(i64::from(t.weekday().num_days_from_sunday())),
        "isodow" => whole(i64::from(t.weekday().number_from_monday())),
        "doy" => whole(i64::from(t.ordinal())),
        "epoch" if date_only => whole(utc_micros / 1_000_000),
        "epoch" => scaled(utc_micros, 1e6),
        "julian" if since_midnight == 0 => whole(julian),
        "julian" => Ok((None, julian as f64 + since_midnight as f64 / 86_400e6)),
        "timezone" if with_zone => whole(i64::from(offset)),
        "timezone_hour" if with_zone => whole(i64::from(offset / 3600)),
        "timezone_minute" if with_zone => whole(i64::from(offset % 3600 / 60)),
        _ => Err(unsupported(
            field,
            if with_zone {
                "timestamp with time zone"
            } else if date_only {
                "date"
            } else {
                "timestamp without time zone"
            },
        )),
    }
}
