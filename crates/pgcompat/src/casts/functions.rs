//! The functions the cast rules put in place of Arrow's casts: `pg_text`, `pg_local_time`,
//! `pg_datetime_in` and `justify_hours`.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit, TimestampMicrosecondType};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::text::{
    write_array_element, write_float, write_interval, write_time, write_timestamp,
    write_timestamptz,
};
use crate::zone::SessionZone;

/// `pg_text(x)`: `x` as PostgreSQL's text output writes it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgText {
    signature: Signature,
}

impl PgText {
    pub(super) fn new() -> Self {
        PgText {
            signature: Signature::any(1, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for PgText {
    fn name(&self) -> &str {
        "pg_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = SessionZone::of(&args.config_options);
        let rows = args.number_rows;
        let array = args
            .args
            .into_iter()
            .next()
            .map(|a| a.into_array(rows))
            .transpose()?
            .ok_or_else(|| {
                datafusion::error::DataFusionError::Plan("pg_text takes one argument".into())
            })?;
        let mut out = StringBuilder::new();
        let texts = texts(&array, &zone)?;
        for text in texts {
            match text {
                Some(bytes) => out.append_value(String::from_utf8_lossy(&bytes)),
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Each value's PostgreSQL text, `None` for NULL.
pub(crate) fn texts(array: &ArrayRef, zone: &SessionZone) -> Result<Vec<Option<Vec<u8>>>> {
    let valid = |row: usize| array.is_valid(row);
    let mut out = Vec::with_capacity(array.len());
    match array.data_type() {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let single = !matches!(array.data_type(), DataType::Float64);
            let floats = cast(array, &DataType::Float64)?;
            for (row, v) in floats
                .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                .iter()
                .enumerate()
            {
                out.push(v.filter(|_| valid(row)).map(|v| {
                    let mut text = Vec::new();
                    write_float(&mut text, v, single, 1);
                    text
                }));
            }
        }
        DataType::Timestamp(_, tz) => {
            let micros = cast(
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            )?;
            for v in micros.as_primitive::<TimestampMicrosecondType>().iter() {
                out.push(
                    v.and_then(chrono::DateTime::from_timestamp_micros)
                        .map(|at| {
                            let mut text = Vec::new();
                            match tz {
                                Some(_) => write_timestamptz(&mut text, &at.naive_utc(), zone),
                                None => write_timestamp(&mut text, &at.naive_utc()),
                            }
                            text
                        }),
                );
            }
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            let micros = cast(array, &DataType::Time64(TimeUnit::Microsecond))?;
            for v in micros
                .as_primitive::<datafusion::arrow::datatypes::Time64MicrosecondType>()
                .iter()
            {
                out.push(v.map(|v| {
                    let mut text = Vec::new();
                    write_time(&mut text, v);
                    text
                }));
            }
        }
        DataType::Interval(_) => {
            let intervals = cast(
                array,
                &DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
            )?;
            for v in intervals
                .as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>()
                .iter()
            {
                out.push(v.map(|v| {
                    let mut text = Vec::new();
                    write_interval(&mut text, v.months, v.days, v.nanoseconds / 1_000);
                    text
                }));
            }
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let lists = cast(
                array,
                &DataType::List(Arc::new(Field::new_list_field(
                    list_item(array.data_type()),
                    true,
                ))),
            )?;
            let lists = lists.as_list::<i32>();
            let nested = matches!(
                list_item(array.data_type()),
                DataType::List(_) | DataType::LargeList(_)
            );
            let element_texts = element_texts(lists.values(), zone)?;
            for (row, window) in lists.value_offsets().windows(2).enumerate() {
                if lists.is_null(row) {
                    out.push(None);
                    continue;
                }
                let mut text = vec![b'{'];
                let (start, end) = (
                    usize::try_from(window[0]).unwrap_or(0),
                    usize::try_from(window[1]).unwrap_or(0),
                );
                for (n, element) in element_texts[start..end].iter().enumerate() {
                    if n > 0 {
                        text.push(b',');
                    }
                    match element {
                        None => text.extend_from_slice(b"NULL"),
                        Some(e) if nested => text.extend_from_slice(e),
                        Some(e) => write_array_element(&mut text, e),
                    }
                }
                text.push(b'}');
                out.push(Some(text));
            }
        }
        _ => {
            let text = cast(array, &DataType::Utf8)?;
            for v in text.as_string::<i32>().iter() {
                out.push(v.map(|v| v.as_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

fn list_item(t: &DataType) -> DataType {
    match t {
        DataType::List(f) | DataType::LargeList(f) => f.data_type().clone(),
        other => other.clone(),
    }
}

/// Array elements' texts: booleans as `t`/`f`, as `array_out` writes them.
fn element_texts(values: &ArrayRef, zone: &SessionZone) -> Result<Vec<Option<Vec<u8>>>> {
    if values.data_type() == &DataType::Boolean {
        return Ok(values
            .as_boolean()
            .iter()
            .map(|v| v.map(|v| if v { b"t".to_vec() } else { b"f".to_vec() }))
            .collect());
    }
    texts(values, zone)
}

/// `pg_local_time(timestamptz)`: the local date and time in the session's zone.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgLocalTime {
    signature: Signature,
}

impl PgLocalTime {
    pub(super) fn new() -> Self {
        PgLocalTime {
            signature: Signature::any(1, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for PgLocalTime {
    fn name(&self) -> &str {
        "pg_local_time"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let nullable = args.arg_fields.first().is_none_or(|f| f.is_nullable());
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Timestamp(TimeUnit::Microsecond, None),
            nullable,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = SessionZone::of(&args.config_options);
        let rows = args.number_rows;
        let Some(array) = args.args.into_iter().next() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "pg_local_time takes one argument".into(),
            ));
        };
        let array = array.into_array(rows)?;
        let tz = match array.data_type() {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        let micros = cast(&array, &DataType::Timestamp(TimeUnit::Microsecond, tz))?;
        let local: TimestampMicrosecondArray = micros
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|v| {
                let at = chrono::DateTime::from_timestamp_micros(v?)?.naive_utc();
                Some((at + zone.offset_at(&at)).and_utc().timestamp_micros())
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(local)))
    }
}

/// `pg_datetime_in(text)`: text read as PostgreSQL reads a `timestamp`, `timestamptz` or
/// `date`; text in no form it knows is left to Arrow's reader, and is `22007` if that
/// cannot read it either.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgDatetimeIn {
    signature: Signature,
    /// The type asked for.
    target: DataType,
}

impl PgDatetimeIn {
    pub(super) fn new(target: &DataType) -> Self {
        PgDatetimeIn {
            signature: Signature::any(1, Volatility::Stable),
            target: target.clone(),
        }
    }

    /// What this reader returns: microseconds (PostgreSQL's precision) or days.
    pub(super) fn produces(&self) -> DataType {
        match &self.target {
            DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            other => other.clone(),
        }
    }
}

impl ScalarUDFImpl for PgDatetimeIn {
    fn name(&self) -> &str {
        "pg_datetime_in"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.produces())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let session = SessionZone::of(&args.config_options);
        let rows = args.number_rows;
        let Some(array) = args.args.into_iter().next() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "pg_datetime_in takes one argument".into(),
            ));
        };
        let text = cast(&array.into_array(rows)?, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let produced = self.produces();
        let mut values: Vec<Option<i64>> = Vec::with_capacity(text.len());
        for value in text.iter() {
            let Some(value) = value else {
                values.push(None);
                continue;
            };
            let read = crate::datetime_input::parse(value).and_then(|written| match &produced {
                DataType::Timestamp(_, Some(_)) => written.instant(&session),
                DataType::Timestamp(_, None) => Some(written.local.and_utc().timestamp_micros()),
                _ => Some(i64::from(
                    chrono::Datelike::num_days_from_ce(&written.local.date()) - 719_163,
                )),
            });
            let read = match read {
                Some(read) => read,
                None => arrow_reading(value, &produced)?,
            };
            values.push(Some(read));
        }
        let out: ArrayRef = match &produced {
            DataType::Timestamp(_, tz) => {
                let array = TimestampMicrosecondArray::from(values);
                Arc::new(match tz {
                    Some(tz) => array.with_timezone(tz.as_ref()),
                    None => array,
                })
            }
            _ => Arc::new(datafusion::arrow::array::Date32Array::from(
                values
                    .into_iter()
                    .map(|v| v.and_then(|v| i32::try_from(v).ok()))
                    .collect::<Vec<_>>(),
            )),
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// Text in a form PostgreSQL's ISO reader does not cover, read by Arrow's (`20240605`,
/// RFC 3339 forms), as microseconds or days; `22007` if neither can read it.
fn arrow_reading(value: &str, produced: &DataType) -> Result<i64> {
    let one = datafusion::arrow::array::StringArray::from(vec![value]);
    let options = datafusion::arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let kind = match produced {
        DataType::Date32 => "date",
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone",
        _ => "timestamp",
    };
    let refused = || {
        crate::error::ValueError::InvalidDatetimeFormat(format!(
            "invalid input syntax for type {kind}: \"{value}\""
        ))
        .into_datafusion()
    };
    let read = datafusion::arrow::compute::cast_with_options(&one, produced, &options)
        .map_err(|_| refused())?;
    let read = cast(&read, &DataType::Int64)?;
    read.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
        .iter()
        .next()
        .flatten()
        .ok_or_else(refused)
}

/// `justify_hours(interval)`: whole 24 hours of the time part as days, the signs of days
/// and time made to agree (`interval_justify_hours` in PostgreSQL's `timestamp.c`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct JustifyHours {
    signature: Signature,
}

impl JustifyHours {
    pub(super) fn new() -> Self {
        JustifyHours {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JustifyHours {
    fn name(&self) -> &str {
        "justify_hours"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Interval(
            datafusion::arrow::datatypes::IntervalUnit::MonthDayNano,
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::datatypes::{
            IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit,
        };
        const DAY: i64 = 86_400_000_000_000;
        let rows = args.number_rows;
        let Some(array) = args.args.into_iter().next() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "justify_hours takes one argument".into(),
            ));
        };
        let intervals = cast(
            &array.into_array(rows)?,
            &DataType::Interval(IntervalUnit::MonthDayNano),
        )?;
        let out: datafusion::arrow::array::IntervalMonthDayNanoArray = intervals
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .map(|v| {
                let v = v?;
                let (mut days, mut nanos) =
                    (i64::from(v.days) + v.nanoseconds / DAY, v.nanoseconds % DAY);
                if days > 0 && nanos < 0 {
                    nanos += DAY;
                    days -= 1;
                } else if days < 0 && nanos > 0 {
                    nanos -= DAY;
                    days += 1;
                }
                Some(IntervalMonthDayNano::new(
                    v.months,
                    i32::try_from(days).ok()?,
                    nanos,
                ))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
