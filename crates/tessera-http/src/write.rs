//! Writing token changes onto a response (FDI §1–4, §6).
//!
//! Handlers and routes queue [`Mutation`]s; at the end of the request the
//! adapter asks the [`RequestContext`](crate::RequestContext) to fold them,
//! in order, into one [`Writes`] set of cookies and headers, and applies
//! that once to its response through [`ResponseHeaders`]. A
//! later mutation overrides an earlier one for the same cookie or header, so
//! "clear the other method, then attach the new tokens" and "attach, then
//! clear on error" both come out right.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use cookie::time::OffsetDateTime;
use cookie::{Cookie, Expiration};

use crate::config::{TokenTransferMethod, TransportConfig};
use crate::names::{
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_TOKEN_COOKIE, ACCESS_TOKEN_HEADER, ANTI_CSRF_HEADER,
    CACHE_CONTROL, FRONT_TOKEN_HEADER, LEGACY_ID_REFRESH_TOKEN_COOKIE, REFRESH_TOKEN_COOKIE,
    REFRESH_TOKEN_HEADER, SET_COOKIE,
};

/// The access-token cookie lives a year whatever the JWT's `exp` (FDI §1):
/// the JWT's expiry is enforced on verify, and a present-but-expired cookie
/// tells the client a refresh may work.
const ACCESS_COOKIE_LIFETIME_MS: u64 = 31_536_000_000;

/// One change to a response's tokens.
pub(crate) enum Mutation {
    /// Clear one transfer method's tokens (FDI §2): expired cookies or empty
    /// headers, `front-token: remove`, no `anti-csrf`.
    Clear(TokenTransferMethod),
    /// A new access token and its `front-token`.
    AccessToken {
        method: TokenTransferMethod,
        token: String,
        front_token: String,
    },
    /// A new refresh token.
    RefreshToken {
        method: TokenTransferMethod,
        token: String,
        expiry_ms: u64,
    },
    /// The session's anti-CSRF token (`ViaToken`, cookie mode).
    AntiCsrf(String),
    /// Expire the legacy `sIdRefreshToken` cookie (`Path=/`).
    ClearLegacyIdRefreshToken,
    /// Expire a duplicated session cookie on `older_cookie_domain`.
    ClearOnOlderDomain { name: &'static str, domain: String },
}

impl fmt::Debug for Mutation {
    // Tokens never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Clear(m) => f.debug_tuple("Clear").field(m).finish(),
            Self::AccessToken { method, .. } => f
                .debug_struct("AccessToken")
                .field("method", method)
                .finish_non_exhaustive(),
            Self::RefreshToken {
                method, expiry_ms, ..
            } => f
                .debug_struct("RefreshToken")
                .field("method", method)
                .field("expiry_ms", expiry_ms)
                .finish_non_exhaustive(),
            Self::AntiCsrf(_) => f.write_str("AntiCsrf(<redacted>)"),
            Self::ClearLegacyIdRefreshToken => f.write_str("ClearLegacyIdRefreshToken"),
            Self::ClearOnOlderDomain { name, domain } => f
                .debug_struct("ClearOnOlderDomain")
                .field("name", name)
                .field("domain", domain)
                .finish(),
        }
    }
}

/// The mutations that send a created or refreshed session in `method`
/// (FDI §7 step 7): `front-token` and the access token, the refresh token,
/// and the anti-CSRF token when the session has one.
pub(crate) fn attach(
    method: TokenTransferMethod,
    created: &tessera::CreatedSession,
) -> Vec<Mutation> {
    let mut out = vec![
        Mutation::AccessToken {
            method,
            token: created.access_token.token.clone(),
            front_token: created.access_token.front_token.clone(),
        },
        Mutation::RefreshToken {
            method,
            token: created.refresh_token.token.clone(),
            expiry_ms: created.refresh_token.expiry_ms,
        },
    ];
    if let Some(t) = &created.anti_csrf_token {
        out.push(Mutation::AntiCsrf(t.clone()));
    }
    out
}

/// What happens to the `anti-csrf` response header.
#[derive(Debug, Default, PartialEq, Eq)]
enum HeaderChange {
    #[default]
    Keep,
    Set(String),
    Remove,
}

