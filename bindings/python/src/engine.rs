//! [`Engine`]: the session manager and the FDI settings of one app, and
//! the operations by session handle or by user (SuperTokens' admin
//! functions).

use std::future::Future;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3_async_runtimes::tokio::{future_into_py, get_runtime};
use serde_json::{Value, json};
use tessera::keys::KeyEncryptionKey;
use tessera::{AntiCsrfMode, SessionInformation, SessionManager};
use tessera_http::{Fdi, SameSite, TokenTransferPolicy};

use crate::claims::PyValidator;
use crate::context::Context;
use crate::errors;
use crate::request::Req;

/// The engine and the browser-protocol settings of one app. Made once (by
/// `tessera.fastapi.init`); cheap to share.
#[pyclass(frozen, module = "tessera._tessera")]
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) fdi: Fdi,
    /// The global claim validators (also registered on `fdi`).
    pub(crate) validators: Vec<PyValidator>,
    #[cfg(feature = "testing")]
    pub(crate) probe: Option<crate::testing::Probe>,
}

/// The settings of `Engine(...)`, as Python passes them.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) api_base_path: String,
    pub(crate) api_domain: Option<String>,
    pub(crate) website_domain: Option<String>,
    pub(crate) cookie_secure: Option<bool>,
    pub(crate) cookie_same_site: Option<String>,
    pub(crate) cookie_domain: Option<String>,
    pub(crate) older_cookie_domain: Option<String>,
    pub(crate) anti_csrf: Option<String>,
    pub(crate) token_transfer_method: String,
    pub(crate) access_token_validity: Option<f64>,
    pub(crate) refresh_token_validity: Option<f64>,
    pub(crate) refresh_grace_period: Option<f64>,
    pub(crate) blacklisting: Option<bool>,
    pub(crate) session_expired_status: u16,
    pub(crate) invalid_claim_status: u16,
    pub(crate) expose_access_token_in_cookie_mode: bool,
    pub(crate) key_encryption_key: Option<String>,
    pub(crate) key_encryption_key_file: Option<String>,
}

fn seconds(name: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| errors::config(format!("{name} must be a positive number of seconds")))
}

fn anti_csrf_mode(s: &str) -> PyResult<AntiCsrfMode> {
    match s.to_ascii_uppercase().as_str() {
        "VIA_TOKEN" => Ok(AntiCsrfMode::ViaToken),
        "VIA_CUSTOM_HEADER" => Ok(AntiCsrfMode::ViaCustomHeader),
        "NONE" => Ok(AntiCsrfMode::None),
        _ => Err(errors::config(
            "anti_csrf must be \"VIA_TOKEN\", \"VIA_CUSTOM_HEADER\" or \"NONE\"",
        )),
    }
}

impl Settings {
    /// The engine's builder with the engine settings applied.
    pub(crate) fn builder(&self) -> PyResult<tessera::SessionManagerBuilder> {
        let mut b = SessionManager::builder();
        if let Some(s) = self.access_token_validity {
            b = b.access_token_validity(seconds("access_token_validity", s)?);
        }
        if let Some(s) = self.refresh_token_validity {
            b = b.refresh_token_validity(seconds("refresh_token_validity", s)?);
        }
        if let Some(s) = self.refresh_grace_period {
            b = b.refresh_grace_period(seconds("refresh_grace_period", s)?);
        }
        if let Some(on) = self.blacklisting {
            b = b.blacklisting(on);
        }
        if let Some(mode) = &self.anti_csrf {
            b = b.anti_csrf(anti_csrf_mode(mode)?);
        }
        if let Some(kek) = self.kek()? {
            b = b.key_encryption_key(kek);
        }
        Ok(b)
    }

