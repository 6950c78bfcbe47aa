//! PostgreSQL's text and binary formats for whole columns at a time. Encoding value by value
//! through the generic encoder costs a type dispatch per value; streaming a wide table is
//! mostly that. Just as much, the text here is PostgreSQL's own spelling (`text.rs`):
//! floats, timestamps in the session's zone, intervals and arrays as `float8out`,
//! `timestamptz_out`, `interval_out` and `array_out` write them, which the generic encoder
//! does not. Batches with any other type go the generic way.

use bytes::{BufMut, Bytes, BytesMut};
use chrono::{Datelike, NaiveDate};
use lakegate_gateway::SessionZone;
use lakegate_gateway::arrow::array::{Array, ArrayRef, AsArray};
use lakegate_gateway::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, IntervalDayTimeType, IntervalMonthDayNanoType, IntervalUnit, IntervalYearMonthType,
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type,
};
use lakegate_gateway::arrow::record_batch::RecordBatch;
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;

use lakegate_gateway::text;

/// One column's values in text form: the bytes of every value end to end, where each
/// one ends, and which are NULL.
struct Column {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    nulls: Option<lakegate_gateway::arrow::buffer::NullBuffer>,
}

impl Column {
    /// The column of `array` whose values are written by `write`, one per row; `None` if
    /// a value cannot be written (it goes the generic way).
    fn write<T>(
        array: &ArrayRef,
        values: impl Iterator<Item = T>,
        mut write: impl FnMut(&mut Vec<u8>, T) -> Option<()>,
    ) -> Option<Column> {
        let mut out = Column {
            bytes: Vec::with_capacity(array.len() * 8),
            ends: Vec::with_capacity(array.len()),
            nulls: array.logical_nulls(),
        };
        for value in values {
            write(&mut out.bytes, value)?;
            out.ends.push(out.bytes.len());
        }
        Some(out)
    }

    fn value(&self, row: usize) -> Option<&[u8]> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            return None;
        }
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        Some(&self.bytes[start..self.ends[row]])
    }
}

/// How a connection's values are written as text.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// The zone `timestamptz` values are shown in.
    pub zone: SessionZone,
    /// `extra_float_digits`: 1 or more for the shortest exact floats.
    pub extra_float_digits: i8,
}

impl Default for TextOptions {
    /// PostgreSQL's defaults: UTC, `extra_float_digits = 1`.
    fn default() -> Self {
        TextOptions {
            zone: SessionZone::default(),
            extra_float_digits: 1,
        }
    }
}

impl TextOptions {
    /// The options of a connection's format options.
    pub fn of(options: &FormatOptions) -> TextOptions {
        TextOptions {
            zone: SessionZone::parse(&options.time_zone).unwrap_or_default(),
            extra_float_digits: options.extra_float_digits,
        }
    }
}

/// Every column of the batch, each in binary where `binary[i]`, else text; `None` if a
/// column's type is not one this module writes.
fn columns(batch: &RecordBatch, binary: &[bool], options: &TextOptions) -> Option<Vec<Column>> {
    batch
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if binary.get(i).copied().unwrap_or(false) {
                binary_column(c)
            } else {
                column(c, options)
            }
        })
        .collect()
}

/// PostgreSQL's epoch, 2000-01-01, in microseconds since 1970-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A timestamp array's values in microseconds since 1970 (nanoseconds are truncated, as
/// PostgreSQL keeps microseconds); `None` on overflow.
fn timestamp_micros(array: &ArrayRef) -> Option<Vec<i64>> {
    let DataType::Timestamp(unit, _) = array.data_type() else {
        return None;
    };
    let (multiply, divide) = match unit {
        TimeUnit::Second => (1_000_000, 1),
        TimeUnit::Millisecond => (1_000, 1),
        TimeUnit::Microsecond => (1, 1),
        TimeUnit::Nanosecond => (1, 1_000),
    };
    let values: &[i64] = match unit {
        TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values(),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().values(),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().values(),
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().values(),
    };
    values
        .iter()
        .map(|v| v.checked_mul(multiply).map(|v| v.div_euclid(divide)))
        .collect()
}

