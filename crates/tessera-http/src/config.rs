//! Transport settings of the FDI ([`Fdi`](crate::Fdi)): cookie
//! attributes, the API base path, status codes, the transfer-method policy.
//! Token rules (lifetimes, anti-CSRF tokens, blacklisting …) are the
//! engine's, in [`tessera::Config`].

use std::fmt;
use std::sync::Arc;

use crate::claims::ClaimValidator;

/// The `SameSite` attribute of the session cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax` (the default: same-site API and website).
    #[default]
    Lax,
    /// `SameSite=None`: cross-site API. Browsers require `Secure` with it,
    /// and anti-CSRF defaults to `ViaCustomHeader` (FDI §5).
    None,
}

impl SameSite {
    /// The `cookie` crate's value.
    pub(crate) fn to_cookie(self) -> cookie::SameSite {
        match self {
            Self::Strict => cookie::SameSite::Strict,
            Self::Lax => cookie::SameSite::Lax,
            Self::None => cookie::SameSite::None,
        }
    }
}

/// Where a session's tokens travel: cookies, or the `Authorization` header
/// and `st-access-token`/`st-refresh-token` response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenTransferMethod {
    /// `sAccessToken` / `sRefreshToken` cookies.
    Cookie,
    /// `Authorization: Bearer` in, `st-access-token` / `st-refresh-token` out.
    Header,
}

impl TokenTransferMethod {
    /// The other method.
    pub fn other(self) -> Self {
        match self {
            Self::Cookie => Self::Header,
            Self::Header => Self::Cookie,
        }
    }

    /// `"cookie"` or `"header"`, as in `st-auth-mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Header => "header",
        }
    }
}

/// Which transfer methods the layer accepts and issues (SuperTokens'
/// `get_token_transfer_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenTransferPolicy {
    /// The default: read tokens from either method (a well-formed header
    /// token wins); create cookie-mode sessions iff the request says
    /// `st-auth-mode: cookie`, header-mode otherwise (FDI §4).
    #[default]
    Any,
    /// Only cookies, whatever the request asks.
    Cookie,
    /// Only headers, whatever the request asks.
    Header,
    /// Cookies for browsers, headers for the rest: read either method;
    /// create as `st-auth-mode` says when the request says it (the SDKs
    /// always do), else cookies when the request comes from a browser and
    /// headers otherwise. A browser is recognised by the `Sec-Fetch-Mode`
    /// or `Sec-Fetch-Dest` request header, which current browsers (Chrome
    /// 76+, Firefox 90+, Safari 16.4+) send on every request to a secure
    /// origin (HTTPS, or `localhost`) and no common HTTP library sends.
    /// This is what a plain server-rendered or HTMX app wants: under
    /// [`Any`](Self::Any) (SuperTokens' rule) a form login without the SDK
    /// gets header-mode tokens, which the browser drops.
    CookieForBrowsers,
}

impl TokenTransferPolicy {
    /// Whether tokens may travel in `method`.
    pub fn allows(self, method: TokenTransferMethod) -> bool {
        match self {
            Self::Any | Self::CookieForBrowsers => true,
            Self::Cookie => method == TokenTransferMethod::Cookie,
            Self::Header => method == TokenTransferMethod::Header,
        }
    }
}

/// The transport settings; see the builder methods on [`Fdi`](crate::Fdi).
#[derive(Clone)]
pub(crate) struct TransportConfig {
    pub(crate) api_base_path: String,
    pub(crate) refresh_path: String,
    /// The refresh cookie's `Path`: the refresh path, or the base path when
    /// tenant-prefixed refresh routes are on (so that it covers them).
    pub(crate) refresh_cookie_path: String,
    pub(crate) tenant_refresh_routes: bool,
    pub(crate) cookie_domain: Option<String>,
    pub(crate) older_cookie_domain: Option<String>,
    pub(crate) cookie_secure: bool,
    pub(crate) cookie_same_site: SameSite,
    pub(crate) session_expired_status: u16,
    pub(crate) invalid_claim_status: u16,
    pub(crate) anti_csrf: Option<tessera::AntiCsrfMode>,
    pub(crate) transfer_policy: TokenTransferPolicy,
    pub(crate) expose_access_token_in_cookie_mode: bool,
    pub(crate) claim_validators: Vec<Arc<dyn ClaimValidator>>,
    pub(crate) refresh_model: tessera::RefreshModel,
}

impl fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportConfig")
            .field("api_base_path", &self.api_base_path)
            .field("cookie_domain", &self.cookie_domain)
            .field("older_cookie_domain", &self.older_cookie_domain)
            .field("cookie_secure", &self.cookie_secure)
            .field("cookie_same_site", &self.cookie_same_site)
            .field("session_expired_status", &self.session_expired_status)
            .field("invalid_claim_status", &self.invalid_claim_status)
            .field("anti_csrf", &self.anti_csrf)
            .field("transfer_policy", &self.transfer_policy)
            .field(
                "expose_access_token_in_cookie_mode",
                &self.expose_access_token_in_cookie_mode,
            )
            .field("claim_validators", &self.claim_validators.len())
            .field("refresh_model", &self.refresh_model)
            .finish()
    }
}

