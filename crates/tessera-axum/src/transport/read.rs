//! Reading tokens and protocol headers from a request (FDI §4).

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

use super::names::{AUTH_MODE_HEADER, RID_HEADER};
use crate::config::TokenTransferMethod;

/// Every value of the cookie `name`, percent-decoded, in request order.
///
/// One pass over the `Cookie` headers with no allocation for the cookies
/// that are not asked for: names are compared as sent (SuperTokens' frontend
/// never percent-encodes a cookie name), and only a matching value is
/// decoded, and only when it contains `%`. This is on every request's path;
/// decoding every cookie of the header (the `cookie` crate's parser) cost
/// ~1.5 µs per request for an 800-byte token (bench/load's profile). Pairs
/// without `=` are skipped, as SuperTokens' duplicate check skips them.
pub(crate) fn cookie_values(headers: &HeaderMap, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for header in headers.get_all(COOKIE) {
        let Ok(raw) = header.to_str() else { continue };
        for pair in raw.split(';') {
            let Some((n, v)) = pair.split_once('=') else {
                continue;
            };
            if n.trim() != name {
                continue;
            }
            let v = v.trim();
            if v.contains('%') {
                match percent_encoding::percent_decode_str(v).decode_utf8() {
                    Ok(decoded) => out.push(decoded.into_owned()),
                    Err(_) => continue,
                }
            } else {
                out.push(v.to_owned());
            }
        }
    }
    out
}

/// The cookie `name` (the last one, as Starlette's parser keeps), if
/// present and not empty.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    cookie_values(headers, name).pop().filter(|v| !v.is_empty())
}

/// Whether the cookie `name` is present at all (even empty).
pub(crate) fn has_cookie(headers: &HeaderMap, name: &str) -> bool {
    !cookie_values(headers, name).is_empty()
}

/// The token of `Authorization: Bearer <token>`: the exact, case-sensitive
/// prefix `Bearer ` (one space), the rest trimmed; `None` for any other
/// value or an empty token.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then_some(token)
}

/// The `st-auth-mode` request header, lower-cased, if it names a method.
pub(crate) fn auth_mode(headers: &HeaderMap) -> Option<TokenTransferMethod> {
    let value = headers.get(AUTH_MODE_HEADER)?.to_str().ok()?;
    match value.trim().to_ascii_lowercase().as_str() {
        "cookie" => Some(TokenTransferMethod::Cookie),
        "header" => Some(TokenTransferMethod::Header),
        _ => None,
    }
}

/// Whether the `rid` header is present (any value, `anti-csrf` included).
pub(crate) fn has_rid(headers: &HeaderMap) -> bool {
    headers.contains_key(RID_HEADER)
}

/// A header's value as text.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
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
