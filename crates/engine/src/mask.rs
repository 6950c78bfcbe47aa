//! Masks as DataFusion functions. Each keeps its column's type.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int32Array, Int64Array, StringBuilder, new_null_array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Int32Type, Int64Type};
use datafusion::arrow::temporal_conversions::date32_to_datetime;
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use hmac::{Hmac, Mac};
use lakegate_policy::MaskKind;
use lakegate_policy::mask::{
    TextMask, postcode_sector_into, redact_into, show_first_4_into, show_last_4_into,
};
use sha2::Sha256;

/// The secret that keys the `hash` mask; it lives outside the policy file.
pub type HashKey = Arc<[u8]>;

/// Hex characters of the HMAC kept for text columns.
const HASH_HEX_CHARS: usize = 16;

/// `mask(column)` for a column of `data_type`, or why that mask cannot apply to it.
pub fn mask_expr(
    kind: MaskKind,
    column: Expr,
    data_type: &DataType,
    key: Option<&HashKey>,
) -> Result<Expr, String> {
    check_type(kind, data_type, key.is_some())?;
    let udf = ScalarUDF::new_from_impl(MaskUdf {
        kind,
        key: key.cloned(),
        signature: Signature::any(1, Volatility::Immutable),
        name: format!("mask_{}", kind.name()),
    });
    Ok(udf.call(vec![column]))
}

fn check_type(kind: MaskKind, t: &DataType, has_key: bool) -> Result<(), String> {
    let text = matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let ok = match kind {
        MaskKind::Null => true,
        MaskKind::Redact
        | MaskKind::ShowLast4
        | MaskKind::ShowFirst4
        | MaskKind::PostcodeSector => text,
        MaskKind::DateYear => matches!(
            t,
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
        ),
        MaskKind::Hash => {
            if !has_key {
                return Err(
                    "the hash mask needs a key ([masking] hash_key_file or hash_key_env)"
                        .to_string(),
                );
            }
            text || matches!(t, DataType::Int32 | DataType::Int64)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "mask `{}` cannot apply to a {t} column",
            kind.name()
        ))
    }
}

#[derive(Debug)]
struct MaskUdf {
    kind: MaskKind,
    key: Option<HashKey>,
    signature: Signature,
    name: String,
}

impl PartialEq for MaskUdf {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.key == other.key
    }
}

impl Eq for MaskUdf {}

impl std::hash::Hash for MaskUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
    }
}

impl ScalarUDFImpl for MaskUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args.first().cloned().unwrap_or(DataType::Null))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let Some(arg) = args.args.into_iter().next() else {
            return exec_err!("{} takes one argument", self.name);
        };
        let array = arg.into_array(rows)?;
        let masked = self.mask(&array)?;
        Ok(ColumnarValue::Array(masked))
    }
}

impl MaskUdf {
    fn mask(&self, array: &ArrayRef) -> Result<ArrayRef> {
        let data_type = array.data_type().clone();
        match self.kind {
            MaskKind::Null => Ok(new_null_array(&data_type, array.len())),
            MaskKind::Redact => map_text(array, redact_into),
            MaskKind::ShowLast4 => map_text(array, show_last_4_into),
            MaskKind::ShowFirst4 => map_text(array, show_first_4_into),
            MaskKind::PostcodeSector => map_text(array, postcode_sector_into),
            MaskKind::DateYear => year_start(array),
            MaskKind::Hash => self.hash(array),
        }
    }