    /// The key-encryption key: the text given, else the file given, else
    /// `TESSERA_KEY_ENCRYPTION_KEY` / `TESSERA_KEY_ENCRYPTION_KEY_FILE`
    /// (as `tessera serve` reads them); `None` when there is none.
    fn kek(&self) -> PyResult<Option<KeyEncryptionKey>> {
        let kek = match (&self.key_encryption_key, &self.key_encryption_key_file) {
            (Some(_), Some(_)) => {
                return Err(errors::config(
                    "give key_encryption_key or key_encryption_key_file, not both",
                ));
            }
            (Some(text), None) => KeyEncryptionKey::parse(text).map(Some),
            (None, Some(path)) => KeyEncryptionKey::from_file(path).map(Some),
            (None, None) => KeyEncryptionKey::from_env(),
        };
        kek.map_err(errors::engine)
    }

    /// The FDI over `manager` with the transport settings and the global
    /// claim validators applied.
    pub(crate) fn fdi(&self, manager: SessionManager, validators: &[PyValidator]) -> PyResult<Fdi> {
        let bad = |e: tessera_http::Error| errors::config(e.to_string());
        let mut fdi = Fdi::new(manager).api_base_path(&self.api_base_path);
        match (&self.api_domain, &self.website_domain) {
            (Some(api), Some(web)) => fdi = fdi.domains(api, web).map_err(bad)?,
            (None, None) => {}
            _ => {
                return Err(errors::config("api_domain and website_domain go together"));
            }
        }
        if let Some(secure) = self.cookie_secure {
            fdi = fdi.cookie_secure(secure);
        }
        if let Some(same_site) = &self.cookie_same_site {
            fdi = fdi.cookie_same_site(match same_site.to_ascii_lowercase().as_str() {
                "lax" => SameSite::Lax,
                "strict" => SameSite::Strict,
                "none" => SameSite::None,
                _ => {
                    return Err(errors::config(
                        "cookie_same_site must be \"lax\", \"strict\" or \"none\"",
                    ));
                }
            });
        }
        if let Some(domain) = &self.cookie_domain {
            fdi = fdi.cookie_domain(domain);
        }
        if let Some(domain) = &self.older_cookie_domain {
            fdi = fdi.older_cookie_domain(domain);
        }
        if let Some(mode) = &self.anti_csrf {
            fdi = fdi.anti_csrf(anti_csrf_mode(mode)?);
        }
        fdi = fdi.token_transfer_policy(
            match self.token_transfer_method.to_ascii_lowercase().as_str() {
                "any" => TokenTransferPolicy::Any,
                "cookie" => TokenTransferPolicy::Cookie,
                "header" => TokenTransferPolicy::Header,
                "cookie_for_browsers" => TokenTransferPolicy::CookieForBrowsers,
                _ => {
                    return Err(errors::config(
                        "token_transfer_method must be \"any\", \"cookie\", \"header\" or \"cookie_for_browsers\"",
                    ));
                }
            },
        );
        for v in validators {
            fdi = fdi.claim_validator(v.clone());
        }
        fdi = fdi
            .status_codes(self.session_expired_status, self.invalid_claim_status)
            .map_err(bad)?;
        Ok(fdi.expose_access_token_in_cookie_mode(self.expose_access_token_in_cookie_mode))
    }
}

/// Runs `fut` on the engine's runtime with the GIL released (startup only).
pub(crate) fn block_on<T: Send>(py: Python<'_>, fut: impl Future<Output = T> + Send) -> T {
    py.detach(|| get_runtime().block_on(fut))
}

/// What the database knows of a session, as JSON text for Python.
pub(crate) fn information_json(info: &SessionInformation) -> String {
    json!({
        "session_handle": info.session_handle,
        "user_id": info.user_id,
        "recipe_user_id": info.recipe_user_id,
        "tenant_id": info.tenant_id,
        "session_data_in_database": info.session_data,
        "custom_claims_in_access_token_payload": info.jwt_payload,
        "time_created": info.time_created_ms,
        "expiry": info.expiry_ms,
    })
    .to_string()
}

fn parse(text: &str, what: &str) -> PyResult<Value> {
    crate::json::parse(text, what)
}

