//! The Postgres wire front end.
//!
//! Protocol only: bytes become (principal, SQL, parameters) and Arrow batches become rows.
//! Authentication is a cleartext password message carrying the JWT, accepted only inside
//! TLS (or on loopback when the config allows plaintext); everything else — parsing, the
//! statement guard, planning, permissions — is the gateway's.

mod columnar;
mod connection;
mod cursor;
mod encode;
mod error;
mod execute;
mod framing;
mod handler;
mod params;
mod server;
mod settings;
mod startup;
mod statement;
mod wire;

pub use server::{PgServer, PgServerConfig};
