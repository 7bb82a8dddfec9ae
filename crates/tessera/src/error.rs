//! The engine's one error type.
//!
//! Session outcomes that a web layer must turn into a response are typed
//! variants ([`Error::Unauthorised`], [`Error::TryRefreshToken`],
//! [`Error::TokenTheftDetected`]); the reason inside each is for logs and
//! tests, never for the wire (SuperTokens' bodies are fixed strings).

use std::fmt;

/// Why a request was refused as unauthorised.
///
/// The variants are stable; their `Display` text is meant for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnauthorisedReason {
    /// No token was presented.
    NoToken,
    /// The access token is not a tessera access token: wrong shape, bad
    /// encoding, wrong algorithm, bad signature, wrong type or issuer.
    InvalidAccessToken,
    /// The refresh token is malformed or its authenticity check failed.
    InvalidRefreshToken,
    /// The refresh token belongs to no live session (revoked, expired, or
    /// a token this session never issued).
    UnknownRefreshToken,
    /// The session was revoked or has expired (database check).
    SessionRevoked,
    /// The anti-CSRF token presented with a refresh did not match.
    AntiCsrfMismatch,
    /// A database check found the access token's refresh token rotated out
    /// twice or more (CDI 5.6's verify): a refresh is required.
    RotatedOut,
}

impl fmt::Display for UnauthorisedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoToken => "no token presented",
            Self::InvalidAccessToken => "invalid access token",
            Self::InvalidRefreshToken => "invalid refresh token",
            Self::UnknownRefreshToken => "refresh token matches no live session",
            Self::SessionRevoked => "session revoked or expired",
            Self::AntiCsrfMismatch => "anti-csrf token missing or not matching",
            Self::RotatedOut => "rotated-out token branch; refresh required",
        })
    }
}

/// Why the client should refresh its session and retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryRefreshReason {
    /// The access token has expired.
    Expired,
    /// The access token was signed by a key this process does not know
    /// (rotated out, or not yet loaded).
    UnknownSigningKey,
    /// The request's anti-CSRF token is missing.
    AntiCsrfMissing,
    /// The request's anti-CSRF token does not match the token's.
    AntiCsrfMismatch,
    /// The token's key kind (dynamic/static) is not the one requested.
    SigningKeyKindMismatch,
}

impl fmt::Display for TryRefreshReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Expired => "access token expired",
            Self::UnknownSigningKey => "access token signed by an unknown key",
            Self::AntiCsrfMissing => "anti-csrf token missing",
            Self::AntiCsrfMismatch => "anti-csrf token does not match",
            Self::SigningKeyKindMismatch => "signing key kind does not match",
        })
    }
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No valid session: the client must sign in again.
    #[error("unauthorised: {reason}")]
    Unauthorised {
        /// Why (for logs).
        reason: UnauthorisedReason,
    },
    /// The access token cannot be used as it is; refreshing may help.
    #[error("try refresh token: {reason}")]
    TryRefreshToken {
        /// Why (for logs).
        reason: TryRefreshReason,
    },
    /// A retired refresh token was presented outside the grace window. The
    /// session has been revoked.
    #[error("token theft detected for session {session_handle}")]
    TokenTheftDetected {
        /// The revoked session.
        session_handle: String,
        /// Its user.
        user_id: String,
        /// Its recipe user (equals `user_id` unless accounts are linked).
        recipe_user_id: String,
        /// Its tenant.
        tenant_id: String,
    },
    /// The caller passed something the engine will not accept (a payload
    /// that is not an object, a key that collides with a protected claim, a
    /// bad configuration value, an unknown store URL ...). The message is
    /// safe to show to the caller.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The database failed or is unreachable. Details stay in logs.
    #[error("store error: {0}")]
    Store(#[from] sqlx::Error),
    /// A stored value could not be decoded (corrupt row, foreign data).
    #[error("corrupt stored data: {0}")]
    CorruptData(String),
    /// A cryptographic primitive failed (key generation, signing). Should
    /// never happen; details stay in logs.
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
}

impl Error {
    pub(crate) fn unauthorised(reason: UnauthorisedReason) -> Self {
        Self::Unauthorised { reason }
    }

    pub(crate) fn try_refresh(reason: TryRefreshReason) -> Self {
        Self::TryRefreshToken { reason }
    }

    /// True for the errors that mean "the store is unavailable or broken"
    /// (a web layer answers these with a generic 5xx).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Store(_) | Self::CorruptData(_) | Self::Crypto(_)
        )
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
