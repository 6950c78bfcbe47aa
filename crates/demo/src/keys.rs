//! The dev signing key with its JWKS, and a self-signed TLS certificate.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rcgen::{CertificateParams, KeyPair, PKCS_ED25519};
use serde_json::json;

use crate::error::DemoError;

/// The `kid` of the demo signing key.
pub const DEV_KID: &str = "lakegate-demo-1";

/// Writes `keys/dev-signing.pem` (Ed25519, PKCS#8) and `keys/jwks.json`.
pub fn write_signing_key(dir: &Path) -> Result<(), DemoError> {
    let key = KeyPair::generate_for(&PKCS_ED25519)?;
    let jwks = json!({
        "keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": DEV_KID,
            "x": URL_SAFE_NO_PAD.encode(key.public_key_raw()),
        }]
    });
    write(
        &dir.join("keys/dev-signing.pem"),
        key.serialize_pem().as_bytes(),
    )?;
    write(
        &dir.join("keys/jwks.json"),
        serde_json::to_string_pretty(&jwks)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// Writes `tls/cert.pem` and `tls/key.pem` for `localhost` and `127.0.0.1`.
pub fn write_tls(dir: &Path) -> Result<(), DemoError> {
    let key = KeyPair::generate()?;
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    let cert = params.self_signed(&key)?;
    write(&dir.join("tls/cert.pem"), cert.pem().as_bytes())?;
    write(&dir.join("tls/key.pem"), key.serialize_pem().as_bytes())
}

/// Writes `keys/hash.key`: 32 random bytes, hex, for the `hash` mask.
pub fn write_hash_key(dir: &Path) -> Result<(), DemoError> {
    let mut key = [0u8; 32];
    StdRng::from_os_rng().fill_bytes(&mut key);
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    write(&dir.join("keys/hash.key"), hex.as_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), DemoError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(DemoError::io(parent))?;
    }
    std::fs::write(path, bytes).map_err(DemoError::io(path))
}