    fn hash(&self, array: &ArrayRef) -> Result<ArrayRef> {
        let key = self.key.as_deref().unwrap_or_default();
        let digest = |bytes: &[u8]| -> Result<[u8; 32]> {
            let mut mac = Hmac::<Sha256>::new_from_slice(key)
                .map_err(|e| DataFusionError::Execution(e.to_string()))?;
            mac.update(bytes);
            Ok(mac.finalize().into_bytes().into())
        };
        match array.data_type() {
            DataType::Int64 => {
                let values = array.as_primitive::<Int64Type>();
                let out: Result<Int64Array> = values
                    .iter()
                    .map(|v| {
                        v.map(|v| digest(&v.to_le_bytes()).map(|d| first_i64(&d)))
                            .transpose()
                    })
                    .collect();
                Ok(Arc::new(out?))
            }
            DataType::Int32 => {
                let values = array.as_primitive::<Int32Type>();
                let out: Result<Int32Array> = values
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            digest(&i64::from(v).to_le_bytes())
                                .map(|d| (first_i64(&d) & 0x7fff_ffff) as i32)
                        })
                        .transpose()
                    })
                    .collect();
                Ok(Arc::new(out?))
            }
            _ => map_text_fallible(array, |s, out| {
                let d = digest(s.as_bytes())?;
                out.push_str(&hex::encode(&d[..HASH_HEX_CHARS / 2]));
                Ok(())
            }),
        }
    }
}

fn first_i64(digest: &[u8; 32]) -> i64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(bytes) & i64::MAX
}

fn map_text(array: &ArrayRef, mask: TextMask) -> Result<ArrayRef> {
    map_text_fallible(array, |s, out| {
        mask(s, out);
        Ok(())
    })
}

/// Applies `f` to every non-null string, whatever the string layout, keeping the layout.
/// One buffer serves every value.
fn map_text_fallible(
    array: &ArrayRef,
    f: impl Fn(&str, &mut String) -> Result<()>,
) -> Result<ArrayRef> {
    let original = array.data_type().clone();
    let strings = cast(array, &DataType::Utf8)?;
    let strings = strings.as_string::<i32>();
    let mut builder = StringBuilder::with_capacity(strings.len(), strings.value_data().len());
    let mut buffer = String::new();
    for value in strings.iter() {
        match value {
            Some(v) => {
                buffer.clear();
                f(v, &mut buffer)?;
                builder.append_value(&buffer);
            }
            None => builder.append_null(),
        }
    }
    Ok(cast(&(Arc::new(builder.finish()) as ArrayRef), &original)?)
}

/// 1 January of each value's year, in the value's own type.
fn year_start(array: &ArrayRef) -> Result<ArrayRef> {
    let original = array.data_type().clone();
    let dates = cast(array, &DataType::Date32)?;
    let days = dates.as_primitive::<Date32Type>();
    let out: Date32Array = days.iter().map(|d| d.map(first_day_of_year)).collect();
    let as_date: ArrayRef = Arc::new(out);
    match original {
        DataType::Timestamp(unit, tz) => {
            let naive = cast(&as_date, &DataType::Timestamp(unit, None))?;
            Ok(cast(&naive, &DataType::Timestamp(unit, tz))?)
        }
        other => Ok(cast(&as_date, &other)?),
    }
}

