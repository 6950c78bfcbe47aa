//! Client settings: `SET`, `RESET` and `SHOW` answered from the connection, never the engine.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures::{Sink, SinkExt, stream};
use lakegate_gateway::setting::{self, KNOWN, known};
use lakegate_gateway::{QueryError, SessionZone};
use pgwire::api::ClientInfo;
use pgwire::api::Type;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::startup::ParameterStatus;
use pgwire::types::format::FormatOptions;

use crate::error::query_error;

/// Sets (or, with `None`, resets) a client setting and echoes reported ones to the client.
pub async fn set<C>(client: &mut C, name: &str, value: Option<String>) -> PgWireResult<Response>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let key = name.to_ascii_lowercase();
    let known = known(name);
    if known.is_none() && !name.contains('.') {
        return Err(query_error(&QueryError::UnknownSetting(name.to_string())));
    }
    let value = value.unwrap_or_else(|| known.map_or(String::new(), |k| k.default.to_string()));
    if key == "timezone" && SessionZone::parse(&value).is_none() {
        return Err(query_error(&QueryError::InvalidParameterValue {
            name: "TimeZone".to_string(),
            value,
        }));
    }
    client.metadata_mut().insert(key, value.clone());
    if let Some(k) = known.filter(|k| k.reported) {
        client
            .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                k.name.to_string(),
                value,
            )))
            .await?;
    }
    Ok(Response::Execution(Tag::new("SET")))
}

/// The connection's `TimeZone`, set with `SET` or sent at start-up (pgjdbc sends its JVM's
/// zone); UTC if it names none PostgreSQL knows.
pub fn session_zone(metadata: &HashMap<String, String>) -> SessionZone {
    metadata
        .get("timezone")
        .and_then(|v| SessionZone::parse(v))
        .unwrap_or_default()
}

/// How values are written as text for this connection: its `DateStyle`, `IntervalStyle`,
/// `extra_float_digits` and time zone.
pub fn format_options(metadata: &HashMap<String, String>) -> Arc<FormatOptions> {
    let mut options = FormatOptions::from_client_metadata(metadata);
    options.time_zone = session_zone(metadata).arrow_name();
    Arc::new(options)
}

/// `RESET name` or `RESET ALL`.
pub async fn reset<C>(client: &mut C, name: Option<&str>) -> PgWireResult<Response>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match name {
        Some(name) => {
            set(client, name, None).await?;
        }
        None => {
            let changed: Vec<&str> = KNOWN
                .iter()
                .filter(|k| client.metadata().contains_key(&k.name.to_ascii_lowercase()))
                .map(|k| k.name)
                .collect();
            for name in changed {
                set(client, name, None).await?;
            }
        }
    }
    Ok(Response::Execution(Tag::new("RESET")))
}

/// `SHOW name` (one row, one text column named after the setting) or `SHOW ALL`.
pub fn show<C: ClientInfo>(client: &C, name: &str) -> PgWireResult<Response> {
    let shown = setting::show(name, |n| client.metadata().get(n).cloned())
        .ok_or_else(|| query_error(&QueryError::UnknownSetting(name.to_string())))?;
    let columns: Vec<&str> = shown.columns.iter().map(String::as_str).collect();
    text_rows(&columns, shown.rows)
}

/// The result columns of `SHOW name`, for Describe.
pub fn show_fields(name: &str) -> Vec<FieldInfo> {
    let columns = setting::show(name, |_| None)
        .map_or_else(|| vec![name.to_ascii_lowercase()], |shown| shown.columns);
    columns
        .into_iter()
        .map(|c| FieldInfo::new(c, None, None, Type::TEXT, FieldFormat::Text))
        .collect()
}

fn text_rows(columns: &[&str], rows: Vec<Vec<String>>) -> PgWireResult<Response> {
    let fields = Arc::new(
        columns
            .iter()
            .map(|c| FieldInfo::new(c.to_string(), None, None, Type::TEXT, FieldFormat::Text))
            .collect::<Vec<_>>(),
    );
    let encoded = rows
        .into_iter()
        .map(|row| {
            let mut encoder = DataRowEncoder::new(Arc::clone(&fields));
            for value in row {
                encoder.encode_field(&value)?;
            }
            Ok(encoder.take_row())
        })
        .collect::<Vec<PgWireResult<_>>>();
    Ok(Response::Query(QueryResponse::new(
        fields,
        stream::iter(encoded),
    )))
}
