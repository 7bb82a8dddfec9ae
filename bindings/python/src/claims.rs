//! Claim validators written in Python, run by the FDI core.
//!
//! A Python validator is an object with an `id` (a `str`) and a method
//! `_tessera_check(payload_json: str) -> Optional[str]` (the Python
//! package's `SessionClaimValidator` provides it): `None` when the payload
//! passes, else the JSON text of the reason (`"null"` for none). The FDI
//! core decides what a failure means (`403 invalid claim` with every
//! failure in `claimValidationErrors`); Python only judges the payload.
//!
//! A validator that raises, or answers something else, fails its claim
//! (closed, never open) and the exception goes to `sys.unraisablehook`:
//! no Python exception crosses into Rust.

use std::sync::Arc;

use pyo3::prelude::*;
use serde_json::Value;
use tessera_http::ClaimValidator;

/// One Python validator, shared (cloning does not touch the GIL).
#[derive(Debug, Clone)]
pub(crate) struct PyValidator {
    id: String,
    obj: Arc<Py<PyAny>>,
}

impl PyValidator {
    /// Reads the validator's `id` (a `str`).
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let id: String = obj.getattr("id")?.extract()?;
        Ok(Self {
            id,
            obj: Arc::new(obj.clone().unbind()),
        })
    }

    /// The Python object itself.
    pub(crate) fn object<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.obj.bind(py).clone()
    }

    fn check(&self, py: Python<'_>, payload: &Value) -> Result<(), Option<Value>> {
        let obj = self.obj.bind(py);
        let answer = obj
            .call_method1("_tessera_check", (payload.to_string(),))
            .and_then(|r| r.extract::<Option<String>>());
        match answer {
            Ok(None) => Ok(()),
            Ok(Some(reason)) => Err(serde_json::from_str::<Value>(&reason)
                .ok()
                .filter(|v| !v.is_null())),
            Err(e) => {
                tracing::warn!(target: "tessera::claims", id = %self.id, "a claim validator raised; its claim fails");
                e.write_unraisable(py, Some(obj));
                Err(None)
            }
        }
    }
}

impl ClaimValidator for PyValidator {
    fn id(&self) -> &str {
        &self.id
    }

    fn validate(&self, payload: &Value) -> Result<(), Option<Value>> {
        // Verification runs with the GIL released (on the caller's thread
        // or a runtime worker): take it back for the validator.
        Python::attach(|py| self.check(py, payload))
    }
}

/// Wraps each object of a Python list.
pub(crate) fn from_list(objs: &[Bound<'_, PyAny>]) -> PyResult<Vec<PyValidator>> {
    objs.iter().map(PyValidator::new).collect()
}