/// A response's headers as the core writes them. An adapter implements it
/// on its framework's response (header names come in lower case).
pub trait ResponseHeaders {
    /// Every value of the header `name` now on the response.
    fn values(&self, name: &str) -> Vec<String>;
    /// Adds a value; `false` if the framework cannot represent it.
    fn append(&mut self, name: &'static str, value: &str) -> bool;
    /// Replaces every value; `false` if the framework cannot represent it.
    fn insert(&mut self, name: &'static str, value: &str) -> bool;
    /// Removes the header.
    fn remove(&mut self, name: &'static str);
}

/// What a request's token changes write on its response: `Set-Cookie`
/// lines (with every attribute), token headers, `front-token`,
/// `anti-csrf`, the names for `Access-Control-Expose-Headers`, and
/// `Cache-Control: no-store` whenever anything is written.
#[derive(Debug, Default)]
pub struct Writes {
    cookies: Vec<Cookie<'static>>,
    front_token: Option<String>,
    access_header: Option<String>,
    refresh_header: Option<String>,
    anti_csrf: HeaderChange,
    expose: Vec<&'static str>,
}

impl Writes {
    /// Folds `mutations` in order.
    pub(crate) fn fold(config: &TransportConfig, mutations: Vec<Mutation>) -> Self {
        let mut out = Self::default();
        for m in mutations {
            out.mutate(config, m);
        }
        out
    }

    /// Whether nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
            && self.front_token.is_none()
            && self.access_header.is_none()
            && self.refresh_header.is_none()
            && self.anti_csrf == HeaderChange::Keep
    }

    fn mutate(&mut self, config: &TransportConfig, m: Mutation) {
        match m {
            Mutation::Clear(method) => {
                match method {
                    TokenTransferMethod::Cookie => {
                        self.cookie(session_cookie(
                            config,
                            ACCESS_TOKEN_COOKIE,
                            String::new(),
                            "/".to_owned(),
                            0,
                            config.cookie_domain.as_deref(),
                        ));
                        self.cookie(session_cookie(
                            config,
                            REFRESH_TOKEN_COOKIE,
                            String::new(),
                            config.refresh_cookie_path.clone(),
                            0,
                            config.cookie_domain.as_deref(),
                        ));
                    }
                    TokenTransferMethod::Header => {
                        self.access_header = Some(String::new());
                        self.refresh_header = Some(String::new());
                        self.expose(ACCESS_TOKEN_HEADER);
                        self.expose(REFRESH_TOKEN_HEADER);
                    }
                }
                self.anti_csrf = HeaderChange::Remove;
                self.front_token = Some("remove".to_owned());
                self.expose(FRONT_TOKEN_HEADER);
            }
            Mutation::AccessToken {
                method,
                token,
                front_token,
            } => {
                self.front_token = Some(front_token);
                self.expose(FRONT_TOKEN_HEADER);
                match method {
                    TokenTransferMethod::Cookie => {
                        if config.expose_access_token_in_cookie_mode {
                            self.access_header = Some(token.clone());
                            self.expose(ACCESS_TOKEN_HEADER);
                        }
                        self.cookie(session_cookie(
                            config,
                            ACCESS_TOKEN_COOKIE,
                            token,
                            "/".to_owned(),
                            now_ms().saturating_add(ACCESS_COOKIE_LIFETIME_MS),
                            config.cookie_domain.as_deref(),
                        ));
                    }
                    TokenTransferMethod::Header => {
                        self.access_header = Some(token);
                        self.expose(ACCESS_TOKEN_HEADER);
                    }
                }
            }
            Mutation::RefreshToken {
                method,
                token,
                expiry_ms,
            } => match method {
                TokenTransferMethod::Cookie => self.cookie(session_cookie(
                    config,
                    REFRESH_TOKEN_COOKIE,
                    token,
                    config.refresh_cookie_path.clone(),
                    expiry_ms,
                    config.cookie_domain.as_deref(),
                )),
                TokenTransferMethod::Header => {
                    self.refresh_header = Some(token);
                    self.expose(REFRESH_TOKEN_HEADER);
                }
            },
            Mutation::AntiCsrf(token) => {
                self.anti_csrf = HeaderChange::Set(token);
                self.expose(ANTI_CSRF_HEADER);
            }
            Mutation::ClearLegacyIdRefreshToken => self.cookie(session_cookie(
                config,
                LEGACY_ID_REFRESH_TOKEN_COOKIE,
                String::new(),
                "/".to_owned(),
                0,
                config.cookie_domain.as_deref(),
            )),
            Mutation::ClearOnOlderDomain { name, domain } => {
                let path = if name == REFRESH_TOKEN_COOKIE {
                    config.refresh_cookie_path.clone()
                } else {
                    "/".to_owned()
                };
                self.cookie(session_cookie(
                    config,
                    name,
                    String::new(),
                    path,
                    0,
                    Some(domain.as_str()),
                ));
            }
        }
    }

    /// Adds a cookie, replacing an earlier one with the same name, path and
    /// domain (the later write wins, as it would in the browser).
    fn cookie(&mut self, c: Cookie<'static>) {
        self.cookies.retain(|old| {
            !(old.name() == c.name() && old.path() == c.path() && old.domain() == c.domain())
        });
        self.cookies.push(c);
    }

    fn expose(&mut self, name: &'static str) {
        if !self.expose.contains(&name) {
            self.expose.push(name);
        }
    }

    /// The `Set-Cookie` values, in order.
    pub fn set_cookies(&self) -> impl Iterator<Item = String> + '_ {
        self.cookies.iter().map(|c| c.encoded().to_string())
    }

    /// Writes everything onto the response headers, plus
    /// `Access-Control-Expose-Headers` and `Cache-Control: no-store`.
    pub fn apply(self, headers: &mut impl ResponseHeaders) {
        if self.is_empty() {
            return;
        }
        for c in &self.cookies {
            if !headers.append(SET_COOKIE, &c.encoded().to_string()) {
                tracing::error!(target: "tessera::transport", cookie = c.name(), "cookie not representable as a header; check cookie_domain");
            }
        }
        set(headers, FRONT_TOKEN_HEADER, self.front_token);
        set(headers, ACCESS_TOKEN_HEADER, self.access_header);
        set(headers, REFRESH_TOKEN_HEADER, self.refresh_header);
        match self.anti_csrf {
            HeaderChange::Keep => {}
            HeaderChange::Set(v) => set(headers, ANTI_CSRF_HEADER, Some(v)),
            HeaderChange::Remove => {
                headers.remove(ANTI_CSRF_HEADER);
            }
        }
        if !self.expose.is_empty() {
            let mut names: Vec<String> = headers
                .values(ACCESS_CONTROL_EXPOSE_HEADERS)
                .iter()
                .flat_map(|v| v.split(','))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            for n in self.expose {
                if !names.iter().any(|have| have.eq_ignore_ascii_case(n)) {
                    names.push(n.to_owned());
                }
            }
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, &names.join(","));
        }
        // Tokens must never sit in a shared cache.
        headers.insert(CACHE_CONTROL, "no-store");
    }
}

