//! What the core reads of a request ([`RequestView`]), and the token and
//! protocol-header readers built on it (FDI §4).

use std::borrow::Cow;

use crate::config::TokenTransferMethod;
use crate::names::{
    ACCESS_TOKEN_COOKIE, AUTH_MODE_HEADER, AUTHORIZATION, COOKIE, LEGACY_ID_REFRESH_TOKEN_COOKIE,
    RID_HEADER,
};

/// A request as the FDI core sees it. An adapter implements it on its
/// framework's request type (a few lines: see `tessera-axum` and
/// `tessera-actix`).
///
/// Header names are asked for in lower case.
///
/// ```
/// use tessera_http::RequestView;
///
/// struct Plain {
///     method: &'static str,
///     path: &'static str,
///     headers: Vec<(&'static str, &'static str)>,
/// }
///
/// impl RequestView for Plain {
///     fn method(&self) -> &str {
///         self.method
///     }
///     fn path(&self) -> &str {
///         self.path
///     }
///     fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
///         self.headers
///             .iter()
///             .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
///             .map(|(_, v)| *v)
///     }
/// }
/// ```
pub trait RequestView {
    /// The method as sent (`GET`, `POST` …).
    fn method(&self) -> &str;

    /// The path (no query).
    fn path(&self) -> &str;

    /// Every value of the header `name`, in request order; values that are
    /// not text are left out.
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a;

    /// The first value of the header `name`.
    fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.header_values(name).next()
    }

    /// Every value of the header `name` as bytes, in request order. The
    /// default is [`header_values`](Self::header_values); an adapter whose
    /// framework keeps header values as bytes returns them all, unchecked:
    /// the cookie reader then checks only the values it uses (the access
    /// token not at all when the verified-token cache holds those bytes)
    /// instead of the whole ~800-byte `Cookie` header on every request.
    fn header_bytes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.header_values(name).map(str::as_bytes)
    }
}

/// Calls `f(name, value)` for every `name=value` pair of every `Cookie`
/// header ([`RequestView::header_bytes`]), in request order, name and value
/// trimmed of ASCII whitespace and not decoded.
///
/// One pass with no allocation: the pairs are found with `memchr` (SIMD),
/// which matters because the access token makes the header ~800 bytes and
/// this is on every request's path (bench/load's profile: splitting with
/// `str::split` cost ~3,000 instructions per request, the `cookie` crate's
/// parser ~1.5 µs). Pairs without `=` are skipped, as SuperTokens'
/// duplicate check skips them.
fn for_each_cookie<'a>(req: &'a impl RequestView, mut f: impl FnMut(&'a [u8], &'a [u8])) {
    for bytes in req.header_bytes(COOKIE) {
        let mut start = 0;
        while start <= bytes.len() {
            let end = memchr::memchr(b';', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let pair = &bytes[start..end];
            if let Some(eq) = memchr::memchr(b'=', pair) {
                f(pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
            }
            start = end + 1;
        }
    }
}

/// A cookie value, percent-decoded when it holds a `%` (names are compared
/// as sent: SuperTokens' frontend never percent-encodes a cookie name);
/// `None` when the (decoded) bytes are not UTF-8 (such a cookie is ignored).
fn decode_cookie_value(value: &[u8]) -> Option<Cow<'_, str>> {
    if memchr::memchr(b'%', value).is_none() {
        return std::str::from_utf8(value).ok().map(Cow::Borrowed);
    }
    percent_encoding::percent_decode(value).decode_utf8().ok()
}

/// The access token's cookie value as [`decode_cookie_value`] would give
/// it, except that a value without `%` is returned as bytes, not yet
/// checked as UTF-8: the engine's
/// [`access_token_candidate_bytes`](tessera::SessionManager::access_token_candidate_bytes)
/// checks it only if the verified-token cache does not hold those bytes (a
/// value that is not UTF-8 is then no candidate: ignored, as here).
fn access_token_bytes(value: &[u8]) -> Option<Cow<'_, [u8]>> {
    if memchr::memchr(b'%', value).is_none() {
        return Some(Cow::Borrowed(value));
    }
    decode_cookie_value(value).map(text_as_bytes)
}

