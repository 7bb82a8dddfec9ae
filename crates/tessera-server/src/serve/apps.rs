//! Apps: SuperTokens' multitenancy at the app level, as far as the session
//! recipe needs it.
//!
//! One database holds every app; each app has its own sessions, signing
//! keys (dynamic and static), refresh MAC key, settings and API keys (the
//! engine's app-scoped store views), so a token of one app never verifies
//! in another. `public` is the server's own app: its settings are the
//! server's (flags, environment, config file), and the core refuses to
//! change them through the API ("Cannot modify base config"). Every other
//! app is created with `PUT /recipe/multitenancy/app/v2` and its
//! `coreConfig` (see `app_config.rs`) is kept in the apps table, so apps
//! outlive restarts.
//!
//! A request reaches an app through the `/appid-<id>` prefix of its path
//! (`path.rs`). The dispatcher below looks the app up, builds its session
//! manager on first use and hands the request to the app's router, so
//! every handler works on its own app's manager and API keys. An app id
//! that does not exist is answered `400 AppId or tenantId not found => …`,
//! as the core does. At most [`MAX_LOADED_APPS`] managers are kept; the
//! least recently used one is closed (its background task stops; its rows
//! stay) and rebuilt when its app is used again, so many apps (the SDKs'
//! test suites create one per test) cost bounded memory and tasks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera::SessionManager;
use tokio::sync::OnceCell;
use tower::ServiceExt as _;

use super::app_config::{self, AppConfig};
use super::error::ApiError;
use super::input::JsonInput;
use super::{AppState, path, reply, router};

/// The app every request without an `/appid-` prefix goes to.
pub(crate) const PUBLIC_APP: &str = tessera::store::DEFAULT_APP_ID;

/// Most app managers kept at once (the public app's is not counted).
pub const MAX_LOADED_APPS: usize = 64;

/// Verified-token cache entries of a non-public app's manager.
const APP_CACHE_CAPACITY: usize = 1000;

/// Longest app id accepted (the core sets none; a path segment should be short).
const MAX_APP_ID_LEN: usize = 128;

/// The registry of apps, shared by the dispatcher and (weakly) by every
/// app's state.
pub(crate) struct Apps {
    public: Loaded,
    /// Each stored app's merged `coreConfig`.
    configs: RwLock<HashMap<String, Map<String, Value>>>,
    loaded: Mutex<HashMap<String, Slot>>,
    clock: AtomicU64,
}

/// An app ready to serve: its state and its router.
#[derive(Clone)]
struct Loaded {
    state: AppState,
    router: Router,
}

struct Slot {
    cell: Arc<OnceCell<Loaded>>,
    last_used: u64,
}

impl Apps {
    /// The registry for a server whose public app is `state`, with the apps
    /// the store holds.
    pub(crate) async fn start(state: AppState) -> Result<Arc<Self>, tessera::Error> {
        let stored = match state.manager().list_apps().await {
            Ok(stored) => stored,
            // A custom store without apps: the server serves `public` only.
            Err(tessera::Error::InvalidInput(reason)) => {
                tracing::warn!(target: "tessera_server", %reason, "this store keeps no apps; serving the public app only");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let configs = stored
            .into_iter()
            .filter_map(|app| match app.config {
                Value::Object(config) => Some((app.app_id, config)),
                _ => None,
            })
            .collect();
        Ok(Arc::new_cyclic(|weak| {
            let state = state.in_registry(weak.clone());
            Self {
                public: Loaded {
                    router: router(state.clone()),
                    state,
                },
                configs: RwLock::new(configs),
                loaded: Mutex::new(HashMap::new()),
                clock: AtomicU64::new(0),
            }
        }))
    }

    /// The router of `app_id`, building its manager on first use.
    async fn router_for(&self, app_id: Option<&str>) -> Result<Router, ApiError> {
        let app_id = match app_id {
            None | Some(PUBLIC_APP) => return Ok(self.public.router.clone()),
            Some(id) => id,
        };
        // Only a stored app gets a slot: unknown ids never evict a manager.
        let known = self
            .configs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(app_id);
        if !known {
            return Err(app_not_found(app_id));
        }
        let cell = self.slot(app_id);
        let loaded = cell
            .get_or_try_init(|| async {
                let config = self
                    .config_of(app_id)
                    .ok_or_else(|| app_not_found(app_id))?;
                self.load(app_id, &config).await
            })
            .await
            .cloned();
        match loaded {
            Ok(loaded) => Ok(loaded.router),
            Err(e) => {
                self.unload(app_id);
                Err(e)
            }
        }
    }

    fn config_of(&self, app_id: &str) -> Option<Map<String, Value>> {
        self.configs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(app_id)
            .cloned()
    }

    /// The cell of `app_id`'s manager, made when missing; the least
    /// recently used other app is closed when over [`MAX_LOADED_APPS`].
    fn slot(&self, app_id: &str) -> Arc<OnceCell<Loaded>> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = loaded.get_mut(app_id) {
            slot.last_used = now;
            return Arc::clone(&slot.cell);
        }
        if loaded.len() >= MAX_LOADED_APPS
            && let Some(oldest) = loaded
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(id, _)| id.clone())
            && let Some(slot) = loaded.remove(&oldest)
        {
            close_later(&slot.cell);
        }
        let cell = Arc::new(OnceCell::new());
        loaded.insert(
            app_id.to_owned(),
            Slot {
                cell: Arc::clone(&cell),
                last_used: now,
            },
        );
        cell
    }

