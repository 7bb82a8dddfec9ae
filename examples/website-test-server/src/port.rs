//! One listening server (port 8080 or 8082): its counters, the settings the
//! suite last asked for, and the router built from them. A setup call
//! rebuilds the router (a new [`SessionLayer`] over the chosen app's
//! manager), as the upstream server re-initialises supertokens-node.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::Router;
use axum::middleware::from_fn_with_state;
use tessera::{AntiCsrfMode, SessionManager};
use tessera_axum::{SameSite, SessionLayer};

use crate::apps::Apps;
use crate::routes;

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
    router: RwLock<Router>,
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
        let port = Arc::new(Self {
            site,
            counters: Counters::default(),
            setup: Mutex::new(setup.clone()),
            router: RwLock::new(Router::new()),
        });
        port.install(&setup);
        port
    }

    /// The router in force.
    pub fn router(&self) -> Router {
        self.router
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

    /// Changes the settings and rebuilds the router.
    pub fn reconfigure(self: &Arc<Self>, change: impl FnOnce(&mut Setup)) {
        let setup = {
            let mut guard = self.setup.lock().unwrap_or_else(PoisonError::into_inner);
            change(&mut guard);
            guard.clone()
        };
        self.install(&setup);
    }

    fn install(self: &Arc<Self>, setup: &Setup) {
        let router = build(self, setup);
        *self.router.write().unwrap_or_else(PoisonError::into_inner) = router;
    }
}

/// The app for one set of settings: cookies as supertokens-node sets them
/// for `apiDomain 0.0.0.0:8080` and `websiteDomain http://localhost:8080`
/// (same site: `SameSite=Lax`; plain HTTP: not `Secure`).
fn build(port: &Arc<Port>, setup: &Setup) -> Router {
    let layer = SessionLayer::new(setup.manager.clone())
        .cookie_secure(false)
        .cookie_same_site(SameSite::Lax)
        .anti_csrf(if setup.anti_csrf {
            AntiCsrfMode::ViaToken
        } else {
            AntiCsrfMode::None
        })
        .expose_access_token_in_cookie_mode(setup.jwt)
        .refresh_model(port.site.refresh_model);
    let auth = layer
        .routes()
        .route_layer(from_fn_with_state(port.clone(), routes::count_refresh));
    routes::router()
        .with_state(port.clone())
        .merge(auth)
        .layer(layer)
}
