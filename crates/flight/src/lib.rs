//! The Arrow Flight SQL front end.
//!
//! Protocol only: a tower layer turns the `authorization` header into a verified identity,
//! Flight SQL commands become (principal, SQL, parameters), and the gateway's Arrow streams
//! go out as IPC. Tickets and prepared handles are sealed, not stored, so the server parks
//! nothing between calls.

mod auth;
mod bounds;
mod error;
mod keys;
mod metadata;
mod params;
mod schema;
mod server;
mod service;
mod ticket;

pub use server::{FlightServer, FlightServerConfig};
pub use service::FlightOptions;
