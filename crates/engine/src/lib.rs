//! The engine: a DataFusion `SessionContext` per principal.
//!
//! A session is the security boundary. It is built from one lake snapshot and the policy,
//! and holds only the schemas and tables its principal may read, each behind a
//! [`SecureTable`]; `information_schema` and `pg_catalog` are generated from that same
//! catalog (by `lakegate_pgcompat::install`), so a hidden table is absent everywhere,
//! exactly like a missing one. All sessions share one runtime, so object stores and
//! metadata caches (listings, footers) are shared.

mod barrier;
mod caches;
mod claims;
mod compile;
mod cooperative;
mod error;
mod executor;
mod mask;
mod secure;
mod session;

pub use caches::CacheLookups;
pub use compile::{CompileError, Compiled, compile};
pub use error::EngineError;
pub use executor::Executor;
pub use lakegate_lake::PolicyUnavailable;
pub use mask::HashKey;
pub use secure::SecureTable;
pub use session::{DatasetCaches, Engine, EngineConfig, MemoryConfig};
