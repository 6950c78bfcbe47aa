//! PostgreSQL compatibility: everything that makes lakegate look like PostgreSQL to clients
//! and does not depend on the wire.
//!
//! - the catalogue: `pg_catalog` (datafusion-pg-catalog's tables, in PostgreSQL 15's shape,
//!   with the lake's comments, keys, connections and cursors), `information_schema`, and the
//!   `lakegate` data dictionary — each built from the tables one session holds, so a table
//!   hidden from the principal is absent from all of them;
//! - PostgreSQL's functions, casts, literal types, text output and time zones, in place of
//!   DataFusion's where they differ ([`install`], [`analyzer_rules`], [`text`]);
//! - the SQL rewrites drivers need ([`rewrite`], [`name_columns`]);
//! - client settings ([`setting`]) and the server version.
//!
//! The engine builds a session's secured tables and then calls [`install`] once.

/// The PostgreSQL version lakegate presents, as a literal (for `concat!`): drivers choose
/// features by it. Written here only; [`SERVER_VERSION`] and the texts built from it follow.
macro_rules! pg_version {
    () => {
        "16.6"
    };
}

mod activity;
mod bounds;
mod casts;
mod catalog;
mod catalog_shapes;
mod colname;
mod comments;
mod computed;
mod constraints;
mod datetime_input;
mod dictionary;
mod division;
mod driver_functions;
mod error;
mod extract;
mod formatting;
mod information;
mod install;
mod keys;
mod pg_settings;
mod rewrite;
mod roles;
pub mod setting;
mod sql_functions;
pub mod text;
mod types;
mod version;
mod zone;

pub use activity::{Activity, Backend, OpenCursor};
pub use catalog_shapes::PG_TYPE;
pub use colname::{name_columns, wire_name};
pub use constraints::VECTOR;
pub use dictionary::Visible;
pub use error::ValueError;
pub use formatting::formatting_udfs;
pub use install::{SessionFacts, analyzer_rules, configure, install};
pub use rewrite::rewrite;
pub use version::{SERVER_VERSION, SERVER_VERSION_NUM};
pub use zone::SessionZone;