/// A time array's values in microseconds since midnight.
fn time_micros(array: &ArrayRef) -> Option<Vec<i64>> {
    Some(match array.data_type() {
        DataType::Time32(TimeUnit::Second) => array
            .as_primitive::<Time32SecondType>()
            .values()
            .iter()
            .map(|v| i64::from(*v) * 1_000_000)
            .collect(),
        DataType::Time32(TimeUnit::Millisecond) => array
            .as_primitive::<Time32MillisecondType>()
            .values()
            .iter()
            .map(|v| i64::from(*v) * 1_000)
            .collect(),
        DataType::Time64(TimeUnit::Microsecond) => array
            .as_primitive::<Time64MicrosecondType>()
            .values()
            .to_vec(),
        DataType::Time64(TimeUnit::Nanosecond) => array
            .as_primitive::<Time64NanosecondType>()
            .values()
            .iter()
            .map(|v| v / 1_000)
            .collect(),
        _ => return None,
    })
}

/// An interval array's values as PostgreSQL holds them: (months, days, microseconds).
fn intervals(array: &ArrayRef) -> Option<Vec<(i32, i32, i64)>> {
    Some(match array.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => array
            .as_primitive::<IntervalYearMonthType>()
            .values()
            .iter()
            .map(|m| (*m, 0, 0))
            .collect(),
        DataType::Interval(IntervalUnit::DayTime) => array
            .as_primitive::<IntervalDayTimeType>()
            .values()
            .iter()
            .map(|v| (0, v.days, i64::from(v.milliseconds) * 1_000))
            .collect(),
        DataType::Interval(IntervalUnit::MonthDayNano) => array
            .as_primitive::<IntervalMonthDayNanoType>()
            .values()
            .iter()
            .map(|v| (v.months, v.days, v.nanoseconds / 1_000))
            .collect(),
        _ => return None,
    })
}

/// Microseconds since 1970 as a date and time.
fn datetime(micros: i64) -> Option<chrono::NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

/// A column in PostgreSQL's binary format.
fn binary_column(array: &ArrayRef) -> Option<Column> {
    macro_rules! fixed {
        ($t:ty) => {
            Column::write(
                array,
                array.as_primitive::<$t>().values().iter(),
                |out, v| {
                    out.extend_from_slice(&v.to_be_bytes());
                    Some(())
                },
            )
        };
    }
    match array.data_type() {
        DataType::Int16 => fixed!(Int16Type),
        DataType::Int32 => fixed!(Int32Type),
        DataType::Int64 => fixed!(Int64Type),
        DataType::Utf8 => strings(array),
        DataType::Boolean => Column::write(array, array.as_boolean().values().iter(), |out, v| {
            out.push(u8::from(v));
            Some(())
        }),
        // Days since 2000-01-01, PostgreSQL's epoch.
        DataType::Date32 => Column::write(
            array,
            array.as_primitive::<Date32Type>().values().iter(),
            |out, days| {
                out.extend_from_slice(&days.checked_sub(10_957)?.to_be_bytes());
                Some(())
            },
        ),
        DataType::Decimal128(_, scale) => {
            let scale = u32::try_from(*scale).ok()?;
            let values = array.as_primitive::<Decimal128Type>().values().iter();
            Column::write(array, values, |out, v| write_numeric(out, *v, scale))
        }
        DataType::Float32 => fixed!(Float32Type),
        DataType::Float64 => fixed!(Float64Type),
        // Microseconds since PostgreSQL's epoch, for `timestamp` and `timestamptz` alike.
        DataType::Timestamp(_, _) => {
            let micros = timestamp_micros(array)?;
            Column::write(array, micros.into_iter(), |out, v| {
                out.extend_from_slice(&v.checked_sub(PG_EPOCH_MICROS)?.to_be_bytes());
                Some(())
            })
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            let micros = time_micros(array)?;
            Column::write(array, micros.into_iter(), |out, v| {
                out.extend_from_slice(&v.to_be_bytes());
                Some(())
            })
        }
        // Microseconds, days, months.
        DataType::Interval(_) => {
            let values = intervals(array)?;
            Column::write(array, values.into_iter(), |out, (months, days, micros)| {
                out.extend_from_slice(&micros.to_be_bytes());
                out.extend_from_slice(&days.to_be_bytes());
                out.extend_from_slice(&months.to_be_bytes());
                Some(())
            })
        }
        _ => None,
    }
}

