//! Login: the JWT is the password, and only inside TLS.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use lakegate_gateway::Protocol;
use lakegate_gateway::{Gateway, setting};
use pgwire::api::auth::{
    ServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{
    ClientInfo, ConnectionManager, METADATA_USER, PgWireConnectionState, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tracing::{info, warn};

use crate::connection::Connection;
use crate::error::{auth_error, fatal, sqlstate};

/// Asks for a cleartext password (the token), verifies it through the gateway and binds
/// the connection to the principal.
pub struct JwtStartup {
    pub gateway: Arc<Gateway>,
    pub connections: Arc<ConnectionManager>,
    pub allow_plaintext_loopback: bool,
    pub keys: RandomPidSecretKeyGenerator,
}

#[async_trait]
impl StartupHandler for JwtStartup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                if !self.transport_allowed(client) {
                    warn!(client = %client.socket_addr(), "refused plaintext login");
                    return Err(fatal(
                        "28000",
                        "TLS is required: connect with sslmode=require".to_string(),
                    ));
                }
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(
                        Authentication::CleartextPassword,
                    ))
                    .await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let token = password.into_password()?.password;
                let user = client
                    .metadata()
                    .get(METADATA_USER)
                    .cloned()
                    .unwrap_or_default();
                let client_addr = client.socket_addr().to_string();
                let identity = match self.gateway.login(
                    token.trim(),
                    &user,
                    Protocol::Postgres,
                    &client_addr,
                ) {
                    Ok(identity) => identity,
                    Err(e) => {
                        warn!(client = %client.socket_addr(), user = %user, reason = %e, "login refused");
                        return Err(auth_error(&e, &user));
                    }
                };
                let admitted = match self
                    .gateway
                    .admit(Protocol::Postgres, &identity.principal.subject)
                {
                    Ok(admitted) => admitted,
                    Err(e) => {
                        warn!(client = %client.socket_addr(), subject = %identity.principal.subject, reason = %e, "connection refused");
                        return Err(fatal(sqlstate(&e), e.to_string()));
                    }
                };
                // Checked after the login, as PostgreSQL does, so an unauthenticated client
                // learns nothing of the server's databases.
                if let Some(database) = client.metadata().get("database")
                    && database != self.gateway.database()
                {
                    return Err(fatal(
                        "3D000",
                        format!("database \"{database}\" does not exist"),
                    ));
                }
                info!(client = %client.socket_addr(), subject = %identity.principal.subject, protocol = %Protocol::Postgres, "login");
                let (pid, secret) = self.keys.generate(client);
                client.set_pid_and_secret_key(pid, secret.clone());
                let (handle, registered) = self.connections.register(pid, secret);
                let application = client
                    .metadata()
                    .get("application_name")
                    .cloned()
                    .unwrap_or_default();
                let backend = self.gateway.backends().register(
                    pid,
                    &identity,
                    client.socket_addr(),
                    &application,
                );
                normalise_settings(client.metadata_mut());
                client.metadata_mut().insert(
                    METADATA_USER.to_string(),
                    identity.principal.username.clone(),
                );
                client.session_extensions().insert(Connection::new(
                    identity,
                    client_addr,
                    backend,
                    handle,
                    registered,
                    admitted,
                ));
                finish_authentication(client, &Parameters).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl JwtStartup {
    fn transport_allowed<C: ClientInfo>(&self, client: &C) -> bool {
        client.is_secure()
            || (self.allow_plaintext_loopback && client.socket_addr().ip().is_loopback())
    }
}

/// Startup parameters become client settings under their lower-case names, which is how
/// the encoders look them up.
fn normalise_settings(metadata: &mut HashMap<String, String>) {
    let startup: Vec<(String, String)> = metadata
        .iter()
        .filter(|(k, _)| setting::known(k).is_some())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    metadata.extend(startup);
}

/// The `ParameterStatus` values sent after login.
struct Parameters;

impl ServerParameterProvider for Parameters {
    fn server_parameters<C: ClientInfo>(&self, client: &C) -> Option<HashMap<String, String>> {
        let mut params: HashMap<String, String> = setting::KNOWN
            .iter()
            .filter(|s| s.reported)
            .map(|s| (s.name.to_string(), s.default.to_string()))
            .collect();
        for name in ["application_name", "client_encoding"] {
            if let Some(v) = client.metadata().get(name) {
                params.insert(name.to_string(), v.clone());
            }
        }
        params.insert(
            "server_version".to_string(),
            lakegate_gateway::SERVER_VERSION.to_string(),
        );
        params.insert(
            "default_transaction_read_only".to_string(),
            "on".to_string(),
        );
        params.insert("in_hot_standby".to_string(), "off".to_string());
        if let Some(user) = client.metadata().get(METADATA_USER) {
            params.insert("session_authorization".to_string(), user.clone());
        }
        Some(params)
    }
}