/// A decoded cookie value as bytes, still borrowed if it was.
fn text_as_bytes(text: Cow<'_, str>) -> Cow<'_, [u8]> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// Every value of the cookie `name`, percent-decoded, in request order.
///
/// Only a matching value is decoded, and only when it contains `%`; see
/// `for_each_cookie` (private) for the pass itself.
pub fn cookie_values(req: &impl RequestView, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_cookie(req, |n, v| {
        if n == name.as_bytes()
            && let Some(decoded) = decode_cookie_value(v)
        {
            out.push(decoded.into_owned());
        }
    });
    out
}

/// What the verify path needs of the `Cookie` headers, read in one pass
/// ([`session_cookies`]).
#[derive(Debug, Default)]
pub(crate) struct SessionCookies<'a> {
    /// A legacy `sIdRefreshToken` cookie is present (even empty).
    pub(crate) legacy_id_refresh_token: bool,
    /// The last `sAccessToken` cookie, decoded (borrowed unless it held a
    /// `%`); when it is the only one and held no `%`, its bytes are not
    /// checked as UTF-8 here (see `access_token_bytes`).
    pub(crate) access_token: Option<Cow<'a, [u8]>>,
    /// How many `sAccessToken` cookies were sent (that decode to UTF-8,
    /// when there are several).
    pub(crate) access_token_count: usize,
}

/// Reads the legacy `sIdRefreshToken` and the `sAccessToken` cookies in
/// one pass: the same answers as `has_cookie(sIdRefreshToken)` and
/// `cookie_values(sAccessToken)`, without a second pass or a copy.
pub(crate) fn session_cookies(req: &impl RequestView) -> SessionCookies<'_> {
    let mut found = SessionCookies::default();
    let mut last = None;
    let mut sent = 0;
    for_each_cookie(req, |n, v| {
        if n == ACCESS_TOKEN_COOKIE.as_bytes() {
            last = Some(v);
            sent += 1;
        } else if n == LEGACY_ID_REFRESH_TOKEN_COOKIE.as_bytes() && decode_cookie_value(v).is_some()
        {
            found.legacy_id_refresh_token = true;
        }
    });
    if sent == 1 {
        found.access_token = last.and_then(access_token_bytes);
        found.access_token_count = usize::from(found.access_token.is_some());
    } else if sent > 1 {
        // Rare (a stale cookie on another domain): count, as
        // `cookie_values` does, the values that decode to UTF-8.
        for_each_cookie(req, |n, v| {
            if n == ACCESS_TOKEN_COOKIE.as_bytes()
                && let Some(decoded) = decode_cookie_value(v)
            {
                found.access_token = Some(text_as_bytes(decoded));
                found.access_token_count += 1;
            }
        });
    }
    found
}

/// The cookie `name` (the last one, as Starlette's parser keeps), if
/// present and not empty.
pub fn cookie_value(req: &impl RequestView, name: &str) -> Option<String> {
    cookie_values(req, name).pop().filter(|v| !v.is_empty())
}

/// Whether the cookie `name` is present at all (even empty).
pub(crate) fn has_cookie(req: &impl RequestView, name: &str) -> bool {
    !cookie_values(req, name).is_empty()
}

/// The token of `Authorization: Bearer <token>`: the exact, case-sensitive
/// prefix `Bearer ` (one space), the rest trimmed; `None` for any other
/// value or an empty token.
pub(crate) fn bearer_token(req: &impl RequestView) -> Option<&str> {
    let token = req.header(AUTHORIZATION)?.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then_some(token)
}

/// The `st-auth-mode` request header, lower-cased, if it names a method.
pub(crate) fn auth_mode(req: &impl RequestView) -> Option<TokenTransferMethod> {
    match req
        .header(AUTH_MODE_HEADER)?
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "cookie" => Some(TokenTransferMethod::Cookie),
        "header" => Some(TokenTransferMethod::Header),
        _ => None,
    }
}

/// Whether the request comes from a browser: it carries `Sec-Fetch-Mode`
/// or `Sec-Fetch-Dest` (fetch metadata, sent by current browsers to secure
/// origins, `localhost` included).
pub(crate) fn is_browser(req: &impl RequestView) -> bool {
    req.header("sec-fetch-mode").is_some() || req.header("sec-fetch-dest").is_some()
}

