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

/// Writes `keys/dev-signing.pem` (Ed25519, PKCS#8 v1 as RFC 8410 gives it, which OpenSSL,
/// PyJWT and Python's `cryptography` read, so an admin can mint test tokens with standard
/// tools) and `keys/jwks.json`.
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
    let pem = pkcs8_v1_pem(&key.serialize_der()).unwrap_or_else(|| key.serialize_pem());
    write(&dir.join("keys/dev-signing.pem"), pem.as_bytes())?;
    write(
        &dir.join("keys/jwks.json"),
        serde_json::to_string_pretty(&jwks)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// ring writes Ed25519 keys as PKCS#8 v2 (RFC 5958, with the public key), which OpenSSL
/// 3, PyJWT and `cryptography` refuse. The same key as PKCS#8 v1 (RFC 8410 §7): the fixed
/// header, then the 32-byte seed. `None` if `der` is not ring's v2 layout.
fn pkcs8_v1_pem(der: &[u8]) -> Option<String> {
    const V2_HEADER: [u8; 16] = [
        0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    const V1_HEADER: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    // The outer length differs with how the public key is tagged; the rest is fixed.
    let fixed = der.get(2..16)? == &V2_HEADER[2..] && der.first() == Some(&0x30);
    let seed = der.get(16..48).filter(|_| fixed)?;
    let v1: Vec<u8> = V1_HEADER.iter().chain(seed).copied().collect();
    let body = base64::engine::general_purpose::STANDARD.encode(v1);
    Some(format!(
        "-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    ))
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
