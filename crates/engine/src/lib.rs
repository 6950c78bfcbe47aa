//! The engine: a DataFusion `SessionContext` per principal.
//!
//! A session is the security boundary. It is built from one lake snapshot and the policy,
//! and holds only the schemas and tables its principal may read, each behind a
//! [`SecureTable`]; `information_schema` and `pg_catalog` are generated from that same
//! catalog, so a hidden table is absent everywhere, exactly like a missing one. All sessions
//! share one runtime, so object stores and metadata caches (listings, footers) are shared.

mod activity;
mod barrier;
mod caches;
mod catalog;
mod claims;
mod comments;
mod compat;
mod compile;
mod computed;
mod constraints;
mod dictionary;
mod error;
mod executor;
mod information;
mod keys;
mod mask;
mod roles;
mod secure;
mod session;
mod settings;
mod types;
mod version;

pub use activity::{Activity, Backend};
pub use caches::CacheLookups;
pub use compile::{CompileError, Compiled, compile};
pub use constraints::VECTOR;
pub use error::EngineError;
pub use executor::Executor;
pub use lakegate_lake::PolicyUnavailable;
pub use mask::HashKey;
pub use secure::SecureTable;
pub use session::{Engine, EngineConfig, MemoryConfig};
