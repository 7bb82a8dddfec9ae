#![doc = include_str!("../docs/crate.md")]

mod cors;
mod error;
mod extract;
mod headers;
mod layer;
mod limits;
mod rate_limit;
mod routes;
mod serve;

pub use cors::cors;
pub use error::Error;
pub use extract::options::{SessionOptions, SessionOptionsService};
pub use extract::session::Session;
pub use extract::sessions::Sessions;
pub use layer::{ResponseFuture, SessionLayer, SessionService};
pub use limits::{RequestLimits, RequestLimitsService};
pub use rate_limit::{RateLimitKey, RefreshRateLimit};
pub use routes::{routes, routes_with};
pub use serve::{ServerLimits, serve};
pub use tessera_http::{
    ClaimValidationError, ClaimValidator, DEFAULT_API_BASE_PATH, SameSite, TokenTransferMethod,
    TokenTransferPolicy, TryRefreshCause, UnauthorisedCause,
};

/// The engine, re-exported so that `tessera_axum::tessera::SessionManager`
/// is the version this crate was built against.
pub use tessera;
/// The framework-neutral FDI core this adapter translates to.
pub use tessera_http;
