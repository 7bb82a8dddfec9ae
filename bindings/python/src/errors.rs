//! Every Rust error as a typed Python exception.
//!
//! The exception's `args` are `(message, status, body, rejection)`: the
//! message for logs (no token in it), the default HTTP status, the JSON
//! body of the answer, and the opaque [`Rejection`] that
//! `Context.finish` needs to put on the configured status and clear the
//! tokens. The Python package gives them names (`.status`, `.body`,
//! `.rejection`).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _tessera,
    TesseraError,
    PyException,
    "Every error of tessera; args are (message, status, body, rejection)."
);
create_exception!(
    _tessera,
    UnauthorisedError,
    TesseraError,
    "No valid session: 401 {\"message\":\"unauthorised\"}."
);
create_exception!(
    _tessera,
    TryRefreshTokenError,
    TesseraError,
    "The access token cannot be used as it is: 401 {\"message\":\"try refresh token\"}."
);
create_exception!(
    _tessera,
    TokenTheftDetectedError,
    TesseraError,
    "A retired refresh token was replayed; the session is revoked."
);
create_exception!(
    _tessera,
    InvalidClaimError,
    TesseraError,
    "Claim validation failed: 403 {\"message\":\"invalid claim\"}."
);
create_exception!(
    _tessera,
    InvalidInputError,
    TesseraError,
    "The caller passed something the engine refuses: 400."
);
create_exception!(
    _tessera,
    InternalError,
    TesseraError,
    "The store failed or another internal error: 500, details only in logs."
);
create_exception!(
    _tessera,
    ConfigError,
    TesseraError,
    "A setting of init() or Engine() is not valid."
);

/// What the end of the request must do to an error response (opaque to
/// Python: pass it to `Context.finish`).
#[pyclass(frozen, module = "tessera._tessera")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rejection(pub(crate) tessera_http::Rejection);

#[pymethods]
impl Rejection {
    fn __repr__(&self) -> String {
        format!(
            "Rejection(kind={:?}, clear_tokens={})",
            self.0.kind, self.0.clear_tokens
        )
    }
}

/// The FDI core's error as a Python exception (no GIL needed: the
/// exception is built when Python sees it).
pub(crate) fn to_py(e: tessera_http::Error) -> PyErr {
    let answer = e.respond();
    let message = e.to_string();
    let args = (
        message,
        answer.status,
        answer.body,
        answer.rejection.map(Rejection),
    );
    match e {
        tessera_http::Error::Unauthorised { .. } => UnauthorisedError::new_err(args),
        tessera_http::Error::TryRefreshToken { .. } => TryRefreshTokenError::new_err(args),
        tessera_http::Error::TokenTheftDetected { .. } => TokenTheftDetectedError::new_err(args),
        tessera_http::Error::InvalidClaim(_) => InvalidClaimError::new_err(args),
        tessera_http::Error::InvalidInput(_) => InvalidInputError::new_err(args),
        _ => InternalError::new_err(args),
    }
}

/// An engine error, mapped as the FDI core maps it.
pub(crate) fn engine(e: tessera::Error) -> PyErr {
    to_py(tessera_http::Error::from(e))
}

/// A setting that is not valid.
pub(crate) fn config(message: impl Into<String>) -> PyErr {
    let message = message.into();
    let body = serde_json::json!({ "message": message }).to_string();
    ConfigError::new_err((message, 500u16, body, None::<Rejection>))
}
