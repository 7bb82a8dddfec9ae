//! Compact JWS (RFC 7515) for RS256 access tokens, written by hand.
//!
//! Why not `jsonwebtoken`: it parses the RSA key on every signature and
//! verification (more work than the RSA operation itself, see
//! `BENCHMARKS.md`), and SuperTokens' header carries a `version` field and a
//! `kid` that must be checked strictly. What is here is only the encoding:
//! split, base64url, header checks; the RSA work is aws-lc-rs's, with keys
//! held parsed (see `keys`).

use std::borrow::Cow;

use serde::Deserialize;

use crate::crypto::b64url_decode;
use crate::token::access::TokenVersion;

/// Longest access token accepted, in bytes. A v5 token with a generous user
/// payload is 1–2 KiB; anything far larger is refused before any parsing.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The SuperTokens access-token version tessera issues.
pub(crate) const TOKEN_VERSION: &str = "5";

/// A JWS header as far as tessera reads it. `jku`, `x5u`, `jwk` and every
/// other field are ignored: keys come only from tessera's own key set,
/// looked up by `kid`.
#[derive(Debug, Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub(crate) alg: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) kid: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) version: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) crit: Option<serde_json::Value>,
}

/// A token split into its parts, not yet verified.
#[derive(Debug)]
pub(crate) struct Parts<'t> {
    /// `header.payload`, the signed bytes.
    pub(crate) signing_input: &'t str,
    /// base64url header.
    pub(crate) header_b64: &'t str,
    /// base64url payload.
    pub(crate) payload_b64: &'t str,
    /// Decoded signature.
    pub(crate) signature: Vec<u8>,
}

/// Splits a compact JWS into exactly three base64url parts.
pub(crate) fn split(token: &str) -> Option<Parts<'_>> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let (header_b64, rest) = token.split_once('.')?;
    let (payload_b64, sig_b64) = rest.split_once('.')?;
    if sig_b64.contains('.') || header_b64.is_empty() || payload_b64.is_empty() {
        return None;
    }
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    Some(Parts {
        signing_input,
        header_b64,
        payload_b64,
        signature: b64url_decode(sig_b64)?,
    })
}

/// Parses and checks the header: `typ` is `JWT`, `version` is tessera's, a
/// `kid` is present and no `crit` extension is demanded. Returns the header;
/// the algorithm is checked against the key later.
pub(crate) fn parse_header(json: &[u8]) -> Option<Header<'_>> {
    parse_header_as(json, false).map(|(header, _)| header)
}

/// [`parse_header`], also taking — when `core_versions` (see
/// [`Config::core_token_versions`](crate::Config)) — what SuperTokens core
/// takes (`JWT.preParseJWTInfo`): `version` `"3"` or `"4"`, and a header
/// without `version`, which the core reads as the latest format (v5: a JWT
/// of its JWT recipe carrying every v5 session claim). Returns the header
/// and the token format it names. v2 tokens have a fixed header of their
/// own and never get here; `"1"`/`"2"` in a parsed header are refused, as
/// the core refuses them.
pub(crate) fn parse_header_as(
    json: &[u8],
    core_versions: bool,
) -> Option<(Header<'_>, TokenVersion)> {
    let header: Header<'_> = serde_json::from_slice(json).ok()?;
    if header.typ.as_deref() != Some("JWT") || header.crit.is_some() || header.kid.is_none() {
        return None;
    }
    let version = match &header.version {
        Some(serde_json::Value::String(v)) if v == TOKEN_VERSION => TokenVersion::V5,
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(5) => TokenVersion::V5,
        Some(serde_json::Value::String(v)) if core_versions && v == "4" => TokenVersion::V4,
        Some(serde_json::Value::String(v)) if core_versions && v == "3" => TokenVersion::V3,
        None if core_versions => TokenVersion::V5,
        _ => return None,
    };
    Some((header, version))
}

/// The one header of a SuperTokens v2 access token, as the core writes it:
/// standard base64 (padded) of `{"alg":"RS256","typ":"JWT","version":"2"}`.
/// A v2 token is recognised by this exact string (`JWT.preParseJWTInfo`).
pub(crate) const V2_HEADER: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0=";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::b64url;

    fn enc(s: &str) -> String {
        b64url(s.as_bytes())
    }

    #[test]
    fn the_v2_header_is_the_cores() {
        assert_eq!(
            V2_HEADER,
            crate::crypto::b64std(br#"{"alg":"RS256","typ":"JWT","version":"2"}"#)
        );
    }

    #[test]
    fn old_versions_and_no_version_only_with_core_versions() {
        let h = |v: &str| format!(r#"{{"alg":"RS256","typ":"JWT","kid":"d-1"{v}}}"#);
        for (extra, want) in [
            (r#","version":"3""#, Some(TokenVersion::V3)),
            (r#","version":"4""#, Some(TokenVersion::V4)),
            ("", Some(TokenVersion::V5)),
            (r#","version":"2""#, None),
            (r#","version":"1""#, None),
            (r#","version":"6""#, None),
            (r#","version":3"#, None),
        ] {
            let json = h(extra);
            assert_eq!(
                parse_header_as(json.as_bytes(), true).map(|(_, v)| v),
                want,
                "{json}"
            );
            assert!(parse_header_as(json.as_bytes(), false).is_none(), "{json}");
        }
        let v5 = h(r#","version":"5""#);
        assert_eq!(
            parse_header_as(v5.as_bytes(), false).map(|(_, v)| v),
            Some(TokenVersion::V5)
        );
    }

    #[test]
    fn split_needs_exactly_three_nonempty_parts() {
        assert!(split("a.b").is_none());
        assert!(split("a.b.c.d").is_none());
        assert!(split(".b.c").is_none());
        assert!(split("").is_none());
        let t = format!("{}.{}.{}", enc("{}"), enc("{}"), enc("sig"));
        let parts = split(&t).unwrap();
        assert_eq!(parts.signature, b"sig");
        assert_eq!(parts.signing_input, &t[..t.rfind('.').unwrap()]);
    }

    #[test]
    fn oversized_tokens_are_refused_before_parsing() {
        let big = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(split(&big).is_none());
    }

    #[test]
    fn header_requires_typ_kid_and_version_5() {
        assert!(
            parse_header(br#"{"alg":"RS256","typ":"JWT","version":"5","kid":"d-1"}"#).is_some()
        );
        assert!(parse_header(br#"{"alg":"RS256","typ":"JWT","version":5,"kid":"d-1"}"#).is_some());
        assert!(
            parse_header(br#"{"alg":"RS256","typ":"JWT","version":"4","kid":"d-1"}"#).is_none()
        );
        assert!(parse_header(br#"{"alg":"RS256","typ":"JWT","kid":"d-1"}"#).is_none());
        assert!(parse_header(br#"{"alg":"RS256","version":"5","kid":"d-1"}"#).is_none());
        assert!(parse_header(br#"{"alg":"RS256","typ":"JWT","version":"5"}"#).is_none());
        assert!(
            parse_header(br#"{"alg":"RS256","typ":"JWT","version":"5","kid":"d-1","crit":["x"]}"#)
                .is_none()
        );
        assert!(parse_header(b"not json").is_none());
    }
}
