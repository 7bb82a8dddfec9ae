//! [`SessionManager`]: create, verify, refresh and revoke sessions.
//!
//! The manager is `Clone + Send + Sync` and cheap to clone (one `Arc`); build
//! one per process and share it.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use serde_json::Value;

use crate::cache::VerifiedCache;
use crate::clock::{Clock, SystemClock};
use crate::config::{AntiCsrfMode, Config};
use crate::error::{Error, Result};
use crate::keys::{KeyEncryptionKey, KeySet};
use crate::store::{DynStore, MemoryStore, SessionMetadata, SessionStore};
use crate::token::AccessTokenClaims;

mod connect;
mod failures;
mod handles;
mod ids;
mod issue;
mod jwt;
mod keyring;
mod maintenance;
mod promotion;
mod refresh;
mod verify;

pub use handles::{SessionInformation, TenantScope};
pub use jwt::MAX_JWT_VALIDITY;
pub use maintenance::CleanupReport;
pub use verify::AccessTokenCandidate;

/// The tenant every session belongs to unless told otherwise.
pub const DEFAULT_TENANT: &str = "public";

/// Creates, verifies, refreshes and revokes sessions.
///
/// ```
/// # async fn demo() -> tessera::Result<()> {
/// use serde_json::json;
/// use tessera::{SessionManager, VerifyOptions};
///
/// let manager = SessionManager::in_memory().await?;
/// let created = manager
///     .create_new_session("user-1", json!({"role": "reader"}), json!({"cart": []}))
///     .await?;
/// let session = manager
///     .get_session(&created.access_token.token, None, VerifyOptions::default())
///     .await?;
/// assert_eq!(session.user_id, "user-1");
/// assert_eq!(session.user_payload, json!({"role": "reader"}));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Inner>,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("config", &self.inner.config)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn DynStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: ArcSwap<KeySet>,
    /// The key-encryption key the key rows are sealed under (none: plain).
    pub(crate) kek: ArcSwapOption<KeyEncryptionKey>,
    /// Serialises key maintenance (generation, reload) within the process.
    pub(crate) key_lock: tokio::sync::Mutex<()>,
    pub(crate) last_key_reload_ms: AtomicI64,
    pub(crate) static_key_in_use: AtomicBool,
    pub(crate) cache: Option<VerifiedCache>,
    /// Counts refresh failures for the `warn` log of repeated ones.
    pub(crate) refresh_failures: failures::RefreshFailures,
    pub(crate) background: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.background.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// A new access token, as handed to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedAccessToken {
    /// The JWT.
    pub token: String,
    /// Its expiry, milliseconds since the epoch (`exp * 1000`).
    pub expiry_ms: u64,
    /// When it was issued, milliseconds since the epoch (`iat * 1000`).
    pub created_ms: u64,
    /// The matching `front-token` header value.
    pub front_token: String,
}

/// A new refresh token, as handed to a client.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedRefreshToken {
    /// The opaque token.
    pub token: String,
    /// When the session expires unless refreshed, milliseconds since the epoch.
    pub expiry_ms: u64,
    /// When this token was issued, milliseconds since the epoch.
    pub created_ms: u64,
}

impl fmt::Debug for IssuedRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedRefreshToken")
            .field("token", &"<redacted>")
            .field("expiry_ms", &self.expiry_ms)
            .field("created_ms", &self.created_ms)
            .finish()
    }
}

/// The outcome of a session creation or refresh: the claims of the new
/// access token and every token to send to the client.
#[derive(Debug, Clone)]
pub struct CreatedSession {
    /// Claims of the new access token.
    pub claims: Arc<AccessTokenClaims>,
    /// The new access token.
    pub access_token: IssuedAccessToken,
    /// The new (or, inside the grace window, the current) refresh token.
    pub refresh_token: IssuedRefreshToken,
    /// The anti-CSRF token, when the session uses `ViaToken`.
    pub anti_csrf_token: Option<String>,
}

impl CreatedSession {
    /// The session handle.
    pub fn handle(&self) -> &str {
        &self.claims.session_handle
    }
}

