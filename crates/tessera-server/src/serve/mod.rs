//! The HTTP server: SuperTokens' Core Driver Interface for the session
//! recipe (CDI 5.0–5.6, each with the behaviour the core gives it: see
//! `version.rs`; supertokens-python 0.31 and supertokens-node 24 speak 5.4),
//! JWKS, `/hello` and `/metrics`.
//!
//! The handlers translate JSON to engine calls and back, nothing more; every
//! rule about tokens lives in the `tessera` engine. Routes, after an optional
//! `/appid-<id>` prefix is removed (see `path.rs`):
//!
//! | method | path | api-key | handler |
//! |---|---|---|---|
//! | GET | `/apiversion` | yes | `core::api_version` |
//! | any | `/`, `/hello`, `/{tenant}/hello` | no | `core::hello` |
//! | GET | `/.well-known/jwks.json` | no | `core::jwks` |
//! | GET | `/metrics` | yes | `core::metrics` |
//! | GET | `/user/id` | yes | `core::get_user` |
//! | POST | `/recipe/session`, `/{tenant}/recipe/session` | yes | `session::create` |
//! | GET | `/recipe/session?sessionHandle=` | yes | `handles::information` |
//! | POST | `/recipe/session/verify` | yes | `session::verify` |
//! | POST | `/recipe/session/refresh` | yes | `session::refresh` |
//! | POST | `/recipe/session/regenerate` | yes | `session::regenerate` |
//! | POST | `/recipe/session/remove`, `/{tenant}/recipe/session/remove` | yes | `handles::remove` |
//! | GET | `/recipe/session/user`, `/{tenant}/recipe/session/user` | yes | `handles::list` |
//! | PUT | `/recipe/session/data` | yes | `handles::update_data` |
//! | PUT | `/recipe/jwt/data` | yes | `handles::update_jwt_data` |
//! | POST | `/recipe/jwt` | yes | `jwt::create` |
//! | GET | `/recipe/jwt/jwks` | yes | `core::jwks` |
//! | PUT | `/recipe/multitenancy/app/v2`, `/recipe/multitenancy/app` | yes | `apps::create_or_update` |
//! | POST | `/recipe/multitenancy/app/remove` | yes | `apps::remove` |
//! | GET | `/recipe/multitenancy/app/list/v2`, `/recipe/multitenancy/app/list` | yes | `apps::list` |
//! | GET | `/recipe/multitenancy/tenant/list/v2`, `/recipe/multitenancy/tenant/list` | yes | `apps::list_tenants` |
//!
//! Every route is served per app: the `/appid-<id>` prefix picks the app
//! (`apps.rs`), whose own manager and API keys the handlers then use.
//!
//! Anything else is `404 Not found`; a known path with another method is
//! `405 Method not supported` (SuperTokens core's texts). Every route that
//! needs the API key (when keys are configured) also refuses browsers
//! (`403`; on a keyless server, also any `Host` but a loopback one: see
//! `guard.rs`), and every CDI body must be `application/json` (`415`; see
//! `input.rs`). Bodies are limited
//! to [`MAX_BODY_BYTES`] (`413`), headers to [`MAX_HEADER_BYTES`] (`431`)
//! and requests to [`REQUEST_TIMEOUT`] (`408`), each with a one-line text
//! answer; connections to [`ServerLimits`] (see [`serve_with`]).

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{any, get, post, put};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

use crate::metrics::Metrics;

mod app_config;
mod apps;
mod claims;
mod core;
mod error;
mod guard;
mod handles;
mod input;
mod jwt;
mod layers;
mod path;
mod reply;
mod session;
mod version;

pub use version::{LEGACY_CDI_VERSIONS, SUPPORTED_CDI_VERSIONS};
/// Largest request body accepted (the SDKs send a few KiB at most).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest a request may take before it is answered `408`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most bytes of header names and values a request may carry before it is
/// answered `431` (the SDKs send well under 2 KiB).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

pub use apps::MAX_LOADED_APPS;
pub use guard::HostPolicy;
pub use tessera_axum::ServerLimits;

