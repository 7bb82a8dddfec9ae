//! The demo app: a JSON API over [`tessera_axum`] and a self-contained page
//! that uses it (vanilla `fetch`, no external assets).
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page |
//! | `POST /api/login` `{"userId"}` | creates a session (cookies if `st-auth-mode: cookie`, else headers) |
//! | `GET /api/session` | `{userId, handle, tenantId, payload, data, expiry, timeCreated, accessTokenExpiry, transferMethod}` |
//! | `PUT /api/session/data` `{"data"}` | overwrites the session data |
//! | `PUT /api/session/payload` `{"payload"}` | replaces the JWT payload (new access token on the response) |
//! | `POST /api/session/revoke` | revokes the caller's own session (tokens cleared) |
//! | `GET /api/sessions` | the handles of the caller's user's sessions |
//! | `POST /api/admin/revoke/{handle}` | revokes any session server-side (**demo only**: no authentication) |
//! | `POST /auth/session/refresh`, `POST /auth/signout` | [`tessera_axum::routes`] |

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera::NewSession;
use tessera_axum::{Error, Session, SessionLayer, Sessions};

/// The page, served at `/`.
pub const PAGE: &str = include_str!("page.html");

/// `POST /api/login` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// Who to log in as (any non-empty string: this is a demo).
    pub user_id: String,
}

/// `PUT /api/session/data` body.
#[derive(Debug, Deserialize)]
pub struct DataRequest {
    /// The new session data (a JSON object).
    pub data: Value,
}

/// `PUT /api/session/payload` body.
#[derive(Debug, Deserialize)]
pub struct PayloadRequest {
    /// The new JWT payload (a JSON object without protected claims).
    pub payload: Value,
}

async fn page() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
}

async fn login(sessions: Sessions, Json(req): Json<LoginRequest>) -> Result<Json<Value>, Error> {
    let new = NewSession::new(req.user_id.trim())
        .jwt_payload(json!({ "role": "demo" }))
        .session_data(json!({ "visits": 0, "notes": "hello from the session data" }))
        .metadata(sessions.request_metadata());
    let session = sessions.create_session(new).await?;
    Ok(Json(json!({
        "userId": session.get_user_id(),
        "handle": session.get_handle(),
        "transferMethod": session.token_transfer_method().as_str(),
    })))
}

async fn get_session(session: Session) -> Result<Json<Value>, Error> {
    let info = session.get_session_information().await?;
    Ok(Json(json!({
        "userId": session.get_user_id(),
        "handle": session.get_handle(),
        "tenantId": session.get_tenant_id(),
        "payload": session.get_jwt_payload(),
        "data": info.session_data,
        "expiry": info.expiry_ms,
        "timeCreated": info.time_created_ms,
        "accessTokenExpiry": session.get_access_token_expiry(),
        "transferMethod": session.token_transfer_method().as_str(),
    })))
}

async fn put_data(session: Session, Json(req): Json<DataRequest>) -> Result<Json<Value>, Error> {
    session.update_session_data(req.data.clone()).await?;
    Ok(Json(json!({ "data": req.data })))
}

async fn put_payload(
    session: Session,
    Json(req): Json<PayloadRequest>,
) -> Result<Json<Value>, Error> {
    session.update_jwt_payload(req.payload).await?;
    Ok(Json(json!({ "payload": session.get_jwt_payload() })))
}

async fn revoke_own(session: Session) -> Result<Json<Value>, Error> {
    session.revoke_session().await?;
    Ok(Json(json!({ "status": "OK" })))
}

async fn list_sessions(session: Session, sessions: Sessions) -> Result<Json<Value>, Error> {
    let handles = sessions
        .get_all_session_handles_for_user(session.get_user_id())
        .await?;
    Ok(Json(
        json!({ "handles": handles, "current": session.get_handle() }),
    ))
}

async fn admin_revoke(
    sessions: Sessions,
    Path(handle): Path<String>,
) -> Result<Json<Value>, Error> {
    let revoked = sessions.revoke_session(&handle).await?;
    tracing::info!(session_handle = %handle, revoked, "demo: server-side revoke");
    Ok(Json(json!({ "revoked": revoked })))
}

/// The demo router behind `layer`.
pub fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/login", post(login))
        .route("/api/session", get(get_session))
        .route("/api/session/data", put(put_data))
        .route("/api/session/payload", put(put_payload))
        .route("/api/session/revoke", post(revoke_own))
        .route("/api/sessions", get(list_sessions))
        .route("/api/admin/revoke/{handle}", post(admin_revoke))
        .merge(layer.routes())
        .layer(layer)
}