/// The outcome of [`SessionManager::regenerate_access_token`].
#[derive(Debug, Clone)]
pub struct RegeneratedSession {
    /// Claims with the new user payload.
    pub claims: Arc<AccessTokenClaims>,
    /// The new access token; `None` when the presented one had already
    /// expired (the payload is stored and goes out with the next refresh).
    pub access_token: Option<IssuedAccessToken>,
}

/// Everything needed to create a session. [`NewSession::new`] gives the
/// defaults (tenant `public`, empty payload and data, the configured
/// anti-CSRF mode and key kind).
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The user.
    pub user_id: String,
    /// The recipe user, when accounts are linked (defaults to `user_id`).
    pub recipe_user_id: Option<String>,
    /// The tenant.
    pub tenant_id: String,
    /// The user's access-token payload (a JSON object).
    pub jwt_payload: Value,
    /// The session data (a JSON object).
    pub session_data: Value,
    /// Client metadata.
    pub metadata: SessionMetadata,
    /// Issue an anti-CSRF token (`None`: when the configured mode is `ViaToken`).
    pub enable_anti_csrf: Option<bool>,
    /// Sign with the rotating key set (`None`: the configured choice).
    pub use_dynamic_signing_key: Option<bool>,
}

impl NewSession {
    /// A session for `user_id` with empty payload and data.
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            recipe_user_id: None,
            tenant_id: DEFAULT_TENANT.to_owned(),
            jwt_payload: Value::Object(Default::default()),
            session_data: Value::Object(Default::default()),
            metadata: SessionMetadata::default(),
            enable_anti_csrf: None,
            use_dynamic_signing_key: None,
        }
    }

    /// Sets the access-token payload.
    pub fn jwt_payload(mut self, payload: Value) -> Self {
        self.jwt_payload = payload;
        self
    }

    /// Sets the session data.
    pub fn session_data(mut self, data: Value) -> Self {
        self.session_data = data;
        self
    }

    /// Sets the tenant.
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = tenant_id.into();
        self
    }

    /// Sets the client metadata.
    pub fn metadata(mut self, metadata: SessionMetadata) -> Self {
        self.metadata = metadata;
        self
    }
}

/// How [`SessionManager::get_session`] verifies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Check the anti-CSRF token (when the effective mode is `ViaToken`).
    /// Web layers set this for non-GET, cookie-authenticated requests.
    pub anti_csrf_check: bool,
    /// Override the configured mode for this call: `Some(true)` means
    /// `ViaToken`, `Some(false)` means no token check.
    pub enable_anti_csrf: Option<bool>,
    /// Also check the session still exists in the store (one database call).
    pub check_database: bool,
}

/// Which refresh-token model a refresh or a verify follows.
///
/// tessera's own model, and the default everywhere in the engine and in
/// `tessera-axum`, rotates the refresh token inside the refresh with one
/// compare-and-swap and accepts the previous token for a short grace window
/// (SuperTokens core's rule from CDI 5.6 on). SuperTokens' backend SDKs that
/// negotiate CDI 5.4 or 5.5 expect the core's older model instead, which
/// `tessera serve` follows for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RefreshModel {
    /// Rotate at refresh; previous token accepted within the grace window;
    /// any other reuse of a retired token is theft. Verify never writes.
    #[default]
    RotateAtRefresh,
    /// SuperTokens CDI ≤ 5.5: a refresh with the current token writes
    /// nothing and hands out a *child* refresh token and an access token
    /// carrying `parentRefreshTokenHash1`; the first verify of that access
    /// token (or a refresh with the child) promotes the child with one
    /// conditional write. Once a child is promoted, its parent — or any
    /// other genuine token that is neither current nor a child of current —
    /// is theft. No grace window.
    ChildPromotion,
}

/// The outcome of [`SessionManager::get_session_as`].
#[derive(Debug, Clone)]
pub struct VerifiedSession {
    /// Claims of the presented access token (or of the new one, when one
    /// was issued).
    pub claims: Arc<AccessTokenClaims>,
    /// A new access token the client must use from now on: issued when a
    /// verify promoted a child refresh token (its parent claim dropped), or
    /// when a database check found the stored payload newer than the
    /// token's. Always `None` under [`RefreshModel::RotateAtRefresh`].
    pub access_token: Option<IssuedAccessToken>,
    /// Under [`RefreshModel::RotateAtRefresh`] with `check_database`:
    /// whether the stored payload differs from the token's (the client may
    /// regenerate or refresh to pick it up); `None` otherwise.
    pub payload_update_available: Option<bool>,
}

