//! The council lake as tables.
//!
//! Zones are object-store URLs (`file://` or `s3://`); the first folder below a zone is a
//! department; a dataset is the deepest folder whose children are Hive partition folders or
//! Parquet files. [`Lake`] lists every zone, turns datasets into [`LakeTable`]s named the way
//! analysts already know them (`parking_raw_zone.liberator_pcn_tickets`), merges drifting
//! file schemas, and re-lists on a TTL so new partitions and datasets appear without a
//! restart. The engine turns a snapshot into DataFusion table providers.

mod config;
mod discovery;
mod drift;
mod error;
mod footer;
mod latest;
mod naming;
mod partition;
mod requests;
mod sidecar;
mod snapshot;
mod store;
mod unreadable;
mod versions;

pub use config::{LakeConfig, S3Config, ZoneConfig};
pub use drift::{DriftConflict, MergedSchema};
pub use error::LakeError;
pub use latest::LatestTable;
pub use naming::{department_slug, schema_name, sql_identifier};
pub use partition::{DATE_KEYS, Partition, PartitionSegment};
pub use requests::StoreRequests;
pub use sidecar::{ColumnDoc, Relationship, Sidecar};
pub use snapshot::{Lake, LakeSnapshot, LakeTable, TableKind};
pub use store::Zone;
pub use unreadable::{DamagedTable, PolicyUnavailable, UnreadableTable};
pub use versions::{ListedVersions, ObjectChanged, Versioned};
