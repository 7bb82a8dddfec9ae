#![doc = include_str!("../README.md")]

mod cache;
pub mod clock;
pub mod config;
mod crypto;
pub mod error;
pub mod keys;
mod manager;
pub mod store;
pub mod token;

pub use cache::VerifiedAccessToken;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AntiCsrfMode, Config, MIN_SIGNING_KEY_ROTATION_INTERVAL, SigningAlgorithm};
pub use error::{Error, Result, TryRefreshReason, UnauthorisedReason};
pub use keys::{Jwk, Jwks};
pub use manager::{
    AccessTokenCandidate, CleanupReport, CreatedSession, DEFAULT_TENANT, IssuedAccessToken,
    IssuedRefreshToken, MAX_JWT_VALIDITY, NewSession, RefreshModel, RefreshRequest,
    RegeneratedSession, SessionInformation, SessionManager, SessionManagerBuilder, TenantScope,
    VerifiedSession, VerifyOptions,
};
pub use store::{SessionMetadata, SessionStore};
pub use token::{AccessTokenClaims, TokenVersion};
