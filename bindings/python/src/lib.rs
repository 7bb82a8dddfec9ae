//! Python bindings of tessera (PyO3): the engine and the FDI core
//! ([`tessera_http`]) as the extension module `tessera._tessera`, which the
//! Python package `tessera.fastapi` adapts to Starlette.
//!
//! Every protocol rule (which token to take, anti-CSRF, refresh, what to
//! write and clear) is the FDI core's: Python hands in a request's method,
//! path and headers, and gets back the headers and status of its response.
//! Engine work runs on the tokio runtime of `pyo3-async-runtimes`, with the
//! GIL released; every error reaches Python as a subclass of
//! `TesseraError` carrying the status, the JSON body and the rejection the
//! response needs.

mod claims;
mod context;
mod engine;
mod errors;
mod json;
mod request;
mod session;
#[cfg(feature = "testing")]
mod testing;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _tessera(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<engine::Engine>()?;
    m.add_class::<context::Context>()?;
    m.add_class::<context::Sender>()?;
    m.add_class::<session::Session>()?;
    m.add_class::<errors::Rejection>()?;
    m.add("TesseraError", py.get_type::<errors::TesseraError>())?;
    m.add(
        "UnauthorisedError",
        py.get_type::<errors::UnauthorisedError>(),
    )?;
    m.add(
        "TryRefreshTokenError",
        py.get_type::<errors::TryRefreshTokenError>(),
    )?;
    m.add(
        "TokenTheftDetectedError",
        py.get_type::<errors::TokenTheftDetectedError>(),
    )?;
    m.add(
        "InvalidClaimError",
        py.get_type::<errors::InvalidClaimError>(),
    )?;
    m.add(
        "InvalidInputError",
        py.get_type::<errors::InvalidInputError>(),
    )?;
    m.add("InternalError", py.get_type::<errors::InternalError>())?;
    m.add("ConfigError", py.get_type::<errors::ConfigError>())?;
    m.add("TESTING", cfg!(feature = "testing"))?;
    m.add(
        "CORS_ALLOWED_HEADERS",
        tessera_http::names::CORS_ALLOWED_HEADERS.to_vec(),
    )?;
    m.add(
        "CORS_EXPOSED_HEADERS",
        tessera_http::names::CORS_EXPOSED_HEADERS.to_vec(),
    )?;
    Ok(())
}
