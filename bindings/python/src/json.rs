//! JSON across the boundary: Python passes `json.dumps` text in and gets
//! text back (`json.loads` on its side); a parse error is `InvalidInputError`.

use pyo3::PyErr;
use serde_json::Value;

/// Parses JSON text from Python.
pub(crate) fn parse(text: &str, what: &str) -> Result<Value, PyErr> {
    serde_json::from_str(text).map_err(|_| {
        crate::errors::to_py(tessera_http::Error::InvalidInput(format!(
            "{what} is not valid JSON"
        )))
    })
}
