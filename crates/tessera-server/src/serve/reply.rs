//! The JSON shapes of CDI answers.
//!
//! Every answer is `200` with a `status` field; token-carrying answers are
//! also `Cache-Control: no-store`. Timestamps are milliseconds since the
//! epoch.

use axum::Json;
use axum::http::header::{CACHE_CONTROL, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tessera::{
    AccessTokenClaims, CreatedSession, IssuedAccessToken, IssuedRefreshToken, TryRefreshReason,
    UnauthorisedReason,
};

/// `200` with a JSON body.
pub(crate) fn ok(body: Value) -> Response {
    Json(body).into_response()
}

/// `200` with a JSON body that carries tokens: never cached.
pub(crate) fn with_tokens(body: Value) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `{"status":"OK"}`.
pub(crate) fn status_ok() -> Response {
    ok(json!({"status": "OK"}))
}

/// `{"status":"UNAUTHORISED","message":…}`.
pub(crate) fn unauthorised(message: impl std::fmt::Display) -> Response {
    ok(json!({"status": "UNAUTHORISED", "message": message.to_string()}))
}

/// `{"status":"TRY_REFRESH_TOKEN","message":…}`.
pub(crate) fn try_refresh_token(message: impl std::fmt::Display) -> Response {
    ok(json!({"status": "TRY_REFRESH_TOKEN", "message": message.to_string()}))
}

/// The `message` of an `UNAUTHORISED` answer: SuperTokens core's words
/// where the core has a matching case (`Session.java`, `RefreshToken.java`),
/// the engine's description otherwise. The SDKs only carry it into logs.
pub(crate) fn unauthorised_message(reason: UnauthorisedReason) -> String {
    match reason {
        UnauthorisedReason::SessionRevoked => {
            "Either the session has ended or has been blacklisted".to_owned()
        }
        UnauthorisedReason::UnknownRefreshToken => {
            "Session missing in db or has expired".to_owned()
        }
        UnauthorisedReason::AntiCsrfMismatch => {
            "Anti CSRF token missing, or not matching".to_owned()
        }
        UnauthorisedReason::InvalidRefreshToken => "Invalid refresh token".to_owned(),
        UnauthorisedReason::RotatedOut => "rotated-out token branch; refresh required".to_owned(),
        other => other.to_string(),
    }
}

/// The `message` of a `TRY_REFRESH_TOKEN` answer, in the core's words where
/// it has them (`AccessToken.java`, `Session.java`).
pub(crate) fn try_refresh_message(reason: TryRefreshReason) -> String {
    match reason {
        TryRefreshReason::Expired => "Access token expired".to_owned(),
        TryRefreshReason::UnknownSigningKey => "Key not found".to_owned(),
        TryRefreshReason::AntiCsrfMissing | TryRefreshReason::AntiCsrfMismatch => {
            "anti-csrf check failed".to_owned()
        }
        other => other.to_string(),
    }
}

/// The message SuperTokens core gives when a handle names no live session.
pub(crate) const SESSION_DOES_NOT_EXIST: &str = "Session does not exist.";

/// The `session` object of create, verify, refresh and regenerate answers.
pub(crate) fn session(claims: &AccessTokenClaims) -> Value {
    json!({
        "handle": claims.session_handle,
        "userId": claims.user_id,
        "recipeUserId": claims.recipe_user_id,
        "userDataInJWT": claims.user_payload,
        "tenantId": claims.tenant_id,
    })
}

/// A token-info object for an access token.
pub(crate) fn access_token(t: &IssuedAccessToken) -> Value {
    json!({"token": t.token, "expiry": t.expiry_ms, "createdTime": t.created_ms})
}

/// A token-info object for a refresh token.
pub(crate) fn refresh_token(t: &IssuedRefreshToken) -> Value {
    json!({"token": t.token, "expiry": t.expiry_ms, "createdTime": t.created_ms})
}

/// [`created`], shaped for the request's CDI version (see
/// `CdiVersion::shape_session`).
pub(crate) fn created_as(c: &CreatedSession, version: super::version::CdiVersion) -> Response {
    let mut body = created_body(c);
    version.shape_session(&mut body);
    with_tokens(body)
}

/// The answer to a create or a successful refresh.
pub(crate) fn created(c: &CreatedSession) -> Response {
    with_tokens(created_body(c))
}

fn created_body(c: &CreatedSession) -> Value {
    let mut body = json!({
        "status": "OK",
        "session": session(&c.claims),
        "accessToken": access_token(&c.access_token),
        "refreshToken": refresh_token(&c.refresh_token),
    });
    if let (Some(token), Some(map)) = (&c.anti_csrf_token, body.as_object_mut()) {
        map.insert("antiCsrfToken".to_owned(), Value::from(token.as_str()));
    }
    body
}