/// The route templates, as matched after path normalisation. They are also
/// the only values of the `endpoint` metrics label besides `unmatched`.
mod route {
    pub(super) const ROOT: &str = "/";
    pub(super) const HELLO: &str = "/hello";
    pub(super) const TENANT_HELLO: &str = "/{tenant}/hello";
    pub(super) const JWKS: &str = "/.well-known/jwks.json";
    pub(super) const API_VERSION: &str = "/apiversion";
    pub(super) const METRICS: &str = "/metrics";
    pub(super) const USER_ID: &str = "/user/id";
    pub(super) const SESSION: &str = "/recipe/session";
    pub(super) const TENANT_SESSION: &str = "/{tenant}/recipe/session";
    pub(super) const VERIFY: &str = "/recipe/session/verify";
    pub(super) const REFRESH: &str = "/recipe/session/refresh";
    pub(super) const REGENERATE: &str = "/recipe/session/regenerate";
    pub(super) const REMOVE: &str = "/recipe/session/remove";
    pub(super) const TENANT_REMOVE: &str = "/{tenant}/recipe/session/remove";
    pub(super) const USER: &str = "/recipe/session/user";
    pub(super) const TENANT_USER: &str = "/{tenant}/recipe/session/user";
    pub(super) const SESSION_DATA: &str = "/recipe/session/data";
    pub(super) const JWT_DATA: &str = "/recipe/jwt/data";
    pub(super) const JWT: &str = "/recipe/jwt";
    pub(super) const JWT_JWKS: &str = "/recipe/jwt/jwks";
    pub(super) const APP_V2: &str = "/recipe/multitenancy/app/v2";
    pub(super) const APP: &str = "/recipe/multitenancy/app";
    pub(super) const APP_REMOVE: &str = "/recipe/multitenancy/app/remove";
    pub(super) const APP_LIST_V2: &str = "/recipe/multitenancy/app/list/v2";
    pub(super) const APP_LIST: &str = "/recipe/multitenancy/app/list";
    pub(super) const TENANT_LIST_V2: &str = "/recipe/multitenancy/tenant/list/v2";
    pub(super) const TENANT_LIST: &str = "/recipe/multitenancy/tenant/list";
}

/// Every route template the router serves (see [`crate::metrics`]).
pub const ROUTE_TEMPLATES: &[&str] = &[
    route::ROOT,
    route::HELLO,
    route::TENANT_HELLO,
    route::JWKS,
    route::API_VERSION,
    route::METRICS,
    route::USER_ID,
    route::SESSION,
    route::TENANT_SESSION,
    route::VERIFY,
    route::REFRESH,
    route::REGENERATE,
    route::REMOVE,
    route::TENANT_REMOVE,
    route::USER,
    route::TENANT_USER,
    route::SESSION_DATA,
    route::JWT_DATA,
    route::JWT,
    route::JWT_JWKS,
    route::APP_V2,
    route::APP,
    route::APP_REMOVE,
    route::APP_LIST_V2,
    route::APP_LIST,
    route::TENANT_LIST_V2,
    route::TENANT_LIST,
];

/// What every handler shares: the session manager, the API keys, the
/// `Host` rule of a keyless server and the metrics. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    manager: tessera::SessionManager,
    api_keys: Vec<String>,
    host_policy: HostPolicy,
    metrics: Arc<Metrics>,
    /// The registry of apps, once the server runs (see `apps.rs`).
    apps: Weak<apps::Apps>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("manager", &self.inner.manager)
            .field(
                "api_keys",
                &format_args!("<{} keys>", self.inner.api_keys.len()),
            )
            .field("host_policy", &self.inner.host_policy)
            .field("app_id", &self.app_id())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for a server on `manager`; `api_keys` empty means no key is
    /// required, and then only loopback `Host` values are accepted
    /// ([`HostPolicy::Loopback`]).
    pub fn new(manager: tessera::SessionManager, api_keys: Vec<String>) -> Self {
        Self::with_host_policy(manager, api_keys, HostPolicy::Loopback)
    }

    /// [`AppState::new`] with the `Host` rule a keyless server applies.
    pub fn with_host_policy(
        manager: tessera::SessionManager,
        api_keys: Vec<String>,
        host_policy: HostPolicy,
    ) -> Self {
        Self {
            inner: Arc::new(StateInner {
                manager,
                api_keys,
                host_policy,
                metrics: Arc::new(Metrics::new()),
                apps: Weak::new(),
            }),
        }
    }

    /// This state, as the public app's state in the registry `apps`.
    fn in_registry(&self, apps: Weak<apps::Apps>) -> Self {
        Self {
            inner: Arc::new(StateInner {
                manager: self.inner.manager.clone(),
                api_keys: self.inner.api_keys.clone(),
                host_policy: self.inner.host_policy,
                metrics: Arc::clone(&self.inner.metrics),
                apps,
            }),
        }
    }

    /// The state of another app of the same server: its manager and API
    /// keys, the server's `Host` rule, metrics and registry.
    fn for_app(&self, manager: tessera::SessionManager, api_keys: Vec<String>) -> Self {
        Self {
            inner: Arc::new(StateInner {
                manager,
                api_keys,
                host_policy: self.inner.host_policy,
                metrics: Arc::clone(&self.inner.metrics),
                apps: self.inner.apps.clone(),
            }),
        }
    }

    /// The app this state serves.
    pub fn app_id(&self) -> &str {
        self.inner.manager.app_id()
    }

    fn apps(&self) -> Option<Arc<apps::Apps>> {
        self.inner.apps.upgrade()
    }

    /// The session manager.
    pub fn manager(&self) -> &tessera::SessionManager {
        &self.inner.manager
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn api_keys(&self) -> &[String] {
        &self.inner.api_keys
    }

    pub(crate) fn host_policy(&self) -> HostPolicy {
        self.inner.host_policy
    }
}

