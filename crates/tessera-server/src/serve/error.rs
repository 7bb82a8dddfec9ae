//! Errors that end a request with a non-200 status.
//!
//! Session outcomes (`UNAUTHORISED`, `TRY_REFRESH_TOKEN`,
//! `TOKEN_THEFT_DETECTED`) are *not* errors here: the SDKs expect them as
//! `200` with a `status` field and raise on any other status. What is left
//! is what SuperTokens core answers with plain text (`WebserverAPI.java`):
//! bad input `400`, a missing or wrong API key `401 Invalid API key`, an
//! unknown path `404 Not found`, a known path with the wrong method
//! `405 Method not supported`, and a failure of the store `500 Internal
//! Error` (the details go to the log only). tessera adds, in the same
//! style, `403` for a browser's request (`guard.rs`) and `415` for a body
//! that is not `application/json` (`input.rs`).

use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};

/// A request that ends with a plain-text error.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// `400` with a message for the caller.
    BadRequest(String),
    /// `401 Invalid API key`.
    InvalidApiKey,
    /// `403` with the reason (a browser's request, a `Host` not allowed).
    Forbidden(&'static str),
    /// `404 Not found`.
    NotFound,
    /// `405 Method not supported`.
    MethodNotAllowed,
    /// `415 Content-Type must be application/json`.
    UnsupportedMediaType,
    /// `500 Internal Error`; the cause has been logged.
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Self::InvalidApiKey => (StatusCode::UNAUTHORIZED, "Invalid API key".to_owned()),
            Self::Forbidden(reason) => (StatusCode::FORBIDDEN, reason.to_owned()),
            Self::NotFound => (StatusCode::NOT_FOUND, "Not found".to_owned()),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not supported".to_owned(),
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json".to_owned(),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Error".to_owned(),
            ),
        };
        text_response(status, &text)
    }
}

/// A plain-text answer as SuperTokens core writes one: the text and a
/// newline, `Content-Type: text/html; charset=UTF-8`.
pub(crate) fn text_response(status: StatusCode, text: &str) -> Response {
    let mut response = (status, format!("{text}\n")).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    response
}

impl From<tessera::Error> for ApiError {
    /// For engine errors a handler did not turn into a session outcome:
    /// refused input is the caller's `400`; everything else is logged and
    /// answered `500`.
    fn from(e: tessera::Error) -> Self {
        match e {
            tessera::Error::InvalidInput(message) => Self::BadRequest(message),
            e if e.is_internal() => {
                tracing::error!(target: "tessera_server", error = ?e.to_string(), "engine failure");
                Self::Internal
            }
            e => {
                tracing::error!(target: "tessera_server", error = ?e.to_string(), "unexpected engine outcome");
                Self::Internal
            }
        }
    }
}