/// `numeric` in binary: digit count, weight, sign and display scale, then base-10000
/// digits, the first holding the units' group.
fn write_numeric(out: &mut Vec<u8>, value: i128, scale: u32) -> Option<()> {
    const NBASE: u128 = 10_000;
    let magnitude = value.unsigned_abs();
    // Scale the fraction up to whole base-10000 groups.
    let pad = (4 - scale % 4) % 4;
    let scaled = magnitude.checked_mul(10u128.pow(pad))?;
    let fraction_groups = i32::try_from((scale + pad) / 4).ok()?;
    let mut groups: Vec<i16> = Vec::new();
    let mut rest = scaled;
    while rest > 0 {
        groups.push(i16::try_from(rest % NBASE).ok()?);
        rest /= NBASE;
    }
    groups.reverse();
    // The weight of the first group: groups before the point, minus one.
    let mut weight = i32::try_from(groups.len()).ok()? - fraction_groups - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign: u16 = if value < 0 && !groups.is_empty() {
        0x4000
    } else {
        0
    };
    out.extend_from_slice(&i16::try_from(groups.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&i16::try_from(weight).ok()?.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&i16::try_from(scale).ok()?.to_be_bytes());
    for group in groups {
        out.extend_from_slice(&group.to_be_bytes());
    }
    Some(())
}

/// A column in PostgreSQL's text format.
fn column(array: &ArrayRef, options: &TextOptions) -> Option<Column> {
    macro_rules! integers {
        ($t:ty) => {{
            let mut buffer = itoa::Buffer::new();
            Column::write(
                array,
                array.as_primitive::<$t>().values().iter(),
                |out, v| {
                    out.extend_from_slice(buffer.format(*v).as_bytes());
                    Some(())
                },
            )
        }};
    }
    match array.data_type() {
        DataType::Int8 => integers!(Int8Type),
        DataType::Int16 => integers!(Int16Type),
        DataType::Int32 => integers!(Int32Type),
        DataType::Int64 => integers!(Int64Type),
        DataType::UInt8 => integers!(UInt8Type),
        DataType::UInt16 => integers!(UInt16Type),
        DataType::UInt32 => integers!(UInt32Type),
        DataType::Utf8 => strings(array),
        DataType::Boolean => Column::write(array, array.as_boolean().values().iter(), |out, v| {
            out.push(if v { b't' } else { b'f' });
            Some(())
        }),
        DataType::Date32 => Column::write(
            array,
            array.as_primitive::<Date32Type>().values().iter(),
            |out, days| write_date(out, *days),
        ),
        DataType::Decimal128(_, scale) => {
            let scale = u32::try_from(*scale).ok()?;
            let values = array.as_primitive::<Decimal128Type>().values().iter();
            Column::write(array, values, |out, v| {
                write_decimal(out, *v, scale);
                Some(())
            })
        }
        DataType::Float32 => {
            let values = array.as_primitive::<Float32Type>().values().iter();
            Column::write(array, values, |out, v| {
                text::write_float(out, f64::from(*v), true, options.extra_float_digits);
                Some(())
            })
        }
        DataType::Float64 => {
            let values = array.as_primitive::<Float64Type>().values().iter();
            Column::write(array, values, |out, v| {
                text::write_float(out, *v, false, options.extra_float_digits);
                Some(())
            })
        }
        DataType::Timestamp(_, zone) => {
            let micros = timestamp_micros(array)?;
            let with_zone = zone.is_some();
            Column::write(array, micros.into_iter(), |out, v| {
                let at = datetime(v)?;
                if with_zone {
                    text::write_timestamptz(out, &at, &options.zone);
                } else {
                    text::write_timestamp(out, &at);
                }
                Some(())
            })
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            let micros = time_micros(array)?;
            Column::write(array, micros.into_iter(), |out, v| {
                text::write_time(out, v);
                Some(())
            })
        }
        DataType::Interval(_) => {
            let values = intervals(array)?;
            Column::write(array, values.into_iter(), |out, (months, days, micros)| {
                text::write_interval(out, months, days, micros);
                Some(())
            })
        }
        DataType::List(item) => {
            let lists = array.as_list::<i32>();
            let nested = matches!(item.data_type(), DataType::List(_));
            let elements = column(lists.values(), options)?;
            let offsets = lists.value_offsets();
            Column::write(array, offsets.windows(2), |out, range| {
                out.push(b'{');
                let (start, end) = (
                    usize::try_from(range[0]).ok()?,
                    usize::try_from(range[1]).ok()?,
                );
                for (n, element) in (start..end).enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    match elements.value(element) {
                        None => out.extend_from_slice(b"NULL"),
                        Some(text) if nested => out.extend_from_slice(text),
                        Some(text) => text::write_array_element(out, text),
                    }
                }
                out.push(b'}');
                Some(())
            })
        }
        _ => None,
    }
}

