//! PostgreSQL's data type formatting functions, in place of DataFusion's (which take
//! chrono's `%Y` patterns, so a PostgreSQL template came back as the text of the template):
//! - `to_char(timestamp | timestamptz | date, template)` → text;
//! - `to_date(text, template)` → date;
//! - `to_timestamp(text, template)` → timestamptz, the text read as local time in the
//!   session's zone unless it gives an offset (`TZH`, `OF`); `to_timestamp(seconds)` → the
//!   instant that many seconds after 1970-01-01 UTC.
//!
//! - `x AT TIME ZONE zone`, as `pg_at_time_zone(x, zone)`.
//!
//! Templates follow the PostgreSQL 15 manual, section 9.8. Text that does not match its
//! template is `22007` (invalid datetime format); `to_char` copies what is no pattern.

mod input;
mod number;
mod output;
mod template;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, TimeZone};
use chrono_tz::OffsetName;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::ValueError;
use crate::zone::SessionZone;

/// `to_char`, `to_date` and `to_timestamp` as PostgreSQL has them, for a statement run in
/// `zone` (`to_timestamp` returns `timestamptz` of that zone, as a cast to it would).
pub fn formatting_udfs(zone: &SessionZone) -> Vec<ScalarUDF> {
    [Kind::Char, Kind::Date, Kind::Timestamp]
        .into_iter()
        .map(|kind| {
            ScalarUDF::new_from_impl(Formatting {
                kind,
                signature: Signature::variadic_any(Volatility::Stable),
                zone: zone.arrow_name(),
            })
        })
        .chain([ScalarUDF::new_from_impl(AtTimeZone {
            signature: Signature::any(2, Volatility::Stable),
            zone: zone.arrow_name(),
        })])
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Char,
    Date,
    Timestamp,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Formatting {
    kind: Kind,
    signature: Signature,
    /// The Arrow name of the statement's zone.
    zone: String,
}

fn datetime_error(message: String) -> datafusion::error::DataFusionError {
    ValueError::InvalidDatetimeFormat(message).into_datafusion()
}

impl ScalarUDFImpl for Formatting {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Char => "to_char",
            Kind::Date => "to_date",
            Kind::Timestamp => "to_timestamp",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let arity = args.len();
        match (self.kind, arity) {
            (Kind::Char, 2) => Ok(DataType::Utf8),
            (Kind::Date, 2) => Ok(DataType::Date32),
            // The instant, shown in the session's zone by the front end.
            (Kind::Timestamp, 1 | 2) => Ok(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some(self.zone.as_str().into()),
            )),
            _ => Err(datafusion::error::DataFusionError::Plan(format!(
                "function {}({}) does not exist",
                self.name(),
                args.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let zone = SessionZone::of(&args.config_options);
        let arrays = crate::sql_functions::argument_arrays(args.args, rows)?;
        let out: ArrayRef = match (self.kind, arrays.as_slice()) {
            (Kind::Char, [value, template]) => to_char(value, template, &zone)?,
            (Kind::Date, [text, template]) => {
                let moments = read(text, template)?;
                Arc::new(
                    moments
                        .into_iter()
                        .map(|m| m.map(|(at, _)| days_since_epoch(&at)))
                        .collect::<Date32Array>(),
                )
            }
            (Kind::Timestamp, [text, template]) => {
                let moments = read(text, template)?;
                let values: Vec<Option<i64>> = moments
                    .into_iter()
                    .map(|m| {
                        m.map(|(at, offset)| instant(&at, offset, &zone))
                            .transpose()
                    })
                    .collect::<Result<_>>()?;
                Arc::new(TimestampMicrosecondArray::from(values).with_timezone(self.zone.as_str()))
            }
            (Kind::Timestamp, [seconds]) => {
                let seconds = cast(seconds, &DataType::Float64)?;
                let values: Vec<Option<i64>> = seconds
                    .as_primitive::<Float64Type>()
                    .iter()
                    .map(|s| {
                        s.filter(|s| s.is_finite())
                            .map(|s| (s * 1e6).round() as i64)
                    })
                    .collect();
                Arc::new(TimestampMicrosecondArray::from(values).with_timezone(self.zone.as_str()))
            }
            _ => {
                return Err(datafusion::error::DataFusionError::Plan(format!(
                    "function {} takes two arguments",
                    self.name()
                )));
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn days_since_epoch(at: &NaiveDateTime) -> i32 {
    const EPOCH_FROM_CE: i32 = 719_163;
    chrono::Datelike::num_days_from_ce(&at.date()) - EPOCH_FROM_CE
}

/// Microseconds since 1970 UTC of a local time, in `offset` if the text gave one, else in
/// the session's zone (the earlier of two readings in a daylight-saving overlap, and the
/// later offset in a gap, as PostgreSQL resolves them).
fn instant(at: &NaiveDateTime, offset: Option<FixedOffset>, zone: &SessionZone) -> Result<i64> {
    let utc = match offset {
        Some(offset) => *at - offset,
        None => match zone {
            SessionZone::Fixed(offset) => *at - *offset,
            SessionZone::Named(tz) => match tz.from_local_datetime(at).earliest() {
                Some(local) => local.naive_utc(),
                None => {
                    let before = tz.offset_from_utc_datetime(at).fix();
                    *at - before
                }
            },
        },
    };
    Ok(utc.and_utc().timestamp_micros())
}

/// A local date and time read from text, and the offset the text gave, if any.
type Reading = (NaiveDateTime, Option<FixedOffset>);

/// Each row's text read by its template.
fn read(text: &ArrayRef, template: &ArrayRef) -> Result<Vec<Option<Reading>>> {
    let text = cast(text, &DataType::Utf8)?;
    let template = cast(template, &DataType::Utf8)?;
    let (text, template) = (text.as_string::<i32>(), template.as_string::<i32>());
    let mut parsed: HashMap<&str, Vec<template::Node>> = HashMap::new();
    (0..text.len())
        .map(|row| {
            if text.is_null(row) || template.is_null(row) {
                return Ok(None);
            }
            let fmt = template.value(row);
            let nodes = parsed.entry(fmt).or_insert_with(|| template::parse(fmt));
            input::parse(text.value(row), nodes)
                .map(Some)
                .map_err(datetime_error)
        })
        .collect()
}

/// `to_char` of each row.
fn to_char(value: &ArrayRef, template: &ArrayRef, zone: &SessionZone) -> Result<ArrayRef> {
    let template = cast(template, &DataType::Utf8)?;
    let template = template.as_string::<i32>();
    if value.data_type().is_numeric() {
        return number::to_char(value, template);
    }
    let moments = moments(value, zone)?;
    let mut parsed: HashMap<&str, Vec<template::Node>> = HashMap::new();
    let out: StringArray = moments
        .iter()
        .enumerate()
        .map(|(row, moment)| {
            let moment = moment.as_ref()?;
            if template.is_null(row) {
                return None;
            }
            let fmt = template.value(row);
            let nodes = parsed.entry(fmt).or_insert_with(|| template::parse(fmt));
            Some(output::format(moment, nodes))
        })
        .collect();
    Ok(Arc::new(out))
}

/// The local dates and times of a date or timestamp column; `timestamptz` in the session's
/// zone.
fn moments(value: &ArrayRef, zone: &SessionZone) -> Result<Vec<Option<output::Moment>>> {
    let local = |micros: i64| DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc());
    match value.data_type() {
        DataType::Timestamp(_, tz) => {
            let micros = cast(
                value,
                &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            )?;
            let micros = micros.as_primitive::<TimestampMicrosecondType>();
            Ok(micros
                .iter()
                .map(|v| {
                    let at = local(v?)?;
                    Some(match tz {
                        None => output::Moment {
                            local: at,
                            zone: None,
                        },
                        Some(_) => {
                            let offset = zone.offset_at(&at);
                            output::Moment {
                                local: at + offset,
                                zone: Some((offset, abbreviation(zone, &at, offset))),
                            }
                        }
                    })
                })
                .collect())
        }
        DataType::Date32 | DataType::Date64 => {
            let days = cast(value, &DataType::Date32)?;
            Ok(days
                .as_primitive::<Date32Type>()
                .iter()
                .map(|d| {
                    let at = local(i64::from(d?) * 86_400_000_000)?;
                    Some(output::Moment {
                        local: at,
                        zone: None,
                    })
                })
                .collect())
        }
        other => Err(datafusion::error::DataFusionError::Plan(format!(
            "function to_char({other}, text) does not exist"
        ))),
    }
}

/// The zone's abbreviation at `utc` (`BST`, `EST`), or its offset (`+0530`) where the
/// zone database gives only a number, as PostgreSQL writes `TZ`.
fn abbreviation(zone: &SessionZone, utc: &NaiveDateTime, offset: FixedOffset) -> String {
    let numeric = || {
        let seconds = offset.local_minus_utc();
        let sign = if seconds < 0 { '-' } else { '+' };
        let (h, m) = (seconds.abs() / 3600, seconds.abs() % 3600 / 60);
        if m == 0 {
            format!("{sign}{h:02}")
        } else {
            format!("{sign}{h:02}{m:02}")
        }
    };
    match zone {
        SessionZone::Named(tz) => tz
            .offset_from_utc_datetime(utc)
            .abbreviation()
            .filter(|a| a.starts_with(|c: char| c.is_ascii_alphabetic()))
            .map_or_else(numeric, str::to_string),
        SessionZone::Fixed(_) => numeric(),
    }
}

/// `x AT TIME ZONE zone` (PostgreSQL's `timezone(zone, x)`): a `timestamp` read as local
/// time in `zone` is the `timestamptz` of that instant; a `timestamptz` is the `timestamp`
/// of its local time in `zone`. DataFusion's keeps the type of its input, so the
/// gateway rewrites the operator to this function. `zone` is read as `SET TIME ZONE` reads
/// it; one PostgreSQL would refuse is `22023`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct AtTimeZone {
    signature: Signature,
    /// The Arrow name of the statement's zone, the zone of the `timestamptz` it returns.
    zone: String,
}

impl ScalarUDFImpl for AtTimeZone {
    fn name(&self) -> &str {
        "pg_at_time_zone"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match args.first() {
            Some(DataType::Timestamp(_, Some(_))) => {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            }
            _ => DataType::Timestamp(TimeUnit::Microsecond, Some(self.zone.as_str().into())),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = crate::sql_functions::argument_arrays(args.args, rows)?;
        let [value, zone] = arrays.as_slice() else {
            return Err(datafusion::error::DataFusionError::Plan(
                "AT TIME ZONE takes a value and a zone".into(),
            ));
        };
        let zones = cast(zone, &DataType::Utf8)?;
        let zones = zones.as_string::<i32>();
        let tz = match value.data_type() {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        let micros = cast(
            value,
            &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        )?;
        let micros = micros.as_primitive::<TimestampMicrosecondType>();
        let mut out: Vec<Option<i64>> = Vec::with_capacity(micros.len());
        for (row, v) in micros.iter().enumerate() {
            let (Some(v), true) = (v, zones.is_valid(row)) else {
                out.push(None);
                continue;
            };
            let name = zones.value(row);
            let at_zone = SessionZone::parse_at(name).ok_or_else(|| {
                ValueError::InvalidDatetimeFormat(format!("time zone \"{name}\" not recognized"))
                    .into_datafusion()
            })?;
            let Some(at) = DateTime::from_timestamp_micros(v).map(|d| d.naive_utc()) else {
                out.push(None);
                continue;
            };
            out.push(Some(match tz {
                // The instant's local time in the zone, as a `timestamp`.
                Some(_) => (at + at_zone.offset_at(&at)).and_utc().timestamp_micros(),
                // The local time in the zone, as an instant.
                None => instant(&at, None, &at_zone)?,
            }));
        }
        let array = TimestampMicrosecondArray::from(out);
        Ok(ColumnarValue::Array(match tz {
            Some(_) => Arc::new(array),
            None => Arc::new(array.with_timezone(self.zone.as_str())),
        }))
    }
}