/// A refresh request with every option; [`SessionManager::refresh_session`]
/// is the short form.
#[derive(Debug, Clone, Copy)]
pub struct RefreshRequest<'a> {
    /// The presented refresh token.
    pub refresh_token: &'a str,
    /// The presented anti-CSRF token.
    pub anti_csrf_token: Option<&'a str>,
    /// Check the anti-CSRF token (`None`: when the configured mode is `ViaToken`).
    pub enable_anti_csrf: Option<bool>,
    /// Sign the new access token with the rotating key set (`None`: configured).
    pub use_dynamic_signing_key: Option<bool>,
}

impl SessionManager {
    /// A manager on the store named by `url`: `sqlite://path/to/file.db`,
    /// `postgres://…` (or `postgresql://…`), or `memory:`; default settings.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::builder().database_url(url).build().await
    }

    /// A manager on a fresh [`MemoryStore`]; default settings.
    pub async fn in_memory() -> Result<Self> {
        Self::builder().build().await
    }

    /// Starts configuring a manager.
    pub fn builder() -> SessionManagerBuilder {
        SessionManagerBuilder::default()
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn now_ms(&self) -> i64 {
        i64::try_from(self.inner.clock.now_ms()).unwrap_or(i64::MAX)
    }

    pub(crate) fn anti_csrf_enabled(&self, over: Option<bool>) -> bool {
        over.unwrap_or(self.inner.config.anti_csrf == AntiCsrfMode::ViaToken)
    }
}

/// Configures and builds a [`SessionManager`].
///
/// ```
/// # async fn demo() -> tessera::Result<()> {
/// use std::time::Duration;
/// let manager = tessera::SessionManager::builder()
///     .access_token_validity(Duration::from_secs(900))
///     .anti_csrf(tessera::AntiCsrfMode::ViaToken)
///     .blacklisting(true)
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
pub struct SessionManagerBuilder {
    config: Config,
    store: Option<Arc<dyn DynStore>>,
    url: Option<String>,
    clock: Arc<dyn Clock>,
    background_tasks: bool,
    kek: Option<KeyEncryptionKey>,
}

impl fmt::Debug for SessionManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManagerBuilder")
            .field("config", &self.config)
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .field("kek", &self.kek)
            .finish_non_exhaustive()
    }
}

impl Default for SessionManagerBuilder {
    fn default() -> Self {
        Self {
            config: Config::default(),
            store: None,
            url: None,
            clock: Arc::new(SystemClock),
            background_tasks: true,
            kek: None,
        }
    }
}

impl SessionManagerBuilder {
    /// Replaces the whole configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Access-token lifetime (default 3600 s).
    pub fn access_token_validity(mut self, d: Duration) -> Self {
        self.config.access_token_validity = d;
        self
    }

    /// Session idle lifetime, i.e. refresh-token lifetime (default 100 days).
    pub fn refresh_token_validity(mut self, d: Duration) -> Self {
        self.config.refresh_token_validity = d;
        self
    }

    /// Absolute session lifetime (default none).
    pub fn absolute_session_lifetime(mut self, d: Duration) -> Self {
        self.config.absolute_session_lifetime = Some(d);
        self
    }

    /// Anti-CSRF mode (default `None`).
    pub fn anti_csrf(mut self, mode: AntiCsrfMode) -> Self {
        self.config.anti_csrf = mode;
        self
    }

    /// Check the store on every verification (default off).
    pub fn blacklisting(mut self, on: bool) -> Self {
        self.config.blacklisting = on;
        self
    }

    /// Signing-key rotation interval (default 7 days).
    pub fn signing_key_rotation_interval(mut self, d: Duration) -> Self {
        self.config.signing_key_rotation_interval = d;
        self
    }

    /// Refresh grace window (default 30 s, at most 300 s).
    pub fn refresh_grace_period(mut self, d: Duration) -> Self {
        self.config.refresh_grace_period = d;
        self
    }

