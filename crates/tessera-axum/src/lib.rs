#![doc = include_str!("../docs/crate.md")]

mod claims;
mod config;
mod error;
mod extract;
mod layer;
mod limits;
mod rate_limit;
mod routes;
mod serve;
mod transport;

pub use claims::{ClaimValidationError, ClaimValidator};
pub use config::{DEFAULT_API_BASE_PATH, SameSite, TokenTransferMethod, TokenTransferPolicy};
pub use error::{Error, TryRefreshCause, UnauthorisedCause};
pub use extract::options::{SessionOptions, SessionOptionsService};
pub use extract::session::Session;
pub use extract::sessions::Sessions;
pub use layer::{SessionLayer, SessionService};
pub use limits::{RequestLimits, RequestLimitsService};
pub use rate_limit::{RateLimitKey, RefreshRateLimit};
pub use routes::{routes, routes_with};
pub use serve::{ServerLimits, serve};

/// The engine, re-exported so that `tessera_axum::tessera::SessionManager`
/// is the version this crate was built against.
pub use tessera;
