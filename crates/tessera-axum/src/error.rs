//! [`Error`]: the crate's one error type, and its HTTP form.
//!
//! The variants, statuses and bodies are the FDI core's
//! ([`tessera_http::Error`], SuperTokens' FDI §9); this crate only turns
//! them into an axum response. The 401 and 403 statuses are the defaults;
//! [`SessionLayer`](crate::SessionLayer) replaces them with its configured
//! codes and does the clearing (an error response carries a
//! [`Rejection`](tessera_http::Rejection) that the layer reads). Every
//! rejection emits a tracing event on target `tessera::rejection`.

use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};

tessera_http::fdi_error!(
    /// Everything that can go wrong in `tessera-axum`; implements
    /// [`IntoResponse`] with SuperTokens' statuses and bodies.
    ///
    /// Engine errors convert with `?` (`From<tessera::Error>`), and so do
    /// the core's (`From<tessera_http::Error>`).
    pub Error
);

impl Error {
    /// The status this error answers with when no layer reconfigures it.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let answer = self.respond();
        let status =
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, answer.body).into_response();
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(marker) = answer.rejection {
            res.extensions_mut().insert(marker);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_answer_the_cores_status_and_json_body() {
        let res = Error::InvalidInput("bad".into()).into_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        let res = Error::from(tessera::Error::CorruptData("row 7".into())).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.extensions().get::<tessera_http::Rejection>().is_none());
        let res = Error::from(tessera_http::Error::no_token()).into_response();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.extensions().get::<tessera_http::Rejection>().is_some());
    }
}