fn first_day_of_year(days_since_epoch: i32) -> i32 {
    let epoch = NaiveDate::default();
    let start = date32_to_datetime(days_since_epoch)
        .and_then(|dt| NaiveDate::from_ymd_opt(dt.date().year(), 1, 1));
    start.map_or(days_since_epoch, |d| (d - epoch).num_days() as i32)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{StringArray, TimestampMicrosecondArray};

    use super::*;

    fn udf(kind: MaskKind) -> MaskUdf {
        MaskUdf {
            kind,
            key: Some(Arc::from(&b"test-key"[..])),
            signature: Signature::any(1, Volatility::Immutable),
            name: "m".into(),
        }
    }

    fn texts(array: &ArrayRef) -> Vec<Option<String>> {
        array
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(String::from))
            .collect()
    }

    #[test]
    fn text_masks_keep_nulls_and_empty_strings() {
        let input: ArrayRef = Arc::new(StringArray::from(vec![Some("E8 1DY"), None, Some("")]));
        let out = udf(MaskKind::PostcodeSector).mask(&input).unwrap();
        assert_eq!(
            texts(&out),
            vec![Some("E8 1".into()), None, Some("".into())]
        );
        let out = udf(MaskKind::Redact).mask(&input).unwrap();
        assert_eq!(
            texts(&out),
            vec![Some("X0 0XX".into()), None, Some("".into())]
        );
        let out = udf(MaskKind::Null).mask(&input).unwrap();
        assert_eq!(out.null_count(), 3);
        assert_eq!(out.data_type(), &DataType::Utf8);
    }

    #[test]
    fn view_strings_stay_view_strings() {
        let input = cast(
            &(Arc::new(StringArray::from(vec!["LK21 ABX"])) as ArrayRef),
            &DataType::Utf8View,
        )
        .unwrap();
        let out = udf(MaskKind::ShowLast4).mask(&input).unwrap();
        assert_eq!(out.data_type(), &DataType::Utf8View);
        let plain = cast(&out, &DataType::Utf8).unwrap();
        assert_eq!(texts(&plain), vec![Some("XX00 ABX".into())]);
    }

    #[test]
    fn date_year_keeps_dates_and_timestamps() {
        let days =
            (NaiveDate::from_ymd_opt(1987, 6, 5).unwrap() - NaiveDate::default()).num_days() as i32;
        let input: ArrayRef = Arc::new(Date32Array::from(vec![Some(days), None]));
        let out = udf(MaskKind::DateYear).mask(&input).unwrap();
        let year =
            (NaiveDate::from_ymd_opt(1987, 1, 1).unwrap() - NaiveDate::default()).num_days() as i32;
        assert_eq!(out.as_primitive::<Date32Type>().value(0), year);
        assert!(out.is_null(1));
        let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            days as i64 * 86_400_000_000 + 3_600_000_000,
        ]));
        let out = udf(MaskKind::DateYear).mask(&ts).unwrap();
        assert_eq!(out.data_type(), ts.data_type());
        let micros = out
            .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
            .value(0);
        assert_eq!(micros, year as i64 * 86_400_000_000);
    }

    #[test]
    fn hash_is_keyed_stable_and_type_preserving() {
        let input: ArrayRef = Arc::new(StringArray::from(vec![
            Some("100021000001"),
            Some("100021000001"),
            None,
        ]));
        let out = udf(MaskKind::Hash).mask(&input).unwrap();
        let values = texts(&out);
        assert_eq!(values[0], values[1]);
        assert_eq!(values[0].as_ref().unwrap().len(), HASH_HEX_CHARS);
        assert_ne!(values[0].as_deref(), Some("100021000001"));
        assert_eq!(values[2], None);
        let mut other = udf(MaskKind::Hash);
        other.key = Some(Arc::from(&b"another-key"[..]));
        assert_ne!(texts(&other.mask(&input).unwrap())[0], values[0]);
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![100_021_000_001i64]));
        let out = udf(MaskKind::Hash).mask(&ints).unwrap();
        assert_eq!(out.data_type(), &DataType::Int64);
        assert_ne!(out.as_primitive::<Int64Type>().value(0), 100_021_000_001);
    }

    proptest::proptest! {
        /// Every mask keeps its column's type, length and nulls (a null stays null; the
        /// `null` mask makes every value null), for any text a lake may hold.
        #[test]
        fn masks_keep_type_length_and_nulls(
            values in proptest::collection::vec(proptest::option::of(".{0,12}"), 0..40),
            numbers in proptest::collection::vec(proptest::option::of(proptest::num::i64::ANY), 0..40),
        ) {
            let text: ArrayRef = Arc::new(StringArray::from(values.clone()));
            let inputs = [
                Arc::clone(&text),
                cast(&text, &DataType::LargeUtf8).unwrap(),
                cast(&text, &DataType::Utf8View).unwrap(),
                Arc::new(Int64Array::from(numbers.clone())) as ArrayRef,
                Arc::new(Int32Array::from(
                    numbers.iter().map(|n| n.map(|n| n as i32)).collect::<Vec<_>>(),
                )) as ArrayRef,
                Arc::new(Date32Array::from(
                    numbers.iter().map(|n| n.map(|n| (n % 3_000_000) as i32)).collect::<Vec<_>>(),
                )) as ArrayRef,
                Arc::new(TimestampMicrosecondArray::from(
                    numbers.iter().map(|n| n.map(|n| n % 10_000_000_000_000_000)).collect::<Vec<_>>(),
                )) as ArrayRef,
            ];
            for kind in MaskKind::WEAKEST_FIRST.iter() {
                for input in &inputs {
                    if check_type(*kind, input.data_type(), true).is_err() {
                        continue;
                    }
                    let out = udf(*kind).mask(input).unwrap();
                    proptest::prop_assert_eq!(out.data_type(), input.data_type(), "{:?}", kind);
                    proptest::prop_assert_eq!(out.len(), input.len());
                    for i in 0..input.len() {
                        let expect_null = *kind == MaskKind::Null || input.is_null(i);
                        proptest::prop_assert_eq!(out.is_null(i), expect_null, "{:?} row {}", kind, i);
                    }
                    proptest::prop_assert!(reveals_at_most(*kind, input, &out), "{:?} leaks", kind);
                }
            }
        }
    }

    /// Whether `out` shows no more of `input` than `kind` allows: no letter or digit for
    /// `redact`, four characters for `show_first_4` / `show_last_4`, never the value for
    /// `hash`, only 1 January for `date_year`.
    fn reveals_at_most(kind: MaskKind, input: &ArrayRef, out: &ArrayRef) -> bool {
        let revealing = |c: char| c.is_alphanumeric() && !matches!(c, 'x' | 'X' | '0');
        let texts = |a: &ArrayRef| -> Option<Vec<Option<String>>> {
            let a = cast(a, &DataType::Utf8).ok()?;
            (matches!(
                input.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ))
            .then(|| {
                a.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(String::from))
                    .collect()
            })
        };
        match kind {
            MaskKind::Redact | MaskKind::ShowFirst4 | MaskKind::ShowLast4 => {
                let allowed = if kind == MaskKind::Redact { 0 } else { 4 };
                let (Some(ins), Some(outs)) = (texts(input), texts(out)) else {
                    return false;
                };
                ins.iter().zip(&outs).all(|(i, o)| match (i, o) {
                    (Some(i), Some(o)) => {
                        let shown = i
                            .chars()
                            .zip(o.chars())
                            .filter(|(a, b)| a == b && revealing(*a))
                            .count();
                        shown <= allowed
                    }
                    _ => true,
                })
            }
            MaskKind::Hash => (0..input.len()).all(|i| {
                input.is_null(i)
                    || datafusion::arrow::util::display::array_value_to_string(input, i).ok()
                        != datafusion::arrow::util::display::array_value_to_string(out, i).ok()
            }),
            MaskKind::DateYear => {
                let days = cast(out, &DataType::Date32).unwrap();
                days.as_primitive::<Date32Type>()
                    .iter()
                    .flatten()
                    .all(|d| date32_to_datetime(d).is_some_and(|t| t.month() == 1 && t.day() == 1))
            }
            MaskKind::Null | MaskKind::PostcodeSector => true,
        }
    }

    #[test]
    fn masks_refuse_columns_they_cannot_keep_the_type_of() {
        assert!(check_type(MaskKind::Redact, &DataType::Int64, true).is_err());
        assert!(check_type(MaskKind::DateYear, &DataType::Utf8, true).is_err());
        assert!(check_type(MaskKind::Hash, &DataType::Utf8, false).is_err());
        assert!(check_type(MaskKind::Null, &DataType::Float64, false).is_ok());
    }
}
