//! `lakegate reload`: ask the running server to relist the lake and re-read its policy.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cli::ReloadArgs;
use crate::config::ServerConfig;

pub async fn run(args: ReloadArgs) -> Result<(), String> {
    let addr = match args.http {
        Some(addr) => addr,
        None => http_address(&args.config.config)?,
    };
    let token = match args.token {
        Some(token) => token,
        None => admin_token(&args.config.config)?,
    };
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot reach the server at {addr}: {e}"))?;
    let request = format!(
        "POST /reload HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_string();
    if response.starts_with("HTTP/1.1 200") {
        println!("{body}");
        Ok(())
    } else {
        Err(body)
    }
}

/// A five-minute token of the first admin group, signed with the config's development key.
/// Only the config is read, not the policy: the policy may be what the reload is to refuse.
fn admin_token(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let config: crate::config::Config =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let group =
        config.server.admin_groups.first().cloned().ok_or(
            "server.admin_groups is empty: no one may reload over HTTP (send SIGHUP instead)",
        )?;
    let key = config.identity.dev_signing_key.as_ref().ok_or(
        "no admin token: pass one with --token or LAKEGATE_TOKEN (this server has no development key)",
    )?;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let signer =
        lakegate_gateway::identity::DevSigner::from_config(&config.identity, &dir.join(key))?;
    signer.mint(&lakegate_gateway::identity::TokenRequest {
        subject: "lakegate-reload".to_string(),
        groups: vec![group],
        ttl: std::time::Duration::from_secs(300),
        ..Default::default()
    })
}

/// `server.http` from the config, read without the rest: the policy may be the very thing
/// that is broken, and only the server decides whether to accept it.
fn http_address(path: &std::path::Path) -> Result<std::net::SocketAddr, String> {
    #[derive(serde::Deserialize)]
    struct ServerOnly {
        #[serde(default)]
        server: ServerConfig,
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let server = value
        .get("server")
        .cloned()
        .unwrap_or(toml::Value::Table(toml::Table::new()));
    let parsed: ServerOnly = toml::Table::from_iter([("server".to_string(), server)])
        .try_into()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(parsed.server.http)
}