/// Whether the `rid` header is present (any value, `anti-csrf` included).
pub(crate) fn has_rid(req: &impl RequestView) -> bool {
    req.header(RID_HEADER).is_some()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A request on plain vectors: the core's tests need no framework.
    #[derive(Debug, Default, Clone)]
    pub(crate) struct Req {
        pub(crate) method: String,
        pub(crate) path: String,
        pub(crate) headers: Vec<(String, String)>,
    }

    impl Req {
        pub(crate) fn new(method: &str, path: &str) -> Self {
            Self {
                method: method.into(),
                path: path.into(),
                headers: Vec::new(),
            }
        }
        pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
            self.headers.push((name.to_ascii_lowercase(), value.into()));
            self
        }
    }

    impl RequestView for Req {
        fn method(&self) -> &str {
            &self.method
        }
        fn path(&self) -> &str {
            &self.path
        }
        fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
            self.headers
                .iter()
                .filter(move |(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> Req {
        pairs
            .iter()
            .fold(Req::new("GET", "/"), |r, (k, v)| r.header(k, v))
    }

    #[test]
    fn bearer_needs_the_exact_prefix() {
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "bearer abc")])),
            None
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Bearer ")])),
            None
        );
    }

    #[test]
    fn cookies_are_percent_decoded_and_duplicates_counted() {
        let h = headers(&[
            ("cookie", "a=1; sAccessToken=x%2Ey; sAccessToken=z"),
            ("cookie", "b=2"),
        ]);
        assert_eq!(cookie_values(&h, "sAccessToken"), vec!["x.y", "z"]);
        assert_eq!(cookie_value(&h, "sAccessToken").as_deref(), Some("z"));
        assert_eq!(cookie_value(&h, "b").as_deref(), Some("2"));
        assert!(!has_cookie(&h, "sIdRefreshToken"));
    }

    #[test]
    fn one_pass_finds_the_legacy_cookie_and_the_last_access_token() {
        let h = headers(&[
            ("cookie", "a=1; sAccessToken=x%2Ey;sIdRefreshToken=; junk"),
            ("cookie", "sAccessToken=z ; b=2"),
        ]);
        let found = session_cookies(&h);
        assert!(found.legacy_id_refresh_token);
        assert_eq!(found.access_token_count, 2);
        assert_eq!(found.access_token.as_deref(), Some(&b"z"[..]));
        assert!(matches!(found.access_token, Some(Cow::Borrowed(_))));

        let h = headers(&[("cookie", "sAccessToken=x%2Ey")]);
        let decoded = session_cookies(&h);
        assert_eq!(decoded.access_token.as_deref(), Some(&b"x.y"[..]));
        assert!(!decoded.legacy_id_refresh_token);
    }

    #[test]
    fn one_pass_agrees_with_the_per_name_readers() {
        for cookie in [
            "",
            ";",
            "sAccessToken",
            "sAccessToken=",
            " sAccessToken = t ; sAccessToken=u;",
            "sAccessToken=%FF; sIdRefreshToken=%FF",
            "sIdRefreshToken=%41; x=sAccessToken=v",
            "sAccessTokenX=1; XsAccessToken=2",
        ] {
            let h = headers(&[("cookie", cookie)]);
            let found = session_cookies(&h);
            let values = cookie_values(&h, ACCESS_TOKEN_COOKIE);
            assert_eq!(found.access_token_count, values.len(), "{cookie:?}");
            assert_eq!(
                found.access_token.as_deref(),
                values.last().map(String::as_bytes),
                "{cookie:?}"
            );
            assert_eq!(
                found.legacy_id_refresh_token,
                has_cookie(&h, LEGACY_ID_REFRESH_TOKEN_COOKIE),
                "{cookie:?}"
            );
        }
    }

    #[test]
    fn empty_cookie_counts_as_present_but_has_no_value() {
        let h = headers(&[("cookie", "sIdRefreshToken=")]);
        assert!(has_cookie(&h, "sIdRefreshToken"));
        assert_eq!(cookie_value(&h, "sIdRefreshToken"), None);
    }

    #[test]
    fn auth_mode_is_case_insensitive() {
        assert_eq!(
            auth_mode(&headers(&[("st-auth-mode", "Cookie")])),
            Some(TokenTransferMethod::Cookie)
        );
        assert_eq!(
            auth_mode(&headers(&[("st-auth-mode", "header")])),
            Some(TokenTransferMethod::Header)
        );
        assert_eq!(auth_mode(&headers(&[("st-auth-mode", "both")])), None);
    }
}
