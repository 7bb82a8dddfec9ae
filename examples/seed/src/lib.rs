//! The seed of tessera: the handler from the README that takes a
//! [`Session`] and calls its six methods, and the login that creates one.
//! `src/main.rs` serves [`app`]; `tests/seed.rs` drives it over a socket.

use axum::{Json, Router, extract::Path, routing::post};
use serde_json::{Value, json};
use tessera_axum::{Session, SessionLayer, Sessions};

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
/// signout routes, behind a [`SessionLayer`].
pub fn app(manager: tessera::SessionManager) -> Router {
    Router::new()
        .route("/login/{user}", post(login))
        .route("/test", post(test_info))
        .merge(tessera_axum::routes()) // POST /auth/session/refresh, POST /auth/signout
        .layer(SessionLayer::new(manager))
}