/// Text is the same in both formats: its bytes.
fn strings(array: &ArrayRef) -> Option<Column> {
    let strings = array.as_string::<i32>();
    let values = (0..strings.len()).map(|row| strings.value(row));
    Column::write(array, values, |out, v| {
        out.extend_from_slice(v.as_bytes());
        Some(())
    })
}

/// `YYYY-MM-DD`, for years 1 to 9999 (others go the generic way, which writes eras).
fn write_date(out: &mut Vec<u8>, days_since_epoch: i32) -> Option<()> {
    const EPOCH_FROM_CE: i32 = 719_163;
    let date = NaiveDate::from_num_days_from_ce_opt(days_since_epoch.checked_add(EPOCH_FROM_CE)?)?;
    let year = u32::try_from(date.year())
        .ok()
        .filter(|y| (1..=9999).contains(y))?;
    let digits = |out: &mut Vec<u8>, value: u32, width: u32| {
        for position in (0..width).rev() {
            let digit = (value / 10u32.pow(position)) % 10;
            out.push(b'0' + u8::try_from(digit).unwrap_or(0));
        }
    };
    digits(out, year, 4);
    out.push(b'-');
    digits(out, date.month(), 2);
    out.push(b'-');
    digits(out, date.day(), 2);
    Some(())
}

/// A decimal with exactly `scale` digits after the point, as `numeric` prints it.
fn write_decimal(out: &mut Vec<u8>, value: i128, scale: u32) {
    if value < 0 {
        out.push(b'-');
    }
    let magnitude = value.unsigned_abs();
    let mut buffer = itoa::Buffer::new();
    if scale == 0 {
        out.extend_from_slice(buffer.format(magnitude).as_bytes());
        return;
    }
    let divisor = 10u128.pow(scale);
    out.extend_from_slice(buffer.format(magnitude / divisor).as_bytes());
    out.push(b'.');
    let fraction = buffer.format(magnitude % divisor);
    let width = usize::try_from(scale).unwrap_or(0);
    out.extend(std::iter::repeat_n(
        b'0',
        width.saturating_sub(fraction.len()),
    ));
    out.extend_from_slice(fraction.as_bytes());
}

/// The batch's rows as data rows, each column in binary where `binary[i]`, else in text;
/// or `None` to encode it the generic way.
pub fn data_rows(
    batch: &RecordBatch,
    binary: &[bool],
    options: &TextOptions,
) -> Option<Vec<DataRow>> {
    let columns = columns(batch, binary, options)?;
    let field_count = i16::try_from(columns.len()).ok()?;
    let rows = (0..batch.num_rows())
        .map(|row| {
            let mut data = BytesMut::with_capacity(columns.len() * 12);
            for column in &columns {
                match column.value(row) {
                    Some(value) => {
                        data.put_i32(i32::try_from(value.len()).unwrap_or(i32::MAX));
                        data.put_slice(value);
                    }
                    None => data.put_i32(-1),
                }
            }
            DataRow::new(data, field_count)
        })
        .collect();
    Some(rows)
}