/// The default API base path, as in SuperTokens.
pub const DEFAULT_API_BASE_PATH: &str = "/auth";

impl Default for TransportConfig {
    fn default() -> Self {
        let api_base_path = DEFAULT_API_BASE_PATH.to_owned();
        Self {
            refresh_path: refresh_path(&api_base_path),
            refresh_cookie_path: refresh_path(&api_base_path),
            tenant_refresh_routes: false,
            api_base_path,
            cookie_domain: None,
            older_cookie_domain: None,
            // Secure by default: the session cookies never travel over plain
            // HTTP unless the application says so (a localhost demo).
            cookie_secure: true,
            cookie_same_site: SameSite::Lax,
            session_expired_status: 401,
            invalid_claim_status: 403,
            anti_csrf: None,
            transfer_policy: TokenTransferPolicy::Any,
            expose_access_token_in_cookie_mode: false,
            claim_validators: Vec::new(),
            refresh_model: tessera::RefreshModel::RotateAtRefresh,
        }
    }
}

/// What the API and website domains imply for the session cookies, as
/// SuperTokens derives it (`recipe/session/utils.js` of supertokens-node):
/// `Secure` iff the API is served over HTTPS; `SameSite=None` iff the two
/// differ in scheme or in their site (the registrable domain: the last two
/// labels here, see below; `localhost` and IP addresses are their own
/// site), `Lax` otherwise; and with `None`, anti-CSRF by custom header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainCookieSettings {
    /// The `Secure` attribute.
    pub secure: bool,
    /// The `SameSite` attribute.
    pub same_site: SameSite,
}

/// Derives [`DomainCookieSettings`] from the API and website origins
/// (`https://api.example.com`, `http://localhost:3000` …; a missing scheme
/// means `https`).
///
/// Refuses the one combination browsers reject: a cross-site setup
/// (`SameSite=None`) without `Secure` where neither domain is `localhost`
/// or an IP address. Unlike SuperTokens, the site is the last two labels of
/// the host, not the public-suffix list: `a.github.io` and `b.github.io`
/// count as one site here (`Lax`); set `SameSite` explicitly for such hosts.
///
/// ```
/// use tessera_http::{SameSite, domain_cookie_settings};
///
/// let s = domain_cookie_settings("https://api.example.com", "https://example.com").unwrap();
/// assert_eq!((s.secure, s.same_site), (true, SameSite::Lax));
/// let s = domain_cookie_settings("https://api.example.com", "https://app.other.com").unwrap();
/// assert_eq!(s.same_site, SameSite::None);
/// assert!(domain_cookie_settings("http://api.example.com", "http://app.other.com").is_err());
/// ```
pub fn domain_cookie_settings(
    api_domain: &str,
    website_domain: &str,
) -> Result<DomainCookieSettings, String> {
    let (api_scheme, api_host) = split_origin(api_domain)?;
    let (web_scheme, web_host) = split_origin(website_domain)?;
    let api_site = site_of(&api_host);
    let web_site = site_of(&web_host);
    let same_site = if api_site != web_site || api_scheme != web_scheme {
        SameSite::None
    } else {
        SameSite::Lax
    };
    let secure = api_scheme == "https";
    let local = |site: &str| site == "localhost" || site.parse::<std::net::IpAddr>().is_ok();
    if same_site == SameSite::None && !secure && !local(&api_site) && !local(&web_site) {
        return Err(format!(
            "the API ({api_host}) and the website ({web_host}) are cross-site, so the session cookies need SameSite=None, which browsers accept only with Secure: serve the API over https"
        ));
    }
    Ok(DomainCookieSettings { secure, same_site })
}

/// The scheme and host of an origin, lower-cased, without port or path.
fn split_origin(origin: &str) -> Result<(String, String), String> {
    let o = origin.trim().to_ascii_lowercase();
    let (scheme, rest) = match o.split_once("://") {
        Some((s, r)) => (s.to_owned(), r.to_owned()),
        None => ("https".to_owned(), o.clone()),
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("not an http(s) origin: {origin:?}"));
    }
    let host = normalise_cookie_domain(&rest);
    let host = host.trim_start_matches('.').to_owned();
    if host.is_empty() {
        return Err(format!("no host in {origin:?}"));
    }
    Ok((scheme, host))
}

/// The site of a host: itself for `localhost` and IP addresses, else its
/// last two labels.
fn site_of(host: &str) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok() {
        return bare.to_owned();
    }
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    let n = labels.len();
    labels[n.saturating_sub(2)..].join(".")
}

/// `{base}/session/refresh`.
pub fn refresh_path(base: &str) -> String {
    format!("{base}/session/refresh")
}

/// `{base}/{tenantId}/session/refresh`, as a route pattern (the
/// `{tenantId}` segment in the syntax axum and actix-web share).
pub fn tenant_refresh_route(base: &str) -> String {
    format!("{base}/{{tenantId}}/session/refresh")
}