    /// Access-token lifetime jitter as a fraction (default 0.05).
    pub fn access_token_validity_jitter(mut self, fraction: f64) -> Self {
        self.config.access_token_validity_jitter = fraction;
        self
    }

    /// The `iss` claim to set and require (default none).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.config.issuer = Some(issuer.into());
        self
    }

    /// Put and require `stt: 0` in access tokens (default on); see
    /// [`Config::session_token_type_claim`].
    pub fn session_token_type_claim(mut self, on: bool) -> Self {
        self.config.session_token_type_claim = on;
        self
    }

    /// Accept and issue SuperTokens core's older token formats (default
    /// off); see [`Config::core_token_versions`].
    pub fn core_token_versions(mut self, on: bool) -> Self {
        self.config.core_token_versions = on;
        self
    }

    /// Algorithm of new signing keys (default [`SigningAlgorithm::Rs256`];
    /// see [`SigningAlgorithm`] for when `EdDsa` or `Es256` fits).
    ///
    /// [`SigningAlgorithm`]: crate::SigningAlgorithm
    /// [`SigningAlgorithm::Rs256`]: crate::SigningAlgorithm::Rs256
    pub fn signing_algorithm(mut self, algorithm: crate::SigningAlgorithm) -> Self {
        self.config.signing_algorithm = algorithm;
        self
    }

    /// Sign with rotating keys (default) or with the static key.
    pub fn use_dynamic_signing_key(mut self, on: bool) -> Self {
        self.config.use_dynamic_signing_key = on;
        self
    }

    /// Verified-token cache capacity (default 10,000; 0 disables it).
    pub fn verified_token_cache_capacity(mut self, entries: usize) -> Self {
        self.config.verified_token_cache_capacity = entries;
        self
    }

    /// Longest access token issued, in bytes (default 8 KiB; see
    /// [`Config::max_access_token_bytes`]).
    pub fn max_access_token_bytes(mut self, bytes: usize) -> Self {
        self.config.max_access_token_bytes = bytes;
        self
    }

    /// Test mode (default off; see [`Config::test_mode`]): allows the very
    /// short key-rotation intervals of the SDKs' test suites.
    pub fn test_mode(mut self, on: bool) -> Self {
        self.config.test_mode = on;
        self
    }

    /// Uses this store.
    pub fn store<S: SessionStore>(mut self, store: S) -> Self {
        self.store = Some(Arc::new(store));
        self.url = None;
        self
    }

    /// Uses the store named by a URL (see [`SessionManager::connect`]).
    pub fn database_url(mut self, url: &str) -> Self {
        self.url = Some(url.to_owned());
        self.store = None;
        self
    }

    /// Uses this clock (tests move a [`ManualClock`](crate::ManualClock)).
    pub fn clock<C: Clock>(mut self, clock: C) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Whether to run the background task that rotates keys and deletes
    /// expired sessions (default on; call
    /// [`SessionManager::run_maintenance`] yourself when off).
    pub fn background_tasks(mut self, on: bool) -> Self {
        self.background_tasks = on;
        self
    }

    /// Encrypts the signing and MAC keys at rest under this key-encryption
    /// key (see [`KeyEncryptionKey`]; [`KeyEncryptionKey::from_env`] reads
    /// `TESSERA_KEY_ENCRYPTION_KEY` / `..._FILE`). New keys are stored
    /// sealed and plaintext rows are sealed in place when the manager
    /// starts. Without one, keys are stored in plain text (a warning at
    /// start-up), and a database whose keys are sealed refuses to open.
    pub fn key_encryption_key(mut self, kek: KeyEncryptionKey) -> Self {
        self.kek = Some(kek);
        self
    }

    /// Opens the store, loads or creates the signing keys (sealing them
    /// under the key-encryption key, if any) and starts the background task.
    ///
    /// Fails with [`Error::InvalidInput`] when the stored keys are sealed
    /// and no, or another, key-encryption key is configured.
    pub async fn build(self) -> Result<SessionManager> {
        self.config.validate()?;
        // Keys in a memory store never leave the process: nothing to warn of.
        let persistent = self.store.is_some()
            || self
                .url
                .as_deref()
                .is_some_and(|u| !u.starts_with("memory:"));
        let store: Arc<dyn DynStore> = match (self.store, self.url) {
            (Some(store), _) => store,
            (None, Some(url)) => connect::open_url(&url).await?,
            (None, None) => Arc::new(MemoryStore::new()),
        };
        let cache = (self.config.verified_token_cache_capacity > 0)
            .then(|| VerifiedCache::new(self.config.verified_token_cache_capacity));
        let app_view = store.app_id() != crate::store::DEFAULT_APP_ID;
        let manager = SessionManager {
            inner: Arc::new(Inner {
                static_key_in_use: AtomicBool::new(!self.config.use_dynamic_signing_key),
                config: self.config,
                store,
                clock: self.clock,
                keys: ArcSwap::from_pointee(KeySet::default()),
                kek: ArcSwapOption::new(self.kek.map(Arc::new)),
                key_lock: tokio::sync::Mutex::new(()),
                last_key_reload_ms: AtomicI64::new(i64::MIN),
                cache,
                refresh_failures: failures::RefreshFailures::default(),
                background: Mutex::new(None),
            }),
        };
        manager.maintain_keys().await?;
        match manager.inner.kek.load().as_deref() {
            Some(kek) => tracing::info!(
                target: "tessera::keys",
                kek_id = %kek.id(),
                "signing keys are encrypted at rest"
            ),
            None if persistent && !app_view => tracing::warn!(
                target: "tessera::keys",
                "no key-encryption key configured: signing keys are stored in plain text \
                 (set TESSERA_KEY_ENCRYPTION_KEY or TESSERA_KEY_ENCRYPTION_KEY_FILE)"
            ),
            None => {}
        }
        if self.background_tasks {
            let task = maintenance::spawn_background(Arc::downgrade(&manager.inner));
            if let Ok(mut slot) = manager.inner.background.lock() {
                *slot = Some(task);
            }
        }
        Ok(manager)
    }
}

