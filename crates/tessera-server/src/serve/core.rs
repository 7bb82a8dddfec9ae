//! Handlers outside the session recipe: API version, hello, JWKS, user
//! lookup, metrics, and the answers for unknown paths and methods.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::{ApiError, text_response};
use super::input::QueryInput;
use super::{AppState, SUPPORTED_CDI_VERSIONS};
use crate::metrics;

/// `GET /apiversion`: `{"versions": [...]}`, every version whose behaviour
/// tessera implements ([`SUPPORTED_CDI_VERSIONS`]). The SDKs pick the
/// highest version both sides support and send it as `cdi-version` from
/// then on.
pub(crate) async fn api_version() -> Response {
    Json(json!({ "versions": SUPPORTED_CDI_VERSIONS })).into_response()
}

/// `/`, `/hello`, `/{tenant}/hello` (any method, no API key): `Hello` once
/// the store answers, `500` when it does not. A health check for load
/// balancers, as in SuperTokens core.
pub(crate) async fn hello(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.manager().health_check().await?;
    Ok(text_response(StatusCode::OK, "Hello"))
}

/// `GET /.well-known/jwks.json` (no API key): the public keys of every
/// access token that may still be live, with `Cache-Control: max-age=N,
/// must-revalidate` (the core's header; N is the engine's JWKS max-age).
pub(crate) async fn jwks(State(state): State<AppState>) -> Response {
    let manager = state.manager();
    if let Err(e) = manager.publish_due_keys().await {
        // The keys already published still verify; say so and serve them.
        tracing::warn!(target: "tessera_server", error = %e, "could not publish a due signing key");
    }
    let mut response = Json(&*manager.jwks()).into_response();
    let max_age = format!(
        "max-age={}, must-revalidate",
        manager.jwks_max_age().as_secs()
    );
    if let Ok(value) = HeaderValue::from_str(&max_age) {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    response
}

/// `GET /user/id?userId=`: tessera keeps no users, so the answer is always
/// `UNKNOWN_USER_ID_ERROR`; the SDKs then use the recipe user id as the
/// user id, which is what a session-only deployment wants.
pub(crate) async fn get_user(
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    QueryInput::new(params).string("userId")?;
    Ok(Json(json!({"status": "UNKNOWN_USER_ID_ERROR"})).into_response())
}

/// `GET /metrics`: Prometheus metrics (see [`crate::metrics`]).
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = state.metrics().encode().map_err(|e| {
        tracing::error!(target: "tessera_server", error = %e, "metrics encoding failed");
        ApiError::Internal
    })?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    Ok(response)
}

/// Unknown path: `404 Not found`.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Known path, wrong method: `405 Method not supported`.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
