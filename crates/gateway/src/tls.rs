//! The server certificate, loaded once and shared by every front end (rustls, ring).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;

/// A certificate or key that cannot be used.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} holds no private key")]
    NoKey(String),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A rustls server config from PEM files. Front ends clone it to set their own ALPN.
pub fn load_tls(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| TlsError::Read { path, source }
    };
    let certs = rustls_pemfile::certs(&mut BufReader::new(
        File::open(cert).map_err(read_err(cert))?,
    ))
    .collect::<Result<Vec<CertificateDer<'static>>, _>>()
    .map_err(read_err(cert))?;
    let key_der: PrivateKeyDer<'static> =
        rustls_pemfile::private_key(&mut BufReader::new(File::open(key).map_err(read_err(key))?))
            .map_err(read_err(key))?
            .ok_or_else(|| TlsError::NoKey(key.display().to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)?;
    Ok(Arc::new(config))
}
