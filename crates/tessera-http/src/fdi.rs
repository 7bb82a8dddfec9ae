//! [`Fdi`]: the engine plus the transport settings, shared by every
//! request of an app; its builder methods are the settings.

use std::fmt;
use std::sync::Arc;

use tessera::{AntiCsrfMode, RefreshModel, SessionManager};

use crate::claims::ClaimValidator;
use crate::config::{
    SameSite, TokenTransferMethod, TokenTransferPolicy, TransportConfig, normalise_base_path,
    normalise_cookie_domain, refresh_path, tenant_refresh_cookie_path,
};
use crate::error::Error;

/// The browser protocol of one app: the engine and the transport settings.
/// Cheap to clone. Adapters hold one and make a
/// [`RequestContext`](crate::RequestContext) from it per request.
///
/// ```
/// # async fn demo() -> tessera::Result<()> {
/// use tessera_http::{Fdi, SameSite};
///
/// let manager = tessera::SessionManager::in_memory().await?;
/// let fdi = Fdi::new(manager)
///     .api_base_path("/api/auth") // refresh at /api/auth/session/refresh
///     .cookie_domain(".example.com")
///     .cookie_same_site(SameSite::Lax);
/// assert_eq!(fdi.refresh_path(), "/api/auth/session/refresh");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Fdi {
    shared: Arc<Shared>,
}

#[derive(Clone)]
struct Shared {
    manager: SessionManager,
    config: TransportConfig,
}