fn set(headers: &mut impl ResponseHeaders, name: &'static str, value: Option<String>) {
    let Some(value) = value else { return };
    if !headers.insert(name, &value) {
        tracing::error!(target: "tessera::transport", header = name, "token not representable as a header value");
    }
}

/// A session cookie with the configured attributes; `expires_ms == 0`
/// expires it (1970).
fn session_cookie(
    config: &TransportConfig,
    name: &'static str,
    value: String,
    path: String,
    expires_ms: u64,
    domain: Option<&str>,
) -> Cookie<'static> {
    let mut c = Cookie::build((name, value))
        .http_only(true)
        .secure(config.cookie_secure)
        .same_site(config.cookie_same_site.to_cookie())
        .path(path)
        .expires(expiration(expires_ms));
    if let Some(d) = domain.filter(|d| !d.is_empty()) {
        c = c.domain(d.to_owned());
    }
    c.build()
}

fn expiration(ms: u64) -> Expiration {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    match OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => Expiration::DateTime(t),
        // Beyond the year 9999: a session cookie is the closest we can say.
        Err(_) => Expiration::Session,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Response headers on a plain vector.
    #[derive(Debug, Default)]
    pub(crate) struct HeaderMap(pub(crate) Vec<(String, String)>);

    impl ResponseHeaders for HeaderMap {
        fn values(&self, name: &str) -> Vec<String> {
            self.0
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .collect()
        }
        fn append(&mut self, name: &'static str, value: &str) -> bool {
            self.0.push((name.to_owned(), value.to_owned()));
            true
        }
        fn insert(&mut self, name: &'static str, value: &str) -> bool {
            self.remove(name);
            self.append(name, value)
        }
        fn remove(&mut self, name: &'static str) {
            self.0.retain(|(n, _)| n != name);
        }
    }

    impl HeaderMap {
        pub(crate) fn new() -> Self {
            Self::default()
        }
        pub(crate) fn get(&self, name: &str) -> Option<String> {
            self.values(name).into_iter().next()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    fn set_cookies(h: &HeaderMap) -> Vec<String> {
        h.values(SET_COOKIE)
    }

    #[test]
    fn clearing_cookie_mode_expires_both_cookies_with_the_same_attributes() {
        let cfg = TransportConfig {
            cookie_domain: Some("example.com".into()),
            ..TransportConfig::default()
        };
        let mut h = HeaderMap::new();
        h.insert(ANTI_CSRF_HEADER, "x");
        Writes::fold(&cfg, vec![Mutation::Clear(TokenTransferMethod::Cookie)]).apply(&mut h);
        let cookies = set_cookies(&h);
        assert_eq!(cookies.len(), 2);
        for c in &cookies {
            assert!(c.contains("HttpOnly"), "{c}");
            assert!(c.contains("SameSite=Lax"), "{c}");
            assert!(c.contains("Secure"), "{c}");
            assert!(c.contains("Domain=example.com"), "{c}");
            assert!(c.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"), "{c}");
        }
        assert!(cookies[0].starts_with("sAccessToken=;") && cookies[0].contains("Path=/;"));
        assert!(
            cookies[1].starts_with("sRefreshToken=;")
                && cookies[1].contains("Path=/auth/session/refresh")
        );
        assert_eq!(h.get("front-token").unwrap(), "remove");
        assert!(h.get(ANTI_CSRF_HEADER).is_none());
        assert_eq!(h.get(CACHE_CONTROL).unwrap(), "no-store");
    }

    #[test]
    fn clearing_header_mode_sends_empty_token_headers() {
        let mut h = HeaderMap::new();
        Writes::fold(
            &TransportConfig::default(),
            vec![Mutation::Clear(TokenTransferMethod::Header)],
        )
        .apply(&mut h);
        assert_eq!(h.get("st-access-token").unwrap(), "");
        assert_eq!(h.get("st-refresh-token").unwrap(), "");
        assert_eq!(h.get("front-token").unwrap(), "remove");
        assert_eq!(
            h.get(ACCESS_CONTROL_EXPOSE_HEADERS).unwrap(),
            "st-access-token,st-refresh-token,front-token"
        );
        assert!(h.get(SET_COOKIE).is_none());
    }

    #[test]
    fn attach_after_clear_wins() {
        let mut h = HeaderMap::new();
        Writes::fold(
            &TransportConfig::default(),
            vec![
                Mutation::Clear(TokenTransferMethod::Cookie),
                Mutation::AccessToken {
                    method: TokenTransferMethod::Cookie,
                    token: "a.b.c".into(),
                    front_token: "ft".into(),
                },
                Mutation::AntiCsrf("csrf".into()),
            ],
        )
        .apply(&mut h);
        let cookies = set_cookies(&h);
        assert_eq!(cookies.len(), 2);
        assert!(cookies.iter().any(|c| c.starts_with("sAccessToken=a.b.c;")));
        assert_eq!(h.get("front-token").unwrap(), "ft");
        assert_eq!(h.get("anti-csrf").unwrap(), "csrf");
    }

    #[test]
    fn expose_headers_merge_with_an_existing_value() {
        let mut h = HeaderMap::new();
        h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, "x-request-id, Front-Token");
        Writes::fold(
            &TransportConfig::default(),
            vec![Mutation::AccessToken {
                method: TokenTransferMethod::Header,
                token: "a.b.c".into(),
                front_token: "ft".into(),
            }],
        )
        .apply(&mut h);
        assert_eq!(
            h.get(ACCESS_CONTROL_EXPOSE_HEADERS).unwrap(),
            "x-request-id,Front-Token,st-access-token"
        );
    }

    #[test]
    fn nothing_queued_writes_nothing() {
        let mut h = HeaderMap::new();
        Writes::fold(&TransportConfig::default(), vec![]).apply(&mut h);
        assert!(h.is_empty());
    }
}
