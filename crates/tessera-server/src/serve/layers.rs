//! Middleware: API keys, the `cdi-version` header, limits, metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::{Choice, ConstantTimeEq};

use super::error::{ApiError, text_response};
use super::version::LEGACY_CDI_VERSIONS;
use super::{AppState, MAX_BODY_BYTES, MAX_HEADER_BYTES, ROUTE_TEMPLATES, SUPPORTED_CDI_VERSIONS};
use crate::metrics::{endpoint_label, method_label};

/// Refuses the request with `401 Invalid API key` unless it carries one of
/// the configured keys (no keys configured: every request passes). The key
/// is read as SuperTokens core reads it: the `api-key` header, else
/// `Authorization: Bearer <key>`, else the whole `Authorization` value;
/// trimmed.
///
/// Every configured key is compared, in constant time, whatever the
/// outcome, so the timing tells nothing about which key or how much of it
/// matched (only, as with any comparison, whether the lengths differ).
pub(crate) async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let keys = state.api_keys();
    if keys.is_empty() {
        return next.run(request).await;
    }
    match presented_key(request.headers()) {
        Some(p) if key_matches(keys, p) => next.run(request).await,
        _ => {
            tracing::debug!(target: "tessera_server::auth", path = %request.uri().path(), "missing or invalid api-key");
            ApiError::InvalidApiKey.into_response()
        }
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&[u8]> {
    if let Some(v) = headers.get("api-key") {
        return Some(v.as_bytes().trim_ascii());
    }
    let auth = headers.get(AUTHORIZATION)?.as_bytes();
    let key = match auth.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case(b"bearer ") => &auth[7..],
        _ => auth,
    };
    Some(key.trim_ascii())
}

fn key_matches(keys: &[String], presented: &[u8]) -> bool {
    let mut matched = Choice::from(0);
    for key in keys {
        matched |= key.as_bytes().ct_eq(presented);
    }
    matched.into()
}

/// Refuses with `400` a `cdi-version` header naming a version tessera does
/// not speak, as SuperTokens core does; no header means the latest.
pub(crate) async fn check_cdi_version(request: Request, next: Next) -> Response {
    if let Some(v) = request.headers().get("cdi-version") {
        let v = v.to_str().unwrap_or_default().trim();
        if !SUPPORTED_CDI_VERSIONS.contains(&v) {
            return ApiError::BadRequest(format!("cdi-version {v} not supported")).into_response();
        }
    }
    next.run(request).await
}

/// [`check_cdi_version`] for the routes that also serve the core's older
/// versions ([`LEGACY_CDI_VERSIONS`]: create, verify, regenerate).
pub(crate) async fn check_cdi_version_or_legacy(request: Request, next: Next) -> Response {
    if let Some(v) = request.headers().get("cdi-version") {
        let v = v.to_str().unwrap_or_default().trim();
        if !SUPPORTED_CDI_VERSIONS.contains(&v) && !LEGACY_CDI_VERSIONS.contains(&v) {
            return ApiError::BadRequest(format!("cdi-version {v} not supported")).into_response();
        }
    }
    next.run(request).await
}

/// Refuses a request whose headers exceed [`MAX_HEADER_BYTES`] (`431`) or
/// whose declared body exceeds [`MAX_BODY_BYTES`] (`413`) before any
/// handler runs, and gives the `408`/`413` of the timeout and body-limit
/// layers a one-line text body like the core's other errors.
pub(crate) async fn limits(request: Request, next: Next) -> Response {
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return text_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request header fields too large",
        );
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return text_response(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    }
    let response = next.run(request).await;
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            text_response(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
        }
        StatusCode::REQUEST_TIMEOUT => {
            text_response(StatusCode::REQUEST_TIMEOUT, "Request timeout")
        }
        _ => response,
    }
}

/// Counts the request and its latency by method, route template and
/// status, each from a closed set (see [`crate::metrics`]): never the
/// client's method or path.
pub(crate) async fn record_metrics(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let endpoint = endpoint_label(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
        ROUTE_TEMPLATES,
    );
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics()
        .observe_request(method, endpoint, status, elapsed);
    tracing::debug!(
        target: "tessera_server::request",
        method,
        endpoint,
        status,
        micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::{key_matches, presented_key};

    #[test]
    fn key_is_read_from_api_key_or_authorization() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert("authorization", HeaderValue::from_static("Bearer  k1 "));
        assert_eq!(presented_key(&h), Some(&b"k1"[..]));
        h.insert("authorization", HeaderValue::from_static("k2"));
        assert_eq!(presented_key(&h), Some(&b"k2"[..]));
        h.insert("api-key", HeaderValue::from_static(" k3"));
        assert_eq!(presented_key(&h), Some(&b"k3"[..]));
    }

    #[test]
    fn any_configured_key_matches_and_nothing_else() {
        let keys = vec![
            "first-key-aaaaaaaaaaaaaaaa".to_owned(),
            "second-key-bbbbbbbbbbbbbbb".to_owned(),
        ];
        assert!(key_matches(&keys, b"first-key-aaaaaaaaaaaaaaaa"));
        assert!(key_matches(&keys, b"second-key-bbbbbbbbbbbbbbb"));
        assert!(!key_matches(&keys, b"second-key-bbbbbbbbbbbbbbX"));
        assert!(!key_matches(&keys, b"first-key"));
        assert!(!key_matches(&keys, b""));
    }
}
