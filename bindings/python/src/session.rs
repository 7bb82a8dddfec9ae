//! [`Session`]: a verified session, the FDI core's, with its methods as
//! Python awaitables.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3_async_runtimes::tokio::future_into_py;

use crate::errors;

/// A verified session of one request. Token changes (a payload update, a
/// revocation) are queued on the request and written on its response.
#[pyclass(frozen, module = "tessera._tessera")]
#[derive(Debug, Clone)]
pub struct Session {
    inner: tessera_http::Session<tessera_http::Error>,
    /// The request's "a change may be queued" flag.
    touched: Arc<AtomicBool>,
}

impl Session {
    pub(crate) fn new(
        inner: tessera_http::Session<tessera_http::Error>,
        touched: Arc<AtomicBool>,
    ) -> Self {
        Self { inner, touched }
    }

    fn touch(&self) {
        self.touched.store(true, Ordering::Release);
    }
}

#[pymethods]
impl Session {
    /// The user id. 0 database calls.
    fn get_user_id(&self) -> String {
        self.inner.get_user_id().to_owned()
    }

    /// The recipe user id. 0 database calls.
    fn get_recipe_user_id(&self) -> String {
        self.inner.get_recipe_user_id().to_owned()
    }

    /// The session handle. 0 database calls.
    fn get_handle(&self) -> String {
        self.inner.get_handle().to_owned()
    }

    /// The tenant. 0 database calls.
    fn get_tenant_id(&self) -> String {
        self.inner.get_tenant_id().to_owned()
    }

    /// The current access token.
    fn get_access_token(&self) -> String {
        self.inner.get_access_token().to_owned()
    }

    /// The user's access-token payload, JSON text. 0 database calls.
    fn get_access_token_payload(&self) -> String {
        self.inner.get_jwt_payload().to_string()
    }

    /// When the current access token expires, ms since the epoch.
    fn get_access_token_expiry(&self) -> u64 {
        self.inner.get_access_token_expiry()
    }

    /// `"cookie"` or `"header"`.
    fn get_token_transfer_method(&self) -> &'static str {
        self.inner.token_transfer_method().as_str()
    }

    /// Runs `validators` (Python `SessionClaimValidator`s) on the current
    /// payload; raises `InvalidClaimError` (403, every failure in
    /// `claimValidationErrors`) if any fails. 0 database calls.
    fn assert_claims(&self, validators: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let validators = crate::claims::from_list(&validators)?;
        let refs: Vec<&dyn tessera_http::ClaimValidator> = validators
            .iter()
            .map(|v| v as &dyn tessera_http::ClaimValidator)
            .collect();
        self.inner.assert_claims(&refs).map_err(errors::to_py)
    }

    /// Replaces the payload (JSON text) and issues a new access token on
    /// this response. 1 database call.
    fn update_access_token_payload<'py>(
        &self,
        py: Python<'py>,
        payload: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let payload = crate::json::parse(payload, "the access token payload")?;
        self.touch();
        let s = self.inner.clone();
        future_into_py(py, async move {
            s.update_jwt_payload(payload).await.map_err(errors::to_py)
        })
    }

    /// The session data in the database, JSON text. 1 database call.
    fn get_session_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.clone();
        future_into_py(py, async move {
            s.get_session_data()
                .await
                .map(|v| v.to_string())
                .map_err(errors::to_py)
        })
    }

    /// Overwrites the session data (JSON text). 1 database call.
    fn update_session_data<'py>(&self, py: Python<'py>, data: &str) -> PyResult<Bound<'py, PyAny>> {
        let data = crate::json::parse(data, "the session data")?;
        let s = self.inner.clone();
        future_into_py(py, async move {
            s.update_session_data(data).await.map_err(errors::to_py)
        })
    }

    /// Revokes the session and clears its tokens on this response. 1
    /// database call.
    fn revoke_session<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.touch();
        let s = self.inner.clone();
        future_into_py(py, async move {
            s.revoke_session().await.map_err(errors::to_py)
        })
    }

    /// Everything the database knows of this session, JSON text. 1
    /// database call.
    fn get_session_information<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.clone();
        future_into_py(py, async move {
            s.get_session_information()
                .await
                .map(|i| crate::engine::information_json(&i))
                .map_err(errors::to_py)
        })
    }
}
