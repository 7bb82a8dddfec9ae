//! Moving tokens between HTTP and the engine: cookies and headers in
//! ([`read`]), cookies and headers out ([`write`]).

pub(crate) mod read;
pub(crate) mod write;

/// Cookie and header names of SuperTokens' session protocol (FDI §0).
pub(crate) mod names {
    /// Access-token cookie.
    pub(crate) const ACCESS_TOKEN_COOKIE: &str = "sAccessToken";
    /// Refresh-token cookie (sent only to the refresh path).
    pub(crate) const REFRESH_TOKEN_COOKIE: &str = "sRefreshToken";
    /// Legacy cookie: only ever cleared, and it makes verification ask for a
    /// refresh.
    pub(crate) const LEGACY_ID_REFRESH_TOKEN_COOKIE: &str = "sIdRefreshToken";
    /// Response header with the front token, or `remove`.
    pub(crate) const FRONT_TOKEN_HEADER: &str = "front-token";
    /// Anti-CSRF token header (both directions).
    pub(crate) const ANTI_CSRF_HEADER: &str = "anti-csrf";
    /// Recipe-id request header (the `ViaCustomHeader` check).
    pub(crate) const RID_HEADER: &str = "rid";
    /// Requested transfer method at session creation.
    pub(crate) const AUTH_MODE_HEADER: &str = "st-auth-mode";
    /// Header-mode access token (response).
    pub(crate) const ACCESS_TOKEN_HEADER: &str = "st-access-token";
    /// Header-mode refresh token (response).
    pub(crate) const REFRESH_TOKEN_HEADER: &str = "st-refresh-token";
}
