//! Client settings: `SET` and `RESET` kept in the connection, never the engine (the gateway
//! answers `SHOW` from them).

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures::{Sink, SinkExt};
use lakegate_gateway::setting::{self, KNOWN, known};
use lakegate_gateway::{QueryError, SessionZone};
use pgwire::api::ClientInfo;
use pgwire::api::results::{Response, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::startup::ParameterStatus;
use pgwire::types::format::FormatOptions;

/// Sets (or, with `None`, resets) a client setting and echoes reported ones to the client.
/// The outer error is the connection's; the inner says why the statement was refused.
pub async fn set<C>(
    client: &mut C,
    name: &str,
    value: Option<String>,
) -> PgWireResult<Result<Response, QueryError>>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let key = name.to_ascii_lowercase();
    let known = known(name);
    if known.is_none() && !name.contains('.') {
        return Ok(Err(QueryError::UnknownSetting(name.to_string())));
    }
    let value = value.unwrap_or_else(|| known.map_or(String::new(), |k| k.default.to_string()));
    if key == "statement_timeout" && setting::milliseconds(&value).is_none() {
        return Ok(Err(QueryError::InvalidParameterValue {
            name: "statement_timeout".to_string(),
            value,
        }));
    }
    if key == "timezone" && SessionZone::parse(&value).is_none() {
        return Ok(Err(QueryError::InvalidParameterValue {
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
    Ok(Ok(Response::Execution(Tag::new("SET"))))
}

/// How values are written as text for this connection: its `DateStyle`, `IntervalStyle`,
/// `extra_float_digits` and time zone.
pub fn format_options(metadata: &HashMap<String, String>) -> Arc<FormatOptions> {
    let mut options = FormatOptions::from_client_metadata(metadata);
    options.time_zone = setting::zone(metadata).arrow_name();
    Arc::new(options)
}

/// `RESET name` or `RESET ALL`.
pub async fn reset<C>(
    client: &mut C,
    name: Option<&str>,
) -> PgWireResult<Result<Response, QueryError>>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match name {
        Some(name) => {
            if let Err(e) = set(client, name, None).await? {
                return Ok(Err(e));
            }
        }
        None => {
            let changed: Vec<&str> = KNOWN
                .iter()
                .filter(|k| client.metadata().contains_key(&k.name.to_ascii_lowercase()))
                .map(|k| k.name)
                .collect();
            for name in changed {
                if let Err(e) = set(client, name, None).await? {
                    return Ok(Err(e));
                }
            }
        }
    }
    Ok(Ok(Response::Execution(Tag::new("RESET"))))
}
