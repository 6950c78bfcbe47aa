//! Development tokens, signed with the configured dev key. Not an identity provider.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::config::IdentityConfig;

/// What a dev token should say.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub subject: String,
    pub departments: Vec<String>,
    pub groups: Vec<String>,
    pub attributes: BTreeMap<String, Vec<String>>,
    pub ttl: Duration,
}

/// Signs dev tokens (EdDSA, or RS256/ES256 for such keys) that the server's own verifier
/// accepts: same issuer, audience, `kid` and claim pointers.
pub struct DevSigner {
    key: EncodingKey,
    alg: Algorithm,
    kid: String,
    issuer: String,
    audience: String,
    config: IdentityConfig,
}

impl DevSigner {
    /// The signer the config names, with the key path resolved by the caller.
    pub fn from_config(config: &IdentityConfig, key_path: &Path) -> Result<DevSigner, String> {
        let pem = std::fs::read(key_path)
            .map_err(|e| format!("reading dev signing key {}: {e}", key_path.display()))?;
        let kid = config
            .dev_signing_kid
            .clone()
            .ok_or("identity.dev_signing_kid is required to mint tokens")?;
        let (key, alg) = if let Ok(k) = EncodingKey::from_ed_pem(&pem) {
            (k, Algorithm::EdDSA)
        } else if let Ok(k) = EncodingKey::from_ec_pem(&pem) {
            (k, Algorithm::ES256)
        } else if let Ok(k) = EncodingKey::from_rsa_pem(&pem) {
            (k, Algorithm::RS256)
        } else {
            return Err(format!(
                "{} is not a PKCS#8 EdDSA, ES256 or RSA key",
                key_path.display()
            ));
        };
        Ok(DevSigner {
            key,
            alg,
            kid,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            config: config.clone(),
        })
    }

    /// A signed token for the request.
    pub fn mint(&self, request: &TokenRequest) -> Result<String, String> {
        let now = Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": request.subject,
            "iat": now,
            "nbf": now,
            "exp": now + request.ttl.as_secs() as i64,
        });
        set_pointer(
            &mut claims,
            &self.config.claims.username,
            json!(request.subject),
        );
        set_pointer(
            &mut claims,
            &self.config.claims.departments,
            json!(request.departments),
        );
        set_pointer(
            &mut claims,
            &self.config.claims.groups,
            json!(request.groups),
        );
        for (name, values) in &request.attributes {
            if let Some(pointer) = self.config.claims.attributes.get(name) {
                set_pointer(&mut claims, pointer, json!(values));
            } else {
                return Err(format!(
                    "attribute `{name}` has no claim in identity.claims.attributes"
                ));
            }
        }
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        encode(&header, &claims, &self.key).map_err(|e| format!("signing: {e}"))
    }
}

/// Writes `value` at a JSON pointer, creating objects along the way.
fn set_pointer(root: &mut Value, pointer: &str, value: Value) {
    let mut node = root;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(map) = node else { return };
        if i + 1 == parts.len() {
            map.insert(part.to_string(), value);
            return;
        }
        node = map.entry(part.to_string()).or_insert_with(|| json!({}));
    }
}
