//! The seed of tessera: the handler from the README that takes a
//! [`Session`] and calls its six methods, and the login that creates one.
//! `src/main.rs` serves [`app`] with [`tessera_axum::serve`]; `tests/seed.rs`
//! drives it over a socket. This is the README's complete snippet.

use std::time::Duration;

use axum::{Json, Router, extract::Path, routing::post};
use serde_json::{Value, json};
use tessera_axum::{RefreshRateLimit, RequestLimits, Session, SessionLayer, Sessions};

/// The seed handler: reads and changes the session data and the JWT
/// payload, then revokes the session (0, 1, 1, 0, 1, 1 database calls).
pub async fn test_info(session: Session) -> Result<Json<Value>, tessera_axum::Error> {
    let user_id = session.get_user_id();

    let mut data = session.get_session_data().await?;
    data["newKey"] = json!("newVal");
    session.update_session_data(data).await?;

    let mut payload = session.get_jwt_payload().clone();
    payload["newKey"] = json!("newVal");
    session.update_jwt_payload(payload).await?;

    session.revoke_session().await?;
    Ok(Json(json!({ "status": "ok", "user": user_id })))
}

/// Creates a session for the user in the path.
pub async fn login(
    sessions: Sessions,
    Path(user): Path<String>,
) -> Result<Json<Value>, tessera_axum::Error> {
    let session = sessions
        .create_new_session(
            &user,
            json!({ "role": "reader" }),
            json!({ "cart": [1, 2] }),
        )
        .await?;
    Ok(Json(json!({ "handle": session.get_handle() })))
}

/// The seed app: `POST /login/{user}`, `POST /test`, and the refresh and
/// signout routes, behind a [`SessionLayer`] (refreshes limited to a burst
/// of 10 per client address, then one a second) and [`RequestLimits`]
/// (short JSON refusals for oversized or malformed requests). Serve it with
/// [`tessera_axum::serve`], which also hands the rate limit the peer address.
/// `cookie_secure`: `false` only for plain-HTTP development.
pub fn app(manager: tessera::SessionManager, cookie_secure: bool) -> Router {
    let layer = SessionLayer::new(manager)
        .cookie_secure(cookie_secure)
        .refresh_rate_limit(RefreshRateLimit::new(10, Duration::from_secs(1)));
    Router::new()
        .route("/login/{user}", post(login))
        .route("/test", post(test_info))
        .merge(layer.routes()) // POST /auth/session/refresh (rate-limited), POST /auth/signout
        .layer(layer)
        .layer(RequestLimits::default())
}
