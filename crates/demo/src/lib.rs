//! The demo: a synthetic council lake that looks like a real one.
//!
//! Deterministic (seeded), written in seconds at the default size: parking, revenues,
//! housing and unrestricted departments across raw, refined and trusted zones, several
//! daily `import_date` partitions, one dataset whose schema drifts, one snapshot dataset,
//! personal data for the policy to mask and ward codes for row filters. Alongside it: a
//! config, a policy, an Ed25519 dev signing key with its JWKS, and a self-signed TLS
//! certificate.

mod datasets;
mod error;
mod files;
mod keys;
mod people;
mod writer;

pub use error::DemoError;
pub use files::{CONFIG_FILE, DemoOptions, write_demo};
pub use keys::DEV_KID;
pub use people::{Persona, personas};
