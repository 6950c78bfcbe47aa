//! Stateless tickets and prepared-statement handles: the statement, its parameters, the
//! principal it belongs to and an expiry, HMAC-signed. Nothing is parked on the server; a
//! ticket is checked again, in full, when it comes back.

use std::hash::{Hash, Hasher};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use lakegate_gateway::Principal;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

const MAGIC: &[u8] = b"lg1";
const MAC_LEN: usize = 32;

/// Why a ticket or handle is refused. The client is told only that it is unknown.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TicketError {
    #[error("malformed")]
    Malformed,
    #[error("bad signature")]
    BadSignature,
    #[error("issued to another principal")]
    OtherPrincipal,
    #[error("expired")]
    Expired,
    #[error("of another kind")]
    WrongKind,
}

/// A ticket answers one DoGet; a prepared handle is what CreatePreparedStatement returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Ticket,
    Prepared,
}

/// What a ticket or handle carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// Bound parameters: an Arrow IPC stream of one row.
    pub params: Option<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct Body {
    kind: Kind,
    sql: String,
    params: Option<String>,
    principal: String,
    expires: i64,
}

/// Seals and opens tickets with a key of this server's.
pub struct Sealer {
    key: [u8; 32],
}

impl Sealer {
    /// A sealer with a fresh random key: tickets do not outlive the process.
    pub fn random() -> Sealer {
        Sealer {
            key: rand::random(),
        }
    }

    pub fn seal(
        &self,
        kind: Kind,
        statement: &Statement,
        principal: &Principal,
        expires: DateTime<Utc>,
    ) -> Vec<u8> {
        let body = Body {
            kind,
            sql: statement.sql.clone(),
            params: statement.params.as_ref().map(|p| STANDARD.encode(p)),
            principal: self.fingerprint(principal),
            expires: expires.timestamp(),
        };
        let mut out = MAGIC.to_vec();
        // Serialising plain strings and numbers cannot fail.
        out.extend(serde_json::to_vec(&body).unwrap_or_default());
        let mac = self.mac(&out);
        out.extend(mac);
        out
    }

    /// The statement a ticket carries, if it is genuine, of `kind`, the principal's, and
    /// not expired.
    pub fn open(
        &self,
        kind: Kind,
        bytes: &[u8],
        principal: &Principal,
    ) -> Result<Statement, TicketError> {
        if bytes.len() < MAGIC.len() + MAC_LEN || !bytes.starts_with(MAGIC) {
            return Err(TicketError::Malformed);
        }
        let (signed, mac) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut check = self.hmac();
        check.update(signed);
        check
            .verify_slice(mac)
            .map_err(|_| TicketError::BadSignature)?;
        let body: Body =
            serde_json::from_slice(&signed[MAGIC.len()..]).map_err(|_| TicketError::Malformed)?;
        if body.kind != kind {
            return Err(TicketError::WrongKind);
        }
        if body.principal != self.fingerprint(principal) {
            return Err(TicketError::OtherPrincipal);
        }
        if body.expires < Utc::now().timestamp() {
            return Err(TicketError::Expired);
        }
        let params = match body.params {
            Some(p) => Some(STANDARD.decode(p).map_err(|_| TicketError::Malformed)?),
            None => None,
        };
        Ok(Statement {
            sql: body.sql,
            params,
        })
    }

    fn hmac(&self) -> HmacSha256 {
        // HMAC takes keys of any length.
        HmacSha256::new_from_slice(&self.key).expect("HMAC accepts a 32-byte key")
    }

    fn mac(&self, bytes: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = self.hmac();
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }

    /// A keyed digest of everything that makes the principal, so a ticket binds to the
    /// whole identity (claims included), not only the subject.
    fn fingerprint(&self, principal: &Principal) -> String {
        let mut hasher = MacHasher(self.hmac());
        principal.hash(&mut hasher);
        let digest: [u8; MAC_LEN] = hasher.0.finalize().into_bytes().into();
        STANDARD.encode(digest)
    }
}

/// Feeds `Hash` output into an HMAC.
struct MacHasher(HmacSha256);

impl Hasher for MacHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn principal(subject: &str) -> Principal {
        Principal {
            subject: subject.to_string(),
            username: subject.to_string(),
            ..Principal::default()
        }
    }

    fn statement() -> Statement {
        Statement {
            sql: "SELECT 1".to_string(),
            params: Some(vec![1, 2, 3]),
        }
    }

    #[test]
    fn round_trips_for_its_principal() {
        let sealer = Sealer::random();
        let later = Utc::now() + Duration::minutes(5);
        let pat = principal("pat");
        let ticket = sealer.seal(Kind::Ticket, &statement(), &pat, later);
        assert_eq!(sealer.open(Kind::Ticket, &ticket, &pat), Ok(statement()));
    }

    #[test]
    fn refuses_tampering_other_principals_kinds_keys_and_expiry() {
        let sealer = Sealer::random();
        let later = Utc::now() + Duration::minutes(5);
        let pat = principal("pat");
        let ticket = sealer.seal(Kind::Ticket, &statement(), &pat, later);
        let mut tampered = ticket.clone();
        tampered[10] ^= 1;
        assert_eq!(
            sealer.open(Kind::Ticket, &tampered, &pat),
            Err(TicketError::BadSignature)
        );
        assert_eq!(
            sealer.open(Kind::Ticket, &ticket, &principal("sam")),
            Err(TicketError::OtherPrincipal)
        );
        let mut more_claims = pat.clone();
        more_claims.groups.insert("engineer".to_string());
        assert_eq!(
            sealer.open(Kind::Ticket, &ticket, &more_claims),
            Err(TicketError::OtherPrincipal)
        );
        assert_eq!(
            sealer.open(Kind::Prepared, &ticket, &pat),
            Err(TicketError::WrongKind)
        );
        assert_eq!(
            Sealer::random().open(Kind::Ticket, &ticket, &pat),
            Err(TicketError::BadSignature)
        );
        let past = Utc::now() - Duration::minutes(1);
        let old = sealer.seal(Kind::Ticket, &statement(), &pat, past);
        assert_eq!(
            sealer.open(Kind::Ticket, &old, &pat),
            Err(TicketError::Expired)
        );
        assert_eq!(
            sealer.open(Kind::Ticket, b"garbage", &pat),
            Err(TicketError::Malformed)
        );
    }
}
