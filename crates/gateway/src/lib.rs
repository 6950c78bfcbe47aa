//! The gateway: the one API both front ends call.
//!
//! A front end hands over a token and gets an [`Identity`]; hands over SQL and gets its
//! statements; hands each over as a [`Request`] to [`Gateway::describe`] (planned, not run)
//! or [`Gateway::run`], whose [`Answer`] is a [`QueryStream`] of Arrow batches ready to
//! encode or a [`Command`] for the front end's own connection state. The lifecycle, the
//! audit line, cancellation, timeouts and every permission decision are below this line,
//! so what holds for one protocol holds for all.

mod admission;
mod audit;
mod backends;
mod changes;
mod complexity;
mod config;
mod error;
pub mod framing;
mod gateway;
pub mod identity;
mod lifecycle;
pub mod metrics;
mod origin;
mod placeholders;
mod protocol;
mod session;
mod stream;
mod tls;

pub use admission::Admitted;
pub use audit::{AuditEntry, AuditLog, Caller, Outcome};
pub use backends::{BackendGuard, Backends, Running};
pub use config::{CacheConfig, ClaimMapping, IdentityConfig, LimitsConfig};
pub use error::{AuthError, ErrorCodes, GrpcCode, LogLevel, QueryError};
pub use gateway::{Gateway, GatewayParts};
pub use identity::{Identity, TokenVerifier};
pub use lakegate_lake::Sidecar;
pub use lakegate_pgcompat::{PG_TYPE, SERVER_VERSION, SessionZone, VECTOR, setting, text};
pub use lakegate_policy::copy::{CopyFormat, CopyOut};
pub use lakegate_policy::guard::{Action, Transaction};
pub use lakegate_policy::{Forbidden, Principal};
pub use lifecycle::{Answer, Cancel, Command, Described, Failed, Parameters, Request};
pub use origin::Origin;
pub use placeholders::number_question_marks;
pub use protocol::Protocol;
pub use session::{Session, VisibleTable};
pub use stream::QueryStream;
pub use tls::{TlsError, load_tls};

/// Re-exported so front ends name the same Arrow, statement and value types as the gateway.
pub use datafusion::arrow;
pub use datafusion::common::{ParamValues, ScalarValue};
pub use datafusion::logical_expr::LogicalPlan;
pub use datafusion::sql::sqlparser::ast::Statement;
