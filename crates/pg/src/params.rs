//! Bound parameters, decoded as the client typed them and cast to what the plan expects.

use arrow_pg::datatypes::df::deserialize_parameters;
use lakegate_gateway::arrow::datatypes::DataType;
use lakegate_gateway::{ParamValues, QueryError};
use pgwire::api::Type;
use pgwire::api::portal::Portal;
use pgwire::error::PgWireError;

/// A portal's bound parameters, decoded when the gateway has planned their types.
pub struct PortalParameters<'a, S>(pub &'a Portal<S>);

impl<S: Clone + Send + Sync> lakegate_gateway::Parameters for PortalParameters<'_, S> {
    fn bind(&self, types: &[Option<DataType>]) -> Result<ParamValues, QueryError> {
        decode(self.0, types)
    }
}

/// The portal's parameters. A number the client sends as an integer or a float where the
/// plan expects a `numeric` (psycopg 3 sends `20` as `int2` for `amount > %s`) is decoded as
/// the client sent it, then cast: arrow-pg refuses to coerce it ("Cannot coerce integer
/// value to Decimal128"). A value the expected type cannot hold is `22003`.
fn decode<S: Clone>(
    portal: &Portal<S>,
    expected: &[Option<DataType>],
) -> Result<ParamValues, QueryError> {
    let hints = &portal.statement.parameter_types;
    let as_sent: Vec<bool> = expected
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let hint = hints.get(i).cloned().flatten();
            matches!(t, Some(DataType::Decimal128(..) | DataType::Decimal256(..)))
                && matches!(
                    hint,
                    Some(Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8)
                )
        })
        .collect();
    let decode_as: Vec<Option<&DataType>> = expected
        .iter()
        .zip(&as_sent)
        .map(|(t, sent)| if *sent { None } else { t.as_ref() })
        .collect();
    let mut params = deserialize_parameters(portal, &decode_as).map_err(decode_error)?;
    if let ParamValues::List(values) = &mut params {
        for ((value, sent), expected) in values.iter_mut().zip(&as_sent).zip(expected) {
            if let (true, Some(expected)) = (*sent, expected) {
                value.value = value.value.cast_to(expected).map_err(|_| {
                    QueryError::NumericOutOfRange(format!(
                        "{} does not fit {expected}",
                        value.value
                    ))
                })?;
            }
        }
    }
    Ok(params)
}

/// A value the driver sent that is not one of its type: arrow-pg's and pgwire's SQLSTATE
/// kept (`22003` out of range, `22023` a value it cannot coerce or a parameter it does not
/// have), PostgreSQL's `22P02` for bytes that do not parse.
fn decode_error(error: PgWireError) -> QueryError {
    match error {
        PgWireError::UserError(info) => match info.code.as_str() {
            "22003" => QueryError::NumericOutOfRange(info.message),
            "22P02" => QueryError::InvalidText(info.message),
            _ => QueryError::InvalidArgument(info.message),
        },
        PgWireError::FailedToParseParameter(e) => QueryError::InvalidText(e.to_string()),
        other => QueryError::InvalidArgument(other.to_string()),
    }
}
