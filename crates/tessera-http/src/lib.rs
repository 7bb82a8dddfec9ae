#![doc = include_str!("../README.md")]

mod claims;
mod config;
mod context;
mod error;
mod fdi;
mod flows;
pub mod names;
mod options;
mod request;
mod session;
mod sessions;
mod verify;
mod write;

pub use claims::{ClaimValidationError, ClaimValidator};
pub use config::{
    DEFAULT_API_BASE_PATH, DomainCookieSettings, SameSite, TokenTransferMethod,
    TokenTransferPolicy, domain_cookie_settings, normalise_base_path, refresh_path, signout_path,
    tenant_refresh_route,
};
pub use context::RequestContext;
pub use error::{
    DUPLICATE_SESSION_COOKIES_MESSAGE, Error, ErrorResponse, Rejection, RejectionKind,
    TryRefreshCause, UnauthorisedCause,
};
pub use fdi::Fdi;
pub use options::SessionOptions;
pub use request::{RequestView, cookie_value, cookie_values};
pub use session::Session;
pub use sessions::Sessions;
pub use write::{ResponseHeaders, Writes};

/// The engine, re-exported so that adapters and their users name the
/// version this crate was built against.
pub use tessera;

/// What [`fdi_error!`] expands to needs; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json;
    pub use tracing;
}