/// The refresh cookie's `Path` when tenant-prefixed refresh routes are on:
/// the base path (`/` for the root), which covers `{base}/session/refresh`
/// and every `{base}/{tenantId}/session/refresh`.
pub(crate) fn tenant_refresh_cookie_path(base: &str) -> String {
    if base.is_empty() {
        "/".to_owned()
    } else {
        base.to_owned()
    }
}

/// Whether `path` is a refresh route under `base`: `{base}/session/refresh`,
/// or `{base}/{tenantId}/session/refresh` with one non-empty segment.
pub(crate) fn is_refresh_route(base: &str, path: &str, tenants: bool) -> bool {
    let Some(rest) = path.strip_prefix(base) else {
        return false;
    };
    if rest == "/session/refresh" {
        return true;
    }
    tenants
        && rest
            .strip_prefix('/')
            .and_then(|r| r.strip_suffix("/session/refresh"))
            .is_some_and(|t| !t.is_empty() && !t.contains('/'))
}

/// `{base}/signout`.
pub fn signout_path(base: &str) -> String {
    format!("{base}/signout")
}

/// Normalises an API base path: a leading `/`, no trailing `/`; `""` and
/// `"/"` both mean the root (`""`).
pub fn normalise_base_path(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return String::new();
    }
    if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}

/// Normalises a cookie domain as SuperTokens does: trimmed, lower-cased,
/// scheme, port and path removed, a leading dot kept.
pub(crate) fn normalise_cookie_domain(domain: &str) -> String {
    let mut d = domain.trim().to_ascii_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = d.strip_prefix(scheme) {
            d = rest.to_owned();
        }
    }
    if let Some(i) = d.find('/') {
        d.truncate(i);
    }
    // Strip a port (not for bracketed IPv6 literals).
    if !d.starts_with('[')
        && let Some(i) = d.rfind(':')
    {
        d.truncate(i);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_site_api_and_website_get_lax_and_secure_follows_the_api_scheme() {
        let s =
            domain_cookie_settings("https://api.example.com", "https://www.example.com").unwrap();
        assert_eq!(
            s,
            DomainCookieSettings {
                secure: true,
                same_site: SameSite::Lax
            }
        );
        let s = domain_cookie_settings("http://localhost:3001", "http://localhost:3000").unwrap();
        assert_eq!(
            s,
            DomainCookieSettings {
                secure: false,
                same_site: SameSite::Lax
            }
        );
    }

    #[test]
    fn cross_site_or_cross_scheme_gets_none() {
        let s = domain_cookie_settings("https://api.example.com", "https://example.org").unwrap();
        assert_eq!(s.same_site, SameSite::None);
        assert!(s.secure);
        let s = domain_cookie_settings("https://example.com", "http://example.com").unwrap();
        assert_eq!(s.same_site, SameSite::None);
        // Local development across hosts: allowed without Secure.
        let s = domain_cookie_settings("http://127.0.0.1:3001", "http://localhost:3000").unwrap();
        assert_eq!(
            s,
            DomainCookieSettings {
                secure: false,
                same_site: SameSite::None
            }
        );
    }

    #[test]
    fn cross_site_without_secure_on_public_domains_is_refused() {
        let err =
            domain_cookie_settings("http://api.example.com", "http://app.other.com").unwrap_err();
        assert!(err.contains("https"), "{err}");
        assert!(domain_cookie_settings("ftp://x.com", "https://x.com").is_err());
        assert!(domain_cookie_settings("https://", "https://x.com").is_err());
    }

    #[test]
    fn tenant_refresh_routes_are_recognised_and_covered_by_the_cookie_path() {
        assert!(is_refresh_route("/auth", "/auth/session/refresh", false));
        assert!(!is_refresh_route(
            "/auth",
            "/auth/t1/session/refresh",
            false
        ));
        assert!(is_refresh_route("/auth", "/auth/t1/session/refresh", true));
        assert!(!is_refresh_route("/auth", "/auth//session/refresh", true));
        assert!(!is_refresh_route(
            "/auth",
            "/auth/a/b/session/refresh",
            true
        ));
        assert_eq!(
            tenant_refresh_route("/auth"),
            "/auth/{tenantId}/session/refresh"
        );
        assert_eq!(tenant_refresh_cookie_path("/auth"), "/auth");
        assert_eq!(tenant_refresh_cookie_path(""), "/");
    }

    #[test]
    fn base_path_gets_a_leading_slash_and_loses_the_trailing_one() {
        assert_eq!(normalise_base_path("auth/"), "/auth");
        assert_eq!(normalise_base_path("/api/auth"), "/api/auth");
        assert_eq!(normalise_base_path("/"), "");
        assert_eq!(refresh_path(&normalise_base_path("/")), "/session/refresh");
    }

    #[test]
    fn cookie_domain_keeps_the_leading_dot_and_drops_scheme_and_port() {
        assert_eq!(normalise_cookie_domain(" .Example.com "), ".example.com");
        assert_eq!(
            normalise_cookie_domain("https://api.example.com:8443/x"),
            "api.example.com"
        );
        assert_eq!(normalise_cookie_domain("localhost:3000"), "localhost");
    }
}