    /// Closes `app_id`'s manager, if one is built (the next request builds
    /// a new one with the app's current settings).
    fn unload(&self, app_id: &str) {
        let slot = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(app_id);
        if let Some(slot) = slot {
            close_later(&slot.cell);
        }
    }

    async fn load(&self, app_id: &str, config: &Map<String, Value>) -> Result<Loaded, ApiError> {
        let settings = app_config::parse(config).map_err(|e| {
            tracing::error!(target: "tessera_server", app_id, error = %e, "stored app settings are invalid");
            ApiError::Internal
        })?;
        let manager = self
            .build_manager(app_id, &settings)
            .map_err(|e| ApiError::BadRequest(format!("Invalid core config: {e}")))?
            .build()
            .await?;
        let api_keys = settings
            .api_keys
            .unwrap_or_else(|| self.public.state.api_keys().to_vec());
        let state = self.public.state.for_app(manager, api_keys);
        tracing::debug!(target: "tessera_server", app_id, "app loaded");
        Ok(Loaded {
            router: router(state.clone()),
            state,
        })
    }

    /// The builder of `app_id`'s manager: the public app's configuration
    /// with the app's settings over it, checked. The error is the message
    /// after the core's `Invalid core config: `.
    fn build_manager(
        &self,
        app_id: &str,
        settings: &AppConfig,
    ) -> Result<tessera::SessionManagerBuilder, String> {
        let public = self.public.state.manager();
        let mut config = public.config().clone();
        let test_mode = config.test_mode;
        if let Some(d) = settings.access_token_validity {
            config.access_token_validity = d;
        }
        if let Some(d) = settings.refresh_token_validity {
            config.refresh_token_validity = d;
        }
        if let Some(on) = settings.blacklisting {
            config.blacklisting = on;
        }
        if let Some(d) = settings.signing_key_rotation_interval {
            if d < tessera::MIN_SIGNING_KEY_ROTATION_INTERVAL && !test_mode {
                return Err(
                    "'access_token_dynamic_signing_key_update_interval' must be at least \
                            60 seconds (0.0167 hours) unless tessera serve runs in test mode."
                        .to_owned(),
                );
            }
            config.signing_key_rotation_interval = d;
            // A new key is published this long before it signs; keep that
            // well inside a short test-mode interval.
            config.signing_key_publish_lead = config.signing_key_publish_lead.min(d / 4);
        }
        if let Some(on) = settings.use_dynamic_signing_key {
            config.use_dynamic_signing_key = on;
        }
        if let Some(d) = settings.refresh_grace_period {
            config.refresh_grace_period = d;
        }
        if let Some(j) = settings.access_token_validity_jitter {
            config.access_token_validity_jitter = j;
        }
        if config.refresh_token_validity <= config.access_token_validity && !test_mode {
            return Err(
                "'refresh_token_validity' must be strictly greater than 'access_token_validity'."
                    .to_owned(),
            );
        }
        config.verified_token_cache_capacity =
            config.verified_token_cache_capacity.min(APP_CACHE_CAPACITY);
        config.validate().map_err(|e| match e {
            tessera::Error::InvalidInput(m) => m,
            other => other.to_string(),
        })?;
        public
            .app_builder(app_id)
            .map(|b| b.config(config))
            .map_err(|e| e.to_string())
    }

    /// Creates or updates an app; returns whether it is new.
    async fn put(&self, app_id: &str, update: Map<String, Value>) -> Result<bool, ApiError> {
        let stored = self.config_of(app_id);
        let merged = app_config::merge(stored.as_ref().unwrap_or(&Map::new()), update);
        let settings = app_config::parse(&merged)
            .map_err(|e| ApiError::BadRequest(format!("Invalid core config: {e}")))?;
        self.build_manager(app_id, &settings)
            .map_err(|e| ApiError::BadRequest(format!("Invalid core config: {e}")))?;
        let created = self
            .public
            .state
            .manager()
            .put_app(app_id, &Value::Object(merged.clone()))
            .await?;
        self.configs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(app_id.to_owned(), merged);
        self.unload(app_id);
        Ok(created)
    }

    /// Deletes an app with its sessions and keys; returns whether it existed.
    async fn remove(&self, app_id: &str) -> Result<bool, ApiError> {
        let existed = self.public.state.manager().delete_app(app_id).await?;
        self.configs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(app_id);
        self.unload(app_id);
        Ok(existed)
    }