#[pymethods]
impl Engine {
    /// Connects to the database (`sqlite://file.db`, `sqlite:///abs.db`,
    /// `sqlite::memory:`, `postgres://…`), creating the tables and the
    /// first signing key if missing. Blocks (with the GIL released) until
    /// the store is ready.
    #[new]
    #[pyo3(signature = (
        database_url,
        *,
        api_base_path = "/auth".to_owned(),
        api_domain = None,
        website_domain = None,
        cookie_secure = None,
        cookie_same_site = None,
        cookie_domain = None,
        older_cookie_domain = None,
        anti_csrf = None,
        token_transfer_method = "any".to_owned(),
        access_token_validity = None,
        refresh_token_validity = None,
        refresh_grace_period = None,
        blacklisting = None,
        session_expired_status = 401,
        invalid_claim_status = 403,
        expose_access_token_in_cookie_mode = false,
        key_encryption_key = None,
        key_encryption_key_file = None,
        claim_validators = Vec::new(),
        testing = false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        database_url: &str,
        api_base_path: String,
        api_domain: Option<String>,
        website_domain: Option<String>,
        cookie_secure: Option<bool>,
        cookie_same_site: Option<String>,
        cookie_domain: Option<String>,
        older_cookie_domain: Option<String>,
        anti_csrf: Option<String>,
        token_transfer_method: String,
        access_token_validity: Option<f64>,
        refresh_token_validity: Option<f64>,
        refresh_grace_period: Option<f64>,
        blacklisting: Option<bool>,
        session_expired_status: u16,
        invalid_claim_status: u16,
        expose_access_token_in_cookie_mode: bool,
        key_encryption_key: Option<String>,
        key_encryption_key_file: Option<String>,
        claim_validators: Vec<Bound<'_, PyAny>>,
        testing: bool,
    ) -> PyResult<Self> {
        let validators = crate::claims::from_list(&claim_validators)?;
        let settings = Settings {
            api_base_path,
            api_domain,
            website_domain,
            cookie_secure,
            cookie_same_site,
            cookie_domain,
            older_cookie_domain,
            anti_csrf,
            token_transfer_method,
            access_token_validity,
            refresh_token_validity,
            refresh_grace_period,
            blacklisting,
            session_expired_status,
            invalid_claim_status,
            expose_access_token_in_cookie_mode,
            key_encryption_key,
            key_encryption_key_file,
        };
        if testing {
            #[cfg(feature = "testing")]
            return crate::testing::engine(py, database_url, &settings, validators);
            #[cfg(not(feature = "testing"))]
            return Err(errors::config(
                "testing=True needs a wheel built with the `testing` feature",
            ));
        }
        let builder = settings.builder()?.database_url(database_url);
        let manager = block_on(py, builder.build()).map_err(errors::engine)?;
        Ok(Self {
            fdi: settings.fdi(manager, &validators)?,
            validators,
            #[cfg(feature = "testing")]
            probe: None,
        })
    }

    /// The refresh path (`{api_base_path}/session/refresh`).
    #[getter]
    fn refresh_path(&self) -> String {
        self.fdi.refresh_path().to_owned()
    }

    /// The id of the key-encryption key the signing keys are sealed under
    /// (16 hex digits, safe to log), or `None` when they are stored in
    /// plain text.
    #[getter]
    fn key_encryption_key_id(&self) -> Option<String> {
        self.fdi.manager().key_encryption_key_id()
    }

    /// The global claim validators, as given.
    #[getter]
    fn claim_validators<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyAny>> {
        self.validators.iter().map(|v| v.object(py)).collect()
    }

    /// The sign-out path (`{api_base_path}/signout`).
    #[getter]
    fn signout_path(&self) -> String {
        tessera_http::signout_path(self.fdi.base_path())
    }

    /// One request's context: `headers` are ASGI's `(name, value)` byte
    /// pairs (only the ones the FDI core reads are copied).
    #[pyo3(signature = (method, path, headers, client_ip = None))]
    fn context(
        &self,
        method: String,
        path: String,
        headers: &Bound<'_, PyAny>,
        client_ip: Option<String>,
    ) -> PyResult<Context> {
        Ok(Context::new(
            tessera_http::RequestContext::new(self.fdi.clone()),
            Req::from_asgi(method, path, headers)?,
            client_ip,
        ))
    }

    /// Revokes one session; `True` if it existed. 1 database call.
    fn revoke_session<'py>(
        &self,
        py: Python<'py>,
        session_handle: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.fdi.manager().clone();
        future_into_py(py, async move {
            m.revoke_session(&session_handle)
                .await
                .map_err(errors::engine)
        })
    }

    /// Revokes every session of a user; their handles. 1 database call.
    fn revoke_all_sessions_for_user<'py>(
        &self,
        py: Python<'py>,
        user_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.fdi.manager().clone();
        future_into_py(py, async move {
            m.revoke_all_sessions_for_user(&user_id)
                .await
                .map_err(errors::engine)
        })
    }

    /// Revokes the given sessions; the handles that existed.
    fn revoke_multiple_sessions<'py>(
        &self,
        py: Python<'py>,
        session_handles: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.fdi.manager().clone();
        future_into_py(py, async move {
            m.revoke_multiple_sessions(&session_handles)
                .await
                .map_err(errors::engine)
        })
    }

    /// Handles of a user's live sessions, oldest first. 1 database call.
    fn get_all_session_handles_for_user<'py>(
        &self,
        py: Python<'py>,
        user_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.fdi.manager().clone();
        future_into_py(py, async move {
            m.get_all_session_handles_for_user(&user_id)
                .await
                .map_err(errors::engine)
        })
    }

    /// What the database knows of a live session (JSON text), or `None`.
    fn get_session_information<'py>(
        &self,
        py: Python<'py>,
        session_handle: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.fdi.manager().clone();
        future_into_py(py, async move {
            Ok(m.get_session_information(&session_handle)
                .await
                .map_err(errors::engine)?
                .as_ref()
                .map(information_json))
        })
    }

    /// The session data of a live session (JSON text), or `None`.
    fn get_session_data<'py>(
        &self,
        py: Python<'py>,
        session_handle: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.fdi.manager().clone();
        future_into_py(py, async move {
            Ok(m.get_session_data(&session_handle)
                .await
                .map_err(errors::engine)?
                .map(|v| v.to_string()))
        })
    }

    /// Overwrites a session's data (JSON text); `False` if it is gone.
    fn update_session_data<'py>(
        &self,
        py: Python<'py>,
        session_handle: String,
        data: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.fdi.manager().clone();
        let data = parse(data, "the session data")?;
        future_into_py(py, async move {
            m.update_session_data(&session_handle, data)
                .await
                .map_err(errors::engine)
        })
    }

    /// Replaces a session's stored access-token payload (JSON text); the
    /// client gets it with its next refresh. `False` if it is gone.
    fn update_access_token_payload<'py>(
        &self,
        py: Python<'py>,
        session_handle: String,
        payload: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.fdi.manager().clone();
        let payload = parse(payload, "the access token payload")?;
        future_into_py(py, async move {
            m.update_jwt_payload(&session_handle, payload)
                .await
                .map_err(errors::engine)
        })
    }

    /// Closes the store's connections.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.fdi.manager().clone();
        future_into_py(py, async move {
            m.close().await;
            Ok(())
        })
    }

    /// Moves the test clock forward (`testing=True` only).
    fn advance_clock(&self, seconds_: f64) -> PyResult<()> {
        #[cfg(feature = "testing")]
        if let Some(p) = &self.probe {
            p.clock.advance(seconds("seconds", seconds_)?);
            return Ok(());
        }
        let _ = seconds_;
        Err(errors::config("advance_clock needs Engine(testing=True)"))
    }

    /// Every session-data and payload value the store wrote, JSON text
    /// `{"data": [...], "payload": [...]}` (`testing=True` only).
    fn store_writes(&self) -> PyResult<String> {
        #[cfg(feature = "testing")]
        if let Some(p) = &self.probe {
            return Ok(p.writes());
        }
        Err(errors::config("store_writes needs Engine(testing=True)"))
    }

    /// Session-table calls so far (`testing=True` only).
    fn session_calls(&self) -> PyResult<usize> {
        #[cfg(feature = "testing")]
        if let Some(p) = &self.probe {
            return Ok(p.session_calls());
        }
        Err(errors::config("session_calls needs Engine(testing=True)"))
    }
}
