//! [`Error`]: the crate's one error type, and its actix-web response.
//!
//! Variants, statuses and bodies are the FDI core's ([`tessera_http::Error`]);
//! [`SessionMiddleware`](crate::SessionMiddleware) puts on the configured
//! status codes and clears tokens where the error says so.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

tessera_http::fdi_error!(
    /// Everything that can go wrong in `tessera-actix`; implements
    /// [`ResponseError`] with SuperTokens' statuses and bodies.
    ///
    /// Engine errors convert with `?` (`From<tessera::Error>`), and so do
    /// the core's (`From<tessera_http::Error>`).
    pub Error
);

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(Error::status_code(self)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let answer = self.respond();
        let status =
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = HttpResponse::build(status)
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
            .body(answer.body);
        if let Some(marker) = answer.rejection {
            res.extensions_mut().insert(marker);
        }
        res
    }
}
