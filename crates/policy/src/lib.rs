//! Policy: who may read what, and which statements may run at all.
//!
//! Pure logic, no I/O. A [`Principal`] comes from a verified token (the gateway does that);
//! the [`Policy`] decides which zone/department schemas exist for it; the [`guard`] sorts
//! each parsed statement into what runs through the engine, what the front end answers
//! itself (client settings, transactions) and what is forbidden on a read-only server.

mod access;
pub mod copy;
mod error;
pub mod guard;
pub mod mask;
mod principal;
mod rules;

pub use access::{DepartmentAccess, Policy, PublicAccess};
pub use error::{Forbidden, PolicyError};
pub use mask::MaskKind;
pub use principal::Principal;
pub use rules::{AppliedGrant, Grant, Restrict, TableRules};