impl fmt::Debug for Fdi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fdi")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Fdi {
    /// SuperTokens' defaults: base path `/auth`, `Secure`, `SameSite=Lax`,
    /// host-only cookies, 401/403, either transfer method.
    pub fn new(manager: SessionManager) -> Self {
        Self {
            shared: Arc::new(Shared {
                manager,
                config: TransportConfig::default(),
            }),
        }
    }

    fn config_mut(&mut self) -> &mut TransportConfig {
        &mut Arc::make_mut(&mut self.shared).config
    }

    pub(crate) fn config(&self) -> &TransportConfig {
        &self.shared.config
    }

    /// The engine.
    pub fn manager(&self) -> &SessionManager {
        &self.shared.manager
    }

    /// The API base path (default `/auth`): the refresh cookie's `Path` is
    /// `{base}/session/refresh`. Mount the adapter's refresh route at
    /// [`Fdi::refresh_path`] so they agree.
    pub fn api_base_path(mut self, path: &str) -> Self {
        let base = normalise_base_path(path);
        let cfg = self.config_mut();
        cfg.refresh_path = refresh_path(&base);
        cfg.refresh_cookie_path = if cfg.tenant_refresh_routes {
            tenant_refresh_cookie_path(&base)
        } else {
            refresh_path(&base)
        };
        cfg.api_base_path = base;
        self
    }

    /// Also answer refreshes at `{base}/{tenantId}/session/refresh`
    /// (multi-tenant frontends), and widen the refresh cookie's `Path` to
    /// the base path so that the browser sends it there. The wider path
    /// also sends the refresh token to the base path's other routes
    /// (sign-out …), which is why this is off by default. The tenant in the
    /// path does not choose the session: the refresh token does, and the
    /// session keeps its own tenant.
    pub fn tenant_refresh_routes(mut self, on: bool) -> Self {
        let cfg = self.config_mut();
        cfg.tenant_refresh_routes = on;
        cfg.refresh_cookie_path = if on {
            tenant_refresh_cookie_path(&cfg.api_base_path)
        } else {
            refresh_path(&cfg.api_base_path)
        };
        self
    }

    /// The route pattern `{base}/{tenantId}/session/refresh` if
    /// tenant-prefixed refresh routes are on (the adapters mount it).
    pub fn tenant_refresh_route(&self) -> Option<String> {
        self.shared
            .config
            .tenant_refresh_routes
            .then(|| crate::config::tenant_refresh_route(&self.shared.config.api_base_path))
    }

    /// The refresh cookie's `Path`.
    pub fn refresh_cookie_path(&self) -> &str {
        &self.shared.config.refresh_cookie_path
    }

    /// The normalised API base path (`""` for the root).
    pub fn base_path(&self) -> &str {
        &self.shared.config.api_base_path
    }

    /// The refresh path, `{api_base_path}/session/refresh`.
    pub fn refresh_path(&self) -> &str {
        &self.shared.config.refresh_path
    }

    /// The `Domain` of the session cookies (default: none, host-only).
    /// Normalised like SuperTokens' `cookie_domain` (a leading dot is kept).
    pub fn cookie_domain(mut self, domain: &str) -> Self {
        let d = normalise_cookie_domain(domain);
        self.config_mut().cookie_domain = (!d.is_empty()).then_some(d);
        self
    }

    /// A domain that session cookies used to be set on. When a refresh sees
    /// duplicated session cookies it expires them on this domain and answers
    /// `200 {"message":…}` (FDI §11.2); `""` means the host-only cookie.
    /// Without it, duplicated cookies at refresh are a 500.
    pub fn older_cookie_domain(mut self, domain: &str) -> Self {
        self.config_mut().older_cookie_domain = Some(normalise_cookie_domain(domain));
        self
    }

    /// `Secure` and `SameSite` derived from the API and website origins as
    /// SuperTokens does ([`domain_cookie_settings`](crate::domain_cookie_settings));
    /// with `SameSite=None` the default anti-CSRF mode becomes
    /// `ViaCustomHeader`. Call it before any explicit
    /// [`cookie_secure`](Self::cookie_secure) or
    /// [`cookie_same_site`](Self::cookie_same_site), which override it.
    /// Refuses a cross-site pair without HTTPS on a public domain.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = tessera::SessionManager::in_memory().await?;
    /// let fdi = tessera_http::Fdi::new(manager)
    ///     .domains("https://api.example.com", "https://app.example.org")?;
    /// assert_eq!(fdi.anti_csrf_mode(), tessera::AntiCsrfMode::ViaCustomHeader);
    /// # Ok(()) }
    /// ```
    pub fn domains(mut self, api_domain: &str, website_domain: &str) -> Result<Self, Error> {
        let derived = crate::config::domain_cookie_settings(api_domain, website_domain)
            .map_err(Error::InvalidInput)?;
        let cfg = self.config_mut();
        cfg.cookie_secure = derived.secure;
        cfg.cookie_same_site = derived.same_site;
        Ok(self)
    }

    /// The `Secure` attribute (default `true`). Set `false` only for a
    /// plain-HTTP `localhost` setup.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        if !secure && self.shared.config.cookie_same_site == SameSite::None {
            tracing::warn!(target: "tessera::config", "SameSite=None without Secure: browsers will drop the session cookies");
        }
        self.config_mut().cookie_secure = secure;
        self
    }

    /// The `SameSite` attribute (default `Lax`). `None` needs `Secure` in
    /// every current browser, and switches the default anti-CSRF mode to
    /// `ViaCustomHeader`.
    pub fn cookie_same_site(mut self, same_site: SameSite) -> Self {
        if same_site == SameSite::None && !self.shared.config.cookie_secure {
            tracing::warn!(target: "tessera::config", "SameSite=None without Secure: browsers will drop the session cookies");
        }
        self.config_mut().cookie_same_site = same_site;
        self
    }

    /// The statuses for "session expired" (default 401) and "invalid claim"
    /// (default 403). They must differ, and must match the frontend's
    /// `sessionExpiredStatusCode` and `invalidClaimStatusCode`.
    pub fn status_codes(mut self, session_expired: u16, invalid_claim: u16) -> Result<Self, Error> {
        if session_expired == invalid_claim {
            return Err(Error::InvalidInput(
                "the session-expired and invalid-claim status codes must differ".to_owned(),
            ));
        }
        if !(400..600).contains(&session_expired) || !(400..600).contains(&invalid_claim) {
            return Err(Error::InvalidInput(
                "the session-expired and invalid-claim status codes must be 4xx or 5xx".to_owned(),
            ));
        }
        let cfg = self.config_mut();
        cfg.session_expired_status = session_expired;
        cfg.invalid_claim_status = invalid_claim;
        Ok(self)
    }

    /// Overrides the anti-CSRF mode of the manager's configuration for this
    /// app (creation, verification and refresh all follow it).
    pub fn anti_csrf(mut self, mode: AntiCsrfMode) -> Self {
        self.config_mut().anti_csrf = Some(mode);
        self
    }

    /// Which transfer methods are read and issued (default: either, per
    /// `st-auth-mode`).
    pub fn token_transfer_policy(mut self, policy: TokenTransferPolicy) -> Self {
        self.config_mut().transfer_policy = policy;
        self
    }

    /// Also send the access token as an `st-access-token` header in cookie
    /// mode (SuperTokens' `expose_access_token_to_frontend_in_cookie_based_auth`,
    /// default off).
    pub fn expose_access_token_in_cookie_mode(mut self, on: bool) -> Self {
        self.config_mut().expose_access_token_in_cookie_mode = on;
        self
    }

    /// Which refresh-token model the refresh route and verification follow
    /// (default [`RefreshModel::RotateAtRefresh`]: the refresh rotates the
    /// refresh token with one compare-and-swap and verification never
    /// writes).
    ///
    /// [`RefreshModel::ChildPromotion`] is SuperTokens core's model for CDI
    /// 5.4/5.5, for apps whose clients expect its exact answers: the refresh
    /// writes nothing and hands out a child refresh token with an access
    /// token naming its parent; the first verification of that access token
    /// promotes the child (one conditional write, so one store write per
    /// refresh as before) and answers with a new access token and
    /// `front-token`, which supertokens-website reports as one more
    /// `ACCESS_TOKEN_PAYLOAD_UPDATED`. No grace window: once a child is
    /// promoted its parent is theft. Verifying such a token costs one store
    /// read (and the promotion its write), whatever the route's options.
    ///
    /// ```
    /// # use tessera_http::Fdi;
    /// # async fn demo(manager: tessera::SessionManager) {
    /// let fdi = Fdi::new(manager).refresh_model(tessera::RefreshModel::ChildPromotion);
    /// # }
    /// ```
    pub fn refresh_model(mut self, model: RefreshModel) -> Self {
        self.config_mut().refresh_model = model;
        self
    }

    /// The refresh-token model in force (see [`Fdi::refresh_model`]).
    pub(crate) fn model(&self) -> RefreshModel {
        self.shared.config.refresh_model
    }

    /// Adds a claim validator that every session verification runs (a
    /// failure is `403 invalid claim`); sign-out does not run them.
    pub fn claim_validator(mut self, validator: impl ClaimValidator) -> Self {
        self.config_mut().claim_validators.push(Arc::new(validator));
        self
    }

    /// The anti-CSRF mode in force: the override, else the manager's; a
    /// manager left at `None` becomes `ViaCustomHeader` when the cookies
    /// are `SameSite=None` (SuperTokens' default, FDI §5).
    pub fn anti_csrf_mode(&self) -> AntiCsrfMode {
        if let Some(mode) = self.shared.config.anti_csrf {
            return mode;
        }
        match self.shared.manager.config().anti_csrf {
            AntiCsrfMode::None if self.shared.config.cookie_same_site == SameSite::None => {
                AntiCsrfMode::ViaCustomHeader
            }
            mode => mode,
        }
    }

    /// Whether anti-CSRF *tokens* are used for a session in `method`.
    pub(crate) fn anti_csrf_tokens(&self, method: TokenTransferMethod) -> bool {
        method == TokenTransferMethod::Cookie && self.anti_csrf_mode() == AntiCsrfMode::ViaToken
    }

    /// The status a rejection of `kind` answers with.
    pub(crate) fn status_for(&self, kind: crate::RejectionKind) -> u16 {
        match kind {
            crate::RejectionKind::SessionExpired => self.shared.config.session_expired_status,
            crate::RejectionKind::InvalidClaim => self.shared.config.invalid_claim_status,
        }
    }

    /// Logs once when the refresh route is reached at another path than the
    /// refresh cookie's (the browser would not send the cookie).
    pub fn warn_if_refresh_path_differs(&self, path: &str) {
        use std::sync::atomic::{AtomicBool, Ordering};
        static WARNED: AtomicBool = AtomicBool::new(false);
        let config = &self.shared.config;
        let known = crate::config::is_refresh_route(
            &config.api_base_path,
            path,
            config.tenant_refresh_routes,
        );
        if !known && !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "tessera::config",
                route = path,
                cookie_path = %self.refresh_path(),
                "the refresh route is not at the refresh cookie's path; mount it at the same api_base_path"
            );
        }
    }
}
