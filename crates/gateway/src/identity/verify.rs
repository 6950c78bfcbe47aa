//! Token verification.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use lakegate_policy::Principal;
use serde_json::Value;

use super::claims::principal_from_claims;
use super::jwks::KeySet;
use crate::config::IdentityConfig;
use crate::error::AuthError;

/// Tokens larger than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A verified caller: who, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub principal: Principal,
    /// When the token stops being accepted: its `exp` plus the configured leeway, the
    /// same instant the login check uses, so a login accepted within the leeway is not
    /// refused on its next statement. Every later check (each pg statement, portal and
    /// cursor fetch; Flight calls, tickets and streams) ends the session here.
    pub expires_at: DateTime<Utc>,
}

/// Verifies tokens against the configured issuer, audience, algorithms and keys.
pub struct TokenVerifier {
    config: IdentityConfig,
    algorithms: Vec<Algorithm>,
    keys: KeySet,
}

impl TokenVerifier {
    /// Checks the configuration and loads the JWKS (its path resolved by the caller).
    pub fn new(config: IdentityConfig, jwks: &Path) -> Result<TokenVerifier, String> {
        let algorithms = config
            .algorithms
            .iter()
            .map(|name| {
                name.parse::<Algorithm>()
                    .map_err(|_| format!("identity.algorithms: unknown algorithm `{name}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if algorithms.is_empty() {
            return Err("identity.algorithms: at least one algorithm is required".to_string());
        }
        Ok(TokenVerifier {
            keys: KeySet::load(jwks)?,
            config,
            algorithms,
        })
    }

    /// Verifies a token and binds its principal.
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::TooLarge);
        }
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        // RFC 7515 §4.1.11: a recipient must refuse a token whose `crit` names an extension
        // it does not understand; lakegate understands none.
        if header.crit.is_some() {
            return Err(AuthError::CriticalExtension);
        }
        if !self.algorithms.contains(&header.alg) {
            return Err(AuthError::AlgorithmNotAllowed(format!("{:?}", header.alg)));
        }
        let kid = header.kid.as_deref().ok_or(AuthError::MissingKeyId)?;
        let jwk = self.keys.find(kid).ok_or(AuthError::UnknownKey)?;
        if let Some(key_alg) = jwk.common.key_algorithm
            && format!("{key_alg:?}") != format!("{:?}", header.alg)
        {
            return Err(AuthError::AlgorithmNotAllowed(format!("{:?}", header.alg)));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| AuthError::UnknownKey)?;
        let claims = decode::<Value>(token, &key, &self.validation(header.alg))
            .map_err(|e| auth_error(e.into_kind()))?
            .claims;
        let principal = principal_from_claims(&claims, &self.config.claims)?;
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(|| AuthError::BadClaim("exp".to_string()))?;
        let leeway = i64::try_from(self.config.leeway_secs).unwrap_or(i64::MAX);
        let expires_at = Utc
            .timestamp_opt(exp.saturating_add(leeway), 0)
            .single()
            .ok_or_else(|| AuthError::BadClaim("exp".to_string()))?;
        Ok(Identity {
            principal,
            expires_at,
        })
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway_secs;
        validation
    }
}

