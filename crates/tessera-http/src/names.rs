//! Cookie and header names of SuperTokens' session protocol (FDI §0), and
//! the standard response headers the core writes.

/// Access-token cookie.
pub const ACCESS_TOKEN_COOKIE: &str = "sAccessToken";
/// Refresh-token cookie (sent only to the refresh path).
pub const REFRESH_TOKEN_COOKIE: &str = "sRefreshToken";
/// Legacy cookie: only ever cleared, and it makes verification ask for a
/// refresh.
pub const LEGACY_ID_REFRESH_TOKEN_COOKIE: &str = "sIdRefreshToken";
/// Response header with the front token, or `remove`.
pub const FRONT_TOKEN_HEADER: &str = "front-token";
/// Anti-CSRF token header (both directions).
pub const ANTI_CSRF_HEADER: &str = "anti-csrf";
/// Recipe-id request header (the `ViaCustomHeader` check).
pub const RID_HEADER: &str = "rid";
/// Requested transfer method at session creation.
pub const AUTH_MODE_HEADER: &str = "st-auth-mode";
/// Header-mode access token (response).
pub const ACCESS_TOKEN_HEADER: &str = "st-access-token";
/// Header-mode refresh token (response).
pub const REFRESH_TOKEN_HEADER: &str = "st-refresh-token";
/// The SDK's FDI version request header.
pub const FDI_VERSION_HEADER: &str = "fdi-version";
/// `Authorization` (request).
pub const AUTHORIZATION: &str = "authorization";
/// `Cookie` (request).
pub const COOKIE: &str = "cookie";
/// `User-Agent` (request).
pub const USER_AGENT: &str = "user-agent";
/// `Set-Cookie` (response).
pub const SET_COOKIE: &str = "set-cookie";
/// `Cache-Control` (response).
pub const CACHE_CONTROL: &str = "cache-control";
/// `Access-Control-Expose-Headers` (response).
pub const ACCESS_CONTROL_EXPOSE_HEADERS: &str = "access-control-expose-headers";

/// The request headers supertokens-website sends, for a CORS allow-list
/// (besides `content-type`).
pub const CORS_ALLOWED_HEADERS: &[&str] = &[
    RID_HEADER,
    FDI_VERSION_HEADER,
    ANTI_CSRF_HEADER,
    AUTH_MODE_HEADER,
    AUTHORIZATION,
    "content-type",
];

/// The response headers supertokens-website must read, for CORS'
/// `Access-Control-Expose-Headers`.
pub const CORS_EXPOSED_HEADERS: &[&str] = &[
    FRONT_TOKEN_HEADER,
    ANTI_CSRF_HEADER,
    ACCESS_TOKEN_HEADER,
    REFRESH_TOKEN_HEADER,
];
