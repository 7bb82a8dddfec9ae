//! The tokens a session is made of.
//!
//! - [`access`]: the access token, a JWT in SuperTokens' v5 shape, verified
//!   with no database call.
//! - [`refresh`]: the opaque, rotating refresh token.
//! - [`anti_csrf`]: the anti-CSRF token (`ViaToken` mode).
//! - [`front`]: the `front-token` value the browser SDK reads.
//! - `jwt`: the compact-JWS encoding underneath the access token.

pub mod access;
pub mod anti_csrf;
pub mod front;
pub(crate) mod jwt;
pub mod refresh;

pub use access::{AccessTokenClaims, PROTECTED_CLAIMS, TokenVersion};