/// The routes, with their middleware, before path normalisation.
pub fn router(state: AppState) -> Router {
    // CDI endpoints: API key and `cdi-version` checked.
    // Create, verify and regenerate also serve the core's older versions
    // (see `version.rs`).
    let legacy = Router::new()
        .route(route::SESSION, post(session::create))
        .route(route::TENANT_SESSION, post(session::create_in_tenant))
        .route(route::VERIFY, post(session::verify))
        .route(route::REGENERATE, post(session::regenerate))
        .route_layer(axum::middleware::from_fn(
            layers::check_cdi_version_or_legacy,
        ));
    let cdi = Router::new()
        .route(route::SESSION, get(handles::information))
        .route(route::REFRESH, post(session::refresh))
        .route(route::REMOVE, post(handles::remove))
        .route(route::TENANT_REMOVE, post(handles::remove_in_tenant))
        .route(route::USER, get(handles::list))
        .route(route::TENANT_USER, get(handles::list_in_tenant))
        .route(route::SESSION_DATA, put(handles::update_data))
        .route(route::JWT_DATA, put(handles::update_jwt_data))
        .route(route::USER_ID, get(core::get_user))
        .route(route::JWT, post(jwt::create))
        .route(route::JWT_JWKS, get(core::jwks))
        .route_layer(axum::middleware::from_fn(layers::check_cdi_version))
        .merge(legacy);
    // API key only (no CDI version negotiated yet, or not a CDI call);
    // browsers are refused before the key is looked at.
    let keyed = cdi
        .route(route::API_VERSION, get(core::api_version))
        .route(route::METRICS, get(core::metrics))
        .route(route::APP_V2, put(apps::create_or_update))
        .route(route::APP, put(apps::create_or_update))
        .route(route::APP_REMOVE, post(apps::remove))
        .route(route::APP_LIST_V2, get(apps::list))
        .route(route::APP_LIST, get(apps::list))
        .route(route::TENANT_LIST_V2, get(apps::list_tenants))
        .route(route::TENANT_LIST, get(apps::list_tenants))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::require_api_key,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::refuse_browsers,
        ));
    // Open to anyone, as in SuperTokens core: health check and public keys.
    let open = Router::new()
        .route(route::ROOT, any(core::hello))
        .route(route::HELLO, any(core::hello))
        .route(route::TENANT_HELLO, any(core::hello))
        .route(route::JWKS, get(core::jwks));
    keyed
        .merge(open)
        .fallback(core::not_found)
        .method_not_allowed_fallback(core::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(layers::limits))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::record_metrics,
        ))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes; requests in
/// flight then finish before this returns. Connection limits are
/// [`ServerLimits::default`]: see [`serve_with`].
pub async fn serve<F>(listener: TcpListener, state: AppState, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_with(listener, state, ServerLimits::default(), shutdown).await
}

/// [`serve`] with these connection limits: a client that does not finish
/// its request headers within the header read timeout is disconnected (no
/// slowloris), and a request head beyond the buffer or header count is
/// answered `431` by hyper itself. Per-request limits (header bytes, body
/// size, time) are the router's, with the core's plain-text answers.
pub async fn serve_with<F>(
    listener: TcpListener,
    state: AppState,
    limits: ServerLimits,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    // The app-id prefix must go before routing: the dispatcher reads it,
    // then hands the request to that app's router.
    let apps = apps::Apps::start(state)
        .await
        .map_err(|e| std::io::Error::other(format!("cannot read the apps table: {e}")))?;
    let app = Router::new()
        .fallback(apps::dispatch)
        .with_state(Arc::clone(&apps));
    let served = tessera_axum::serve(listener, app, limits, shutdown).await;
    drop(apps);
    served
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed
/// when this is called, not when the future is first polled, so a signal
/// that arrives once the server has said it is listening always shuts it
/// down gracefully (call it before printing the readiness line).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {},
                () = wait(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!(target: "tessera_server", "shutdown signal received; finishing requests in flight");
    }
}
