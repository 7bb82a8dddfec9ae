//! One listening server (port 8080 or 8082): its counters, the settings the
//! suite last asked for, and the FDI built from them. A setup call rebuilds
//! the FDI, as the upstream server re-initialises supertokens-node; each
//! adapter runs its session middleware on the FDI in force at the request.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tessera::{AntiCsrfMode, SessionManager};
use tessera_http::{Fdi, SameSite};

use crate::apps::Apps;

/// The refresh route's path (the FDI's default base path).
pub const REFRESH_PATH: &str = "/auth/session/refresh";

/// What both ports share.
#[derive(Debug)]
pub struct Site {
    /// The apps ("the core").
    pub apps: Apps,
    /// Holds `index.html`, `angular/` and `vendor/` (see the crate docs).
    pub static_dir: PathBuf,
    /// What `GET /getPackageVersion` answers (the SDK's `package_version`).
    pub package_version: String,
    /// The FDI's refresh-token model: rotation at refresh (tessera's
    /// default) or the core's CDI 5.4 child promotion, under which the
    /// first request after a refresh answers with a new access token as
    /// supertokens-node on the core does.
    pub refresh_model: tessera::RefreshModel,
}

/// The three counters of the upstream server, reset by `POST /beforeeach`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Successful refreshes that carried a `rid` header.
    pub refresh_called: AtomicU64,
    /// Every call of the refresh route.
    pub refresh_attempted: AtomicU64,
    /// Successful `GET /`.
    pub get_session_called: AtomicU64,
}

impl Counters {
    /// Sets all three to 0.
    pub fn reset(&self) {
        self.refresh_called.store(0, Ordering::SeqCst);
        self.refresh_attempted.store(0, Ordering::SeqCst);
        self.get_session_called.store(0, Ordering::SeqCst);
    }
}

/// The backend settings the suite chooses through `POST /test/setup/st`.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The app whose sessions this port serves.
    pub manager: SessionManager,
    /// `enableAntiCsrf`: `VIA_TOKEN` when true, `NONE` otherwise.
    pub anti_csrf: bool,
    /// `enableJWT`: a `customClaim` in new sessions' payload and the access
    /// token exposed in cookie mode too.
    pub jwt: bool,
}

/// One listening server.
#[derive(Debug)]
pub struct Port {
    /// What both ports share.
    pub site: Arc<Site>,
    /// This port's counters.
    pub counters: Counters,
    setup: Mutex<Setup>,
    fdi: RwLock<Fdi>,
}

impl Port {
    /// A port serving the initial app with anti-CSRF on (the upstream
    /// server's settings at start-up).
    pub fn new(site: Arc<Site>) -> Arc<Self> {
        let setup = Setup {
            manager: site.apps.initial(),
            anti_csrf: true,
            jwt: false,
        };
        let fdi = fdi(&setup, site.refresh_model);
        Arc::new(Self {
            site,
            counters: Counters::default(),
            setup: Mutex::new(setup),
            fdi: RwLock::new(fdi),
        })
    }

    /// The FDI in force.
    pub fn fdi(&self) -> Fdi {
        self.fdi
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The settings in force.
    pub fn setup(&self) -> Setup {
        self.setup
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the settings and rebuilds the FDI.
    pub fn reconfigure(&self, change: impl FnOnce(&mut Setup)) {
        let mut guard = self.setup.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut guard);
        let fdi = fdi(&guard, self.site.refresh_model);
        *self.fdi.write().unwrap_or_else(PoisonError::into_inner) = fdi;
    }

    /// Counts a call of the refresh route (before it runs).
    pub fn refresh_attempted(&self) {
        self.counters
            .refresh_attempted
            .fetch_add(1, Ordering::SeqCst);
    }

    /// After the refresh route answered `ok` (2xx) or not: counts a
    /// successful refresh that carried `rid`, and gives the body the
    /// upstream server answers a success with (`refresh success`, or
    /// `refresh failed` without `rid`: the tokens are rotated all the same).
    /// `None`: leave the answer as it is.
    pub fn refresh_answered(&self, has_rid: bool, ok: bool) -> Option<&'static str> {
        if !ok {
            return None;
        }
        if has_rid {
            self.counters.refresh_called.fetch_add(1, Ordering::SeqCst);
            Some("refresh success")
        } else {
            Some("refresh failed")
        }
    }
}

/// The FDI for one set of settings: cookies as supertokens-node sets them
/// for `apiDomain 0.0.0.0:8080` and `websiteDomain http://localhost:8080`
/// (same site: `SameSite=Lax`; plain HTTP: not `Secure`).
fn fdi(setup: &Setup, model: tessera::RefreshModel) -> Fdi {
    Fdi::new(setup.manager.clone())
        .cookie_secure(false)
        .cookie_same_site(SameSite::Lax)
        .anti_csrf(if setup.anti_csrf {
            AntiCsrfMode::ViaToken
        } else {
            AntiCsrfMode::None
        })
        .expose_access_token_in_cookie_mode(setup.jwt)
        .refresh_model(model)
}
