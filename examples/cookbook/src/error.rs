//! The cookbook's one error type: each variant answers with its status and a
//! short JSON body, never echoing the request or an internal detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What a cookbook handler or client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The email or password is wrong (one answer for both, so the response
    /// does not tell which).
    #[error("wrong email or password")]
    WrongCredentials,
    /// Sign-up with an email that already has an account.
    #[error("email already registered")]
    EmailTaken,
    /// A field fails validation (the message names the rule, not the value).
    #[error("{0}")]
    BadInput(&'static str),
    /// The user table failed.
    #[error("user store: {0}")]
    Store(#[from] sqlx::Error),
    /// Hashing or parsing a stored password hash failed.
    #[error("password hash: {0}")]
    Hash(String),
    /// A session error (tessera-axum answers it with SuperTokens' status
    /// and body, and clears tokens when it should).
    #[error(transparent)]
    Session(#[from] tessera_axum::Error),
    /// The session engine failed (opening the store, maintenance).
    #[error(transparent)]
    Engine(#[from] tessera::Error),
    /// A configuration value is missing or malformed.
    #[error("config: {0}")]
    Config(String),
    /// An HTTP client call failed ([`crate::mobile`]).
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered the client with something it cannot use.
    #[error("unexpected response: {0}")]
    Unexpected(String),
    /// Binding or serving failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<argon2::password_hash::Error> for Error {
    fn from(e: argon2::password_hash::Error) -> Self {
        Self::Hash(e.to_string())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::Session(e) => return e.into_response(),
            Self::WrongCredentials => (StatusCode::UNAUTHORIZED, "wrong email or password"),
            Self::EmailTaken => (StatusCode::CONFLICT, "email already registered"),
            Self::BadInput(rule) => (StatusCode::BAD_REQUEST, rule),
            other => {
                tracing::error!(error = %other, "cookbook: internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        };
        (status, Json(json!({ "message": message }))).into_response()
    }
}
