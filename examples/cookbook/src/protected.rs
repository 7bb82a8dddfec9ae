//! A route group that requires a session, beside public routes.
//!
//! `route_layer(middleware::from_extractor::<Session>())` runs the
//! [`Session`] extractor before every route of the group: a request without
//! a valid access token gets tessera's answer (`401 {"message":"unauthorised"}`
//! or `401 {"message":"try refresh token"}`) and never reaches the handler.
//! A handler that wants the session takes `Session` again; the second
//! verification is a cache hit (no database call, no signature check).
//! `route_layer` (not `layer`) leaves unknown paths a `404`.
//!
//! | route | session |
//! |---|---|
//! | `GET /`, `GET /health` | not needed |
//! | `GET /api/me` | required |
//! | `GET /api/admin/stats` | required, role `admin` ([`crate::roles`]) |

use axum::routing::get;
use axum::{Json, Router, middleware};
use serde_json::{Value, json};
use tessera_axum::{Session, Sessions};

use crate::{Error, roles};

/// The public routes and the `/api` group.
pub fn router() -> Router {
    let api = Router::new()
        .route("/api/me", get(me))
        .merge(roles::admin_router())
        .route_layer(middleware::from_extractor::<Session>());
    Router::new()
        .route("/", get(home))
        .route("/health", get(health))
        .merge(api)
}

async fn home(session: Option<Session>) -> Json<Value> {
    Json(json!({
        "message": "public page",
        "signedIn": session.is_some(),
    }))
}

async fn health(sessions: Sessions) -> Result<Json<Value>, Error> {
    sessions.manager().health_check().await?;
    Ok(Json(json!({ "status": "ok" })))
}

async fn me(session: Session) -> Json<Value> {
    Json(json!({
        "userId": session.get_user_id(),
        "roles": session.get_jwt_payload()["roles"],
    }))
}
