//! The server's one error type.

use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// What a test-server route can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A session outcome (401, 403 …), answered as tessera-axum answers it.
    #[error(transparent)]
    Session(#[from] tessera_axum::Error),
    /// The engine failed outside a request's session (setting up an app).
    #[error("engine: {0}")]
    Engine(#[from] tessera::Error),
    /// The request asked for something this server does not take.
    #[error("{0}")]
    BadRequest(&'static str),
    /// A route of the upstream server this one cannot serve.
    #[error("{0}")]
    Unsupported(&'static str),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Self::Session(e) => e.into_response(),
            Self::Engine(e) => {
                tracing::error!(error = %e, "engine error");
                (StatusCode::INTERNAL_SERVER_ERROR, "engine error").into_response()
            }
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m).into_response(),
            Self::Unsupported(m) => (StatusCode::NOT_IMPLEMENTED, m).into_response(),
        }
    }
}
