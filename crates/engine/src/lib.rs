//! The engine: a DataFusion `SessionContext` per principal.
//!
//! A session is the security boundary. It is built from one lake snapshot and the policy,
//! and holds only the schemas and tables its principal may read, each behind a
//! [`SecureTable`]; `information_schema` and `pg_catalog` are generated from that same
//! catalog, so a hidden table is absent everywhere, exactly like a missing one. All sessions
//! share one runtime, so object stores and metadata caches (listings, footers) are shared.

mod activity;
mod barrier;
mod bounds;
mod caches;
mod casts;
mod catalog;
mod catalog_shapes;
mod claims;
mod comments;
mod compat;
mod compile;
mod computed;
mod constraints;
mod cooperative;
mod datetime_input;
mod dictionary;
mod division;
mod error;
mod executor;
mod extract;
mod formatting;
mod information;
mod keys;
mod mask;
mod roles;
mod secure;
mod session;
mod settings;
mod sql_functions;
pub mod text;
pub use catalog_shapes::PG_TYPE;
mod types;
mod version;
mod zone;

pub use activity::{Activity, Backend, OpenCursor};
pub use caches::CacheLookups;
pub use compile::{CompileError, Compiled, compile};
pub use constraints::VECTOR;
pub use error::{EngineError, ValueError};
pub use executor::Executor;
pub use formatting::formatting_udfs;
pub use lakegate_lake::PolicyUnavailable;
pub use mask::HashKey;
pub use secure::SecureTable;
pub use session::{DatasetCaches, Engine, EngineConfig, MemoryConfig};
pub use zone::SessionZone;