/// The batch's rows as `COPY … TO STDOUT` text lines (tab-separated, `\N` for NULL,
/// backslash escapes), one `Bytes` per row, or `None` to encode it the generic way.
pub fn copy_lines(batch: &RecordBatch, options: &TextOptions) -> Option<Vec<Bytes>> {
    let columns = columns(batch, &[], options)?;
    let mut all = BytesMut::with_capacity(batch.num_rows() * columns.len() * 10);
    let mut ends = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                all.put_u8(b'\t');
            }
            match column.value(row) {
                Some(value) => escape_into(&mut all, value),
                None => all.put_slice(b"\\N"),
            }
        }
        all.put_u8(b'\n');
        ends.push(all.len());
    }
    let all = all.freeze();
    let mut start = 0;
    Some(
        ends.into_iter()
            .map(|end| {
                let line = all.slice(start..end);
                start = end;
                line
            })
            .collect(),
    )
}

fn escape_into(out: &mut BytesMut, value: &[u8]) {
    if !value
        .iter()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.put_slice(value);
        return;
    }
    for b in value {
        match b {
            b'\\' => out.put_slice(b"\\\\"),
            b'\t' => out.put_slice(b"\\t"),
            b'\n' => out.put_slice(b"\\n"),
            b'\r' => out.put_slice(b"\\r"),
            other => out.put_u8(*other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
    use lakegate_gateway::arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Int16Array, Int64Array, StringArray,
    };
    use lakegate_gateway::arrow::datatypes::{Field, Schema};
    use pgwire::api::portal::Format;

    use super::*;

    fn sample() -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![
                Some(-9_223_372_036_854_775_808),
                None,
                Some(42),
            ])),
            Arc::new(Int16Array::from(vec![Some(7), Some(-7), None])),
            Arc::new(StringArray::from(vec![Some("a\tb\\c"), Some(""), None])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            Arc::new(Date32Array::from(vec![
                Some(0),
                Some(19_876),
                Some(-719_162),
            ])),
            Arc::new(
                Decimal128Array::from(vec![Some(-5), Some(123_456), None])
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ];
        let fields: Vec<Field> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    fn generic(batch: &RecordBatch, format: &Format) -> Vec<DataRow> {
        let fields = Arc::new(arrow_schema_to_pg_fields(&batch.schema(), format, None).unwrap());
        encode_recordbatch(fields, batch.clone())
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn text_rows_are_byte_for_byte_what_the_generic_encoder_writes() {
        let batch = sample();
        let generic = generic(&batch, &Format::UnifiedText);
        let fast = data_rows(&batch, &[], &TextOptions::default()).unwrap();
        assert_eq!(fast.len(), generic.len());
        for (fast, generic) in fast.iter().zip(&generic) {
            assert_eq!(fast.data, generic.data);
            assert_eq!(fast.field_count, generic.field_count);
        }
    }

    #[test]
    fn binary_rows_other_than_numerics_are_what_the_generic_encoder_writes() {
        let batch = sample();
        let batch = batch.project(&[0, 1, 2, 3, 4]).unwrap();
        let generic = generic(&batch, &Format::UnifiedBinary);
        let fast = data_rows(&batch, &[true; 5], &TextOptions::default()).unwrap();
        for (fast, generic) in fast.iter().zip(&generic) {
            assert_eq!(fast.data, generic.data);
        }
    }

    #[test]
    fn numerics_in_binary_are_base_10000_digits() {
        let encoded = |value: i128, scale: u32| {
            let mut out = Vec::new();
            write_numeric(&mut out, value, scale).unwrap();
            out.chunks(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]))
                .collect::<Vec<_>>()
        };
        // ndigits, weight, sign, dscale, digits…
        assert_eq!(encoded(12_345, 2), [2, 0, 0, 2, 123, 4500]);
        assert_eq!(encoded(-5, 2), [1, -1, 0x4000, 2, 500]);
        assert_eq!(encoded(0, 2), [0, 0, 0, 2]);
        assert_eq!(encoded(1_000_000, 0), [1, 1, 0, 0, 100]);
        assert_eq!(encoded(123_456_789, 4), [3, 1, 0, 4, 1, 2345, 6789]);
    }

    #[test]
    fn copy_lines_escape_and_mark_nulls() {
        let lines = copy_lines(&sample(), &TextOptions::default()).unwrap();
        assert_eq!(
            &lines[0][..],
            b"-9223372036854775808\t7\ta\\tb\\\\c\tt\t1970-01-01\t-0.05\n"
        );
        assert_eq!(&lines[2][..], b"42\t\\N\t\\N\t\\N\t0001-01-01\t\\N\n");
    }
}
