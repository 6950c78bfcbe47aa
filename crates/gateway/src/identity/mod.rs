//! Identity: a verified JWT becomes a [`Principal`](lakegate_policy::Principal).
//!
//! The algorithm allow-list comes from the config, never from the token; keys come from a
//! JWKS file by `kid`; `exp`, `iss`, `aud` and `sub` are required and `nbf` is honoured.
//! Tokens are checked for size before anything parses them, and never logged.

mod claims;
mod jwks;
mod mint;
mod verify;

pub use claims::principal_from_claims;
pub use jwks::KeySet;
pub use mint::{DevSigner, TokenRequest};
pub use verify::{Identity, MAX_TOKEN_BYTES, TokenVerifier};