fn auth_error(kind: ErrorKind) -> AuthError {
    match kind {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim),
        ErrorKind::InvalidClaimFormat(claim) => AuthError::BadClaim(claim),
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName => AuthError::AlgorithmNotAllowed("mismatch".to_string()),
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        _ => AuthError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use rcgen::{KeyPair, PKCS_ED25519};
    use serde_json::json;

    use super::*;
    use crate::config::ClaimMapping;

    struct Fixture {
        _dir: tempfile::TempDir,
        verifier: TokenVerifier,
        key: EncodingKey,
        public: Vec<u8>,
    }

    fn fixture(algorithms: &[&str]) -> Fixture {
        let pair = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let public = pair.public_key_raw().to_vec();
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "k1",
                                    "x": URL_SAFE_NO_PAD.encode(&public)}]});
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, jwks.to_string()).unwrap();
        let config = IdentityConfig {
            issuer: "https://idp.test".into(),
            audience: "lakegate".into(),
            algorithms: algorithms.iter().map(|s| s.to_string()).collect(),
            jwks_file: path.clone(),
            leeway_secs: 5,
            claims: ClaimMapping::default(),
            dev_signing_key: None,
            dev_signing_kid: None,
        };
        Fixture {
            verifier: TokenVerifier::new(config, &path).unwrap(),
            key: EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).unwrap(),
            public,
            _dir: dir,
        }
    }

    fn claims() -> Value {
        let now = Utc::now().timestamp();
        json!({"iss": "https://idp.test", "aud": "lakegate", "sub": "pat", "exp": now + 600,
               "nbf": now - 10, "departments": ["parking"]})
    }

    fn sign(f: &Fixture, claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(String::from);
        encode(&header, claims, &f.key).unwrap()
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    #[test]
    fn a_valid_token_binds_its_principal() {
        let f = fixture(&["EdDSA"]);
        let identity = f.verifier.verify(&sign(&f, &claims(), Some("k1"))).unwrap();
        assert_eq!(identity.principal.subject, "pat");
        assert!(identity.principal.departments.contains("parking"));
    }

    #[test]
    fn time_claims_are_enforced() {
        let f = fixture(&["EdDSA"]);
        let now = Utc::now().timestamp();
        let expired = with(claims(), "exp", json!(now - 60));
        assert_eq!(
            f.verifier.verify(&sign(&f, &expired, Some("k1"))),
            Err(AuthError::Expired)
        );
        let early = with(claims(), "nbf", json!(now + 600));
        assert_eq!(
            f.verifier.verify(&sign(&f, &early, Some("k1"))),
            Err(AuthError::NotYetValid)
        );
    }

    #[test]
    fn issuer_audience_and_subject_are_required() {
        let f = fixture(&["EdDSA"]);
        let wrong_iss = with(claims(), "iss", json!("https://evil.test"));
        assert_eq!(
            f.verifier.verify(&sign(&f, &wrong_iss, Some("k1"))),
            Err(AuthError::WrongIssuer)
        );
        let wrong_aud = with(claims(), "aud", json!("someone-else"));
        assert_eq!(
            f.verifier.verify(&sign(&f, &wrong_aud, Some("k1"))),
            Err(AuthError::WrongAudience)
        );
        let mut no_sub = claims();
        no_sub.as_object_mut().unwrap().remove("sub");
        assert!(matches!(
            f.verifier.verify(&sign(&f, &no_sub, Some("k1"))),
            Err(AuthError::MissingClaim(_))
        ));
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(matches!(
            f.verifier.verify(&sign(&f, &no_exp, Some("k1"))),
            Err(AuthError::MissingClaim(_))
        ));
    }

    #[test]
    fn a_validly_signed_token_with_critical_extensions_is_refused() {
        let f = fixture(&["EdDSA"]);
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        header.crit = Some(vec!["exp".into()]);
        let token = encode(&header, &claims(), &f.key).unwrap();
        assert_eq!(f.verifier.verify(&token), Err(AuthError::CriticalExtension));
    }

    #[test]
    fn alg_none_is_refused() {
        let f = fixture(&["EdDSA"]);
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims().to_string());
        let token = format!("{header}.{body}.");
        assert!(f.verifier.verify(&token).is_err());
    }

    #[test]
    fn hs256_signed_with_the_public_key_is_refused() {
        for allowed in [&["EdDSA"][..], &["EdDSA", "HS256"][..]] {
            let f = fixture(allowed);
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some("k1".into());
            let forged = encode(&header, &claims(), &EncodingKey::from_secret(&f.public)).unwrap();
            let b64 = URL_SAFE_NO_PAD.encode(&f.public);
            let forged_b64 = encode(
                &header,
                &claims(),
                &EncodingKey::from_secret(b64.as_bytes()),
            )
            .unwrap();
            for token in [forged, forged_b64] {
                assert!(
                    matches!(
                        f.verifier.verify(&token),
                        Err(AuthError::AlgorithmNotAllowed(_))
                    ),
                    "{allowed:?}"
                );
            }
        }
    }

    #[test]
    fn unknown_or_missing_key_ids_are_refused() {
        let f = fixture(&["EdDSA"]);
        assert_eq!(
            f.verifier.verify(&sign(&f, &claims(), Some("k9"))),
            Err(AuthError::UnknownKey)
        );
        assert_eq!(
            f.verifier.verify(&sign(&f, &claims(), None)),
            Err(AuthError::MissingKeyId)
        );
    }

    #[test]
    fn another_keys_signature_is_refused() {
        let f = fixture(&["EdDSA"]);
        let other = fixture(&["EdDSA"]);
        let token = sign(&other, &claims(), Some("k1"));
        assert_eq!(f.verifier.verify(&token), Err(AuthError::BadSignature));
    }

    #[test]
    fn oversized_and_garbage_tokens_are_refused_before_parsing() {
        let f = fixture(&["EdDSA"]);
        let big = with(claims(), "padding", json!("x".repeat(MAX_TOKEN_BYTES)));
        assert_eq!(
            f.verifier.verify(&sign(&f, &big, Some("k1"))),
            Err(AuthError::TooLarge)
        );
        for garbage in ["", "garbage", "a.b.c", "....", "\u{0}\u{1}", "eyJ.eyJ.eyJ"] {
            assert!(f.verifier.verify(garbage).is_err(), "{garbage:?}");
        }
    }
}
