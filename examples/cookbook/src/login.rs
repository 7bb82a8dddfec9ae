//! Sign-up and login with a real password check ([`UserStore`]), creating a
//! tessera session whose access-token payload carries the user's roles.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /signup` | `{"email","password"}` | `201 {"userId"}`; `409` if the email is taken; `400` if a field is out of bounds |
//! | `POST /login` | `{"email","password"}` | `200 {"userId","roles"}` and the session tokens (cookies when the request says `st-auth-mode: cookie`, else `st-access-token`/`st-refresh-token` headers); `401 {"message":"wrong email or password"}` |
//!
//! Signing out is the layer's `POST /auth/signout`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera::NewSession;
use tessera_axum::Sessions;

use crate::{Error, UserStore};

/// `POST /signup` and `POST /login` bodies.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    /// The account's email (case-insensitive).
    pub email: String,
    /// The password, checked against the stored argon2id hash.
    pub password: String,
}

/// `POST /signup` and `POST /login` over `users`.
pub fn router(users: Arc<UserStore>) -> Router {
    Router::new()
        .route("/signup", post(signup))
        .route("/login", post(login))
        .with_state(users)
}

async fn signup(
    State(users): State<Arc<UserStore>>,
    Json(req): Json<Credentials>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let id = users.create_user(&req.email, &req.password, &[]).await?;
    Ok((StatusCode::CREATED, Json(json!({ "userId": id }))))
}

async fn login(
    State(users): State<Arc<UserStore>>,
    sessions: Sessions,
    Json(req): Json<Credentials>,
) -> Result<Json<Value>, Error> {
    let user = users.verify(&req.email, &req.password).await.map_err(|e| {
        if matches!(e, Error::WrongCredentials) {
            tracing::info!("cookbook: failed login");
        }
        e
    })?;
    let session = sessions
        .create_session(
            NewSession::new(&user.id)
                .jwt_payload(json!({ "roles": user.roles }))
                .metadata(sessions.request_metadata()),
        )
        .await?;
    Ok(Json(
        json!({ "userId": session.get_user_id(), "roles": user.roles }),
    ))
}