    fn app_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .configs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        ids.push(PUBLIC_APP.to_owned());
        ids.sort();
        ids
    }
}

/// Closes a built manager in the background (requests that already hold
/// it finish on it; its store view leaves the shared pool open).
fn close_later(cell: &OnceCell<Loaded>) {
    if let Some(loaded) = cell.get() {
        let manager: SessionManager = loaded.state.manager().clone();
        tokio::spawn(async move { manager.close().await });
    }
}

/// The core's answer for an app that does not exist.
fn app_not_found(app_id: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "AppId or tenantId not found => Tenant with the following connectionURIDomain, appId and \
         tenantId combination not found: (, {app_id}, public)"
    ))
}

/// Every request: find its app, then let the app's router answer.
pub(crate) async fn dispatch(State(apps): State<Arc<Apps>>, request: Request) -> Response {
    let (request, app_id) = path::split_app(request);
    match apps.router_for(app_id.as_deref()).await {
        Ok(router) => match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        Err(e) => e.into_response(),
    }
}

/// The core's normalisation of an app id in a body: trimmed, lower-cased,
/// `[a-z0-9-]+`, not starting with `appid-`.
fn normalise_app_id(app_id: &str) -> Result<String, ApiError> {
    let id = app_id.trim().to_ascii_lowercase();
    let bad = |m: &str| Err(ApiError::BadRequest(m.to_owned()));
    if id.is_empty() {
        return bad("appId should not be an empty String");
    }
    if id.starts_with("appid-") {
        return bad("appId must not start with 'appid-'");
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return bad("appId can only contain letters, numbers and hyphens");
    }
    if id.len() > MAX_APP_ID_LEN {
        return bad("appId is too long (at most 128 characters)");
    }
    Ok(id)
}

/// The registry behind a request's state, which only the public app may
/// change.
fn registry_for_public(state: &AppState, what: &'static str) -> Result<Arc<Apps>, ApiError> {
    if state.app_id() != PUBLIC_APP {
        return Err(ApiError::Forbidden(what));
    }
    state.apps().ok_or(ApiError::NotFound)
}

/// `PUT /recipe/multitenancy/app/v2` (and `/recipe/multitenancy/app`):
/// creates or updates an app. Body: `appId`, optional `coreConfig` (merged
/// into the stored one; `null` values remove keys). Answer: `OK` with
/// `createdNew`.
pub(crate) async fn create_or_update(
    State(state): State<AppState>,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    let apps = registry_for_public(
        &state,
        "Only the public appId is allowed to create or update an app",
    )?;
    let app_id = normalise_app_id(&input.string("appId")?)?;
    let update = match input.opt_object("coreConfig")? {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if app_id == PUBLIC_APP {
        if !update.is_empty() {
            return Err(ApiError::BadRequest("Cannot modify base config".to_owned()));
        }
        return Ok(reply::ok(json!({"status": "OK", "createdNew": false})));
    }
    let created = apps.put(&app_id, update).await?;
    Ok(reply::ok(json!({"status": "OK", "createdNew": created})))
}

/// `POST /recipe/multitenancy/app/remove`: deletes an app with all its
/// sessions and keys. Body: `appId`. Answer: `OK` with `didExist`.
pub(crate) async fn remove(
    State(state): State<AppState>,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    let apps = registry_for_public(
        &state,
        "Only the public tenantId and public appId is allowed to delete an app",
    )?;
    let app_id = normalise_app_id(&input.string("appId")?)?;
    if app_id == PUBLIC_APP {
        return Err(ApiError::Forbidden(
            "Cannot delete the public app, use remove connection uri domain API instead",
        ));
    }
    let existed = apps.remove(&app_id).await?;
    Ok(reply::ok(json!({"status": "OK", "didExist": existed})))
}

/// `GET /recipe/multitenancy/app/list/v2`: every app, each with its one
/// tenant (`public`).
pub(crate) async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let apps = registry_for_public(&state, "Only the public appId is allowed to list apps")?;
    let listed: Vec<Value> = apps
        .app_ids()
        .into_iter()
        .map(|id| {
            let config = apps.config_of(&id).unwrap_or_default();
            json!({"appId": id, "tenants": [public_tenant(config)]})
        })
        .collect();
    Ok(reply::ok(json!({"status": "OK", "apps": listed})))
}

/// `GET /recipe/multitenancy/tenant/list/v2`: the app's tenants — tessera
/// keeps no tenant settings, so just `public`.
pub(crate) async fn list_tenants(State(state): State<AppState>) -> Result<Response, ApiError> {
    let config = state
        .apps()
        .and_then(|apps| apps.config_of(state.app_id()))
        .unwrap_or_default();
    Ok(reply::ok(
        json!({"status": "OK", "tenants": [public_tenant(config)]}),
    ))
}

fn public_tenant(config: Map<String, Value>) -> Value {
    json!({
        "tenantId": "public",
        "thirdParty": {"providers": []},
        "firstFactors": null,
        "requiredSecondaryFactors": null,
        "coreConfig": config,
    })
}