impl SessionManager {
    /// A builder for the manager of another app in the same database: the
    /// same configuration, clock and key-encryption key, over a view of this
    /// manager's store scoped to `app_id` (its own sessions, signing keys
    /// and refresh MAC key; see [`SessionStore::for_app`]). Change the
    /// settings the app overrides, then `build()`.
    ///
    /// Fails with [`Error::InvalidInput`] when the store has no apps (a
    /// custom store that does not implement [`SessionStore::for_app`]).
    ///
    /// ```
    /// # async fn demo() -> tessera::Result<()> {
    /// let public = tessera::SessionManager::in_memory().await?;
    /// let shop = public
    ///     .app_builder("shop")?
    ///     .access_token_validity(std::time::Duration::from_secs(600))
    ///     .build()
    ///     .await?;
    /// assert_eq!(shop.app_id(), "shop");
    /// # Ok(()) }
    /// ```
    pub fn app_builder(&self, app_id: &str) -> Result<SessionManagerBuilder> {
        let store = self.inner.store.for_app(app_id)?;
        Ok(SessionManagerBuilder {
            config: self.inner.config.clone(),
            store: Some(store),
            url: None,
            clock: Arc::clone(&self.inner.clock),
            background_tasks: true,
            kek: self.inner.kek.load_full().map(|k| (*k).clone()),
        })
    }

    /// The app this manager serves (`public` unless made by
    /// [`SessionManager::app_builder`]).
    pub fn app_id(&self) -> &str {
        self.inner.store.app_id()
    }

    /// Creates or replaces the stored settings of `app_id` (a JSON object);
    /// returns whether the app is new.
    pub async fn put_app(&self, app_id: &str, config: &Value) -> Result<bool> {
        self.inner
            .store
            .put_app(app_id, config, self.now_ms())
            .await
    }

    /// Every stored app with its settings, ordered by id.
    pub async fn list_apps(&self) -> Result<Vec<crate::store::StoredApp>> {
        self.inner.store.list_apps().await
    }

    /// Deletes `app_id` with all its sessions and keys, in one transaction;
    /// returns whether it existed. Managers built for it keep running until
    /// closed, over an empty app.
    pub async fn delete_app(&self, app_id: &str) -> Result<bool> {
        self.inner.store.delete_app(app_id).await
    }
}

pub(crate) fn invalid(msg: &str) -> Error {
    Error::InvalidInput(msg.to_owned())
}
