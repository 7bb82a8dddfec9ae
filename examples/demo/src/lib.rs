//! The demo app: a JSON API over [`tessera_axum`] and a page that uses it
//! through SuperTokens' browser SDK, `supertokens-website` (bundled from npm
//! by `examples/demo/web/build.sh` into `static/supertokens.js`; no external
//! assets).
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page |
//! | `GET /static/supertokens.js` | the SDK bundle, read from the static directory (404 with a hint if it was not built) |
//! | `GET /api/config` | `{accessTokenValidity, antiCsrf, blacklisting}` (seconds; what the page shows) |
//! | `POST /api/login` `{"userId"}` | creates a session (cookies if `st-auth-mode: cookie`, else headers) |
//! | `GET /api/session` | `{userId, handle, tenantId, payload, data, expiry, timeCreated, accessTokenExpiry, transferMethod}` |
//! | `PUT /api/session/data` `{"data"}` | overwrites the session data |
//! | `PUT /api/session/payload` `{"payload"}` | replaces the JWT payload (new access token on the response) |
//! | `POST /api/session/revoke` | revokes the caller's own session (tokens cleared) |
//! | `GET /api/sessions` | the handles of the caller's user's sessions |
//! | `POST /api/admin/revoke/{handle}` | revokes any session server-side (**demo only**: no authentication) |
//! | `POST /auth/session/refresh`, `POST /auth/signout` | [`tessera_axum::routes`] |
//!
//! Everything sits behind [`RequestLimits`]: a body that is not JSON
//! (`400`), JSON of the wrong shape (`422`), a missing or wrong content type
//! (`415`), a body over 1 MiB (`413`) or headers over 16 KiB (`431`) get a
//! short JSON `{"message": …}`, never axum's plain-text rejection.

pub mod cli;

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera::{AntiCsrfMode, NewSession};
use tessera_axum::{Error, RequestLimits, Session, SessionLayer, Sessions};

/// The page, served at `/`.
pub const PAGE: &str = include_str!("page.html");

/// The SDK bundle's file name in the static directory, served at
/// `/static/supertokens.js`.
pub const SDK_BUNDLE: &str = "supertokens.js";

/// Where `examples/demo/web/build.sh` writes the SDK bundle: `static/` in
/// this crate's source directory.
pub fn default_static_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
}

/// Whether the SDK bundle exists in `dir`.
pub fn sdk_bundle_present(dir: &FsPath) -> bool {
    dir.join(SDK_BUNDLE).is_file()
}

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

/// The bundle is read on every request, so a rebuild needs no restart.
async fn sdk_bundle(dir: Arc<PathBuf>) -> Response {
    let path = dir.join(SDK_BUNDLE);
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "demo: SDK bundle missing");
            (
                StatusCode::NOT_FOUND,
                [(CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!(
                    "{} is missing ({e}). Build it with examples/demo/web/build.sh \
                     (scripts/demo does), or point --static-dir at its directory.\n",
                    path.display()
                ),
            )
                .into_response()
        }
    }
}

async fn config(sessions: Sessions) -> Json<Value> {
    let config = sessions.manager().config();
    let anti_csrf = match config.anti_csrf {
        AntiCsrfMode::ViaToken => "via-token",
        AntiCsrfMode::ViaCustomHeader => "via-custom-header",
        AntiCsrfMode::None => "none",
    };
    Json(json!({
        "accessTokenValidity": config.access_token_validity.as_secs_f64(),
        "antiCsrf": anti_csrf,
        "blacklisting": config.blacklisting,
    }))
}

async fn login(sessions: Sessions, Json(req): Json<LoginRequest>) -> Result<Json<Value>, Error> {
    // The engine takes any user id SuperTokens' core takes, "" included; a
    // login form does not.
    let user_id = req.user_id.trim();
    if user_id.is_empty() {
        return Err(Error::InvalidInput("userId must not be empty".into()));
    }
    let new = NewSession::new(user_id)
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
    tracing::info!(session_handle = ?handle, revoked, "demo: server-side revoke");
    Ok(Json(json!({ "revoked": revoked })))
}

/// The demo router behind `layer`, serving the SDK bundle from
/// [`default_static_dir`].
pub fn app(layer: SessionLayer) -> Router {
    app_with_static_dir(layer, default_static_dir())
}

/// The demo router behind `layer` and [`RequestLimits`], serving the SDK
/// bundle from `static_dir`.
pub fn app_with_static_dir(layer: SessionLayer, static_dir: impl Into<PathBuf>) -> Router {
    let static_dir = Arc::new(static_dir.into());
    Router::new()
        .route("/", get(page))
        .route(
            "/static/supertokens.js",
            get(move || sdk_bundle(static_dir.clone())),
        )
        .route("/api/config", get(config))
        .route("/api/login", post(login))
        .route("/api/session", get(get_session))
        .route("/api/session/data", put(put_data))
        .route("/api/session/payload", put(put_payload))
        .route("/api/session/revoke", post(revoke_own))
        .route("/api/sessions", get(list_sessions))
        .route("/api/admin/revoke/{handle}", post(admin_revoke))
        .merge(layer.routes())
        .layer(layer)
        .layer(RequestLimits::default())
}
