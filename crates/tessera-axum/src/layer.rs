//! [`SessionLayer`]: puts the manager and a per-request slot for token
//! changes into every request, and writes the queued changes onto that
//! request's response.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::Router;
use http::{Request, Response, StatusCode};
use tessera::{AntiCsrfMode, SessionManager};
use tower::{Layer, Service};

use crate::claims::ClaimValidator;
use crate::config::{
    SameSite, TokenTransferMethod, TokenTransferPolicy, TransportConfig, normalise_base_path,
    normalise_cookie_domain, refresh_path,
};
use crate::error::{Error, Rejection, RejectionKind};
use crate::transport::write::{Mutation, Outgoing};

/// The tower layer that makes [`Session`](crate::Session) and
/// [`Sessions`](crate::Sessions) work: install it around every route that
/// uses them, and around [`routes()`](crate::routes).
///
/// The transport settings are builder methods; the token rules (lifetimes,
/// anti-CSRF tokens, blacklisting …) come from the manager's
/// [`tessera::Config`].
///
/// ```
/// # async fn demo() -> tessera::Result<()> {
/// use tessera_axum::{SameSite, SessionLayer};
///
/// let manager = tessera::SessionManager::in_memory().await?;
/// let layer = SessionLayer::new(manager)
///     .api_base_path("/api/auth") // refresh at /api/auth/session/refresh
///     .cookie_domain(".example.com")
///     .cookie_same_site(SameSite::Lax);
/// let app: axum::Router = layer.routes().layer(layer);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SessionLayer {
    shared: Arc<Shared>,
}

impl fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayer")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// What every request of one layer shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) manager: SessionManager,
    pub(crate) config: TransportConfig,
}

impl Shared {
    /// The anti-CSRF mode in force: the layer's override, else the
    /// manager's; a manager left at `None` becomes `ViaCustomHeader` when the
    /// cookies are `SameSite=None` (SuperTokens' default, FDI §5).
    pub(crate) fn anti_csrf(&self) -> AntiCsrfMode {
        if let Some(mode) = self.config.anti_csrf {
            return mode;
        }
        match self.manager.config().anti_csrf {
            AntiCsrfMode::None if self.config.cookie_same_site == SameSite::None => {
                AntiCsrfMode::ViaCustomHeader
            }
            mode => mode,
        }
    }

    /// Whether anti-CSRF *tokens* are used for a session in `method`.
    pub(crate) fn anti_csrf_tokens(&self, method: TokenTransferMethod) -> bool {
        method == TokenTransferMethod::Cookie && self.anti_csrf() == AntiCsrfMode::ViaToken
    }
}

impl SessionLayer {
    /// A layer with SuperTokens' defaults: base path `/auth`, `Secure`,
    /// `SameSite=Lax`, host-only cookies, 401/403, either transfer method.
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

    /// The API base path (default `/auth`): the refresh cookie's `Path` is
    /// `{base}/session/refresh`. Mount the routes with
    /// [`SessionLayer::routes`] (or [`routes_with`](crate::routes_with) and
    /// the same path) so they agree.
    pub fn api_base_path(mut self, path: &str) -> Self {
        let base = normalise_base_path(path);
        let cfg = self.config_mut();
        cfg.refresh_path = refresh_path(&base);
        cfg.api_base_path = base;
        self
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

    /// The `Secure` attribute (default `true`). Set `false` only for a
    /// plain-HTTP `localhost` setup.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
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
    pub fn status_codes(
        mut self,
        session_expired: StatusCode,
        invalid_claim: StatusCode,
    ) -> Result<Self, Error> {
        if session_expired == invalid_claim {
            return Err(Error::InvalidInput(
                "the session-expired and invalid-claim status codes must differ".to_owned(),
            ));
        }
        let cfg = self.config_mut();
        cfg.session_expired_status = session_expired;
        cfg.invalid_claim_status = invalid_claim;
        Ok(self)
    }

    /// Overrides the anti-CSRF mode of the manager's configuration for this
    /// layer (creation, verification and refresh all follow it).
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

    /// Adds a claim validator that every [`Session`](crate::Session)
    /// extraction runs (a failure is `403 invalid claim`).
    pub fn claim_validator(mut self, validator: impl ClaimValidator) -> Self {
        self.config_mut().claim_validators.push(Arc::new(validator));
        self
    }

    /// Limits refreshes per client (default: no limit); excess requests get
    /// `429 {"message":"too many requests"}` with `Retry-After`. Applies to
    /// the refresh route made by [`SessionLayer::routes`] (not to
    /// [`routes()`](crate::routes)/[`routes_with`](crate::routes_with), which
    /// do not see the layer). With the default key, the peer address, serve
    /// the app with `into_make_service_with_connect_info::<SocketAddr>()`.
    ///
    /// ```
    /// # async fn demo() -> tessera::Result<()> {
    /// use std::time::Duration;
    /// use tessera_axum::{RefreshRateLimit, SessionLayer};
    ///
    /// let manager = tessera::SessionManager::in_memory().await?;
    /// let layer = SessionLayer::new(manager)
    ///     .refresh_rate_limit(RefreshRateLimit::new(10, Duration::from_secs(1)));
    /// let app: axum::Router = layer.routes().layer(layer);
    /// # Ok(()) }
    /// ```
    pub fn refresh_rate_limit(mut self, limit: crate::RefreshRateLimit) -> Self {
        self.config_mut().refresh_rate_limit = Some(limit);
        self
    }

    /// The manager.
    pub fn manager(&self) -> &SessionManager {
        &self.shared.manager
    }

    /// The refresh path, `{api_base_path}/session/refresh`.
    pub fn refresh_path(&self) -> &str {
        &self.shared.config.refresh_path
    }

    /// `POST {base}/session/refresh` and `POST {base}/signout` at this
    /// layer's base path.
    pub fn routes<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        crate::routes::routes_limited(
            &self.shared.config.api_base_path,
            self.shared.config.refresh_rate_limit.as_ref(),
        )
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service made by [`SessionLayer`].
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: fmt::Debug> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let ctx = Arc::new(RequestContext::new(self.shared.clone()));
        req.extensions_mut().insert(ContextHandle(ctx.clone()));
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            ctx.finish(&mut res);
            Ok(res)
        })
    }
}

/// The request extension the layer inserts.
#[derive(Clone)]
pub(crate) struct ContextHandle(pub(crate) Arc<RequestContext>);

/// One request's view of the layer: the shared settings and the queue of
/// token changes for its response.
pub(crate) struct RequestContext {
    pub(crate) shared: Arc<Shared>,
    queue: Mutex<Vec<Mutation>>,
    finished: AtomicBool,
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext").finish_non_exhaustive()
    }
}

impl RequestContext {
    fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            queue: Mutex::new(Vec::new()),
            finished: AtomicBool::new(false),
        }
    }

    /// The manager.
    pub(crate) fn manager(&self) -> &SessionManager {
        &self.shared.manager
    }

    /// The settings.
    pub(crate) fn config(&self) -> &TransportConfig {
        &self.shared.config
    }

    /// Queues token changes for this request's response.
    pub(crate) fn queue(&self, mutations: impl IntoIterator<Item = Mutation>) {
        if self.finished.load(Ordering::Acquire) {
            tracing::warn!(target: "tessera::transport", "session tokens changed after the response was sent; the client will not receive them");
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        q.extend(mutations);
    }

    /// Applies the configured status and clearing of an error response,
    /// then writes every queued change.
    fn finish<B>(&self, res: &mut Response<B>) {
        self.finished.store(true, Ordering::Release);
        let mut mutations = {
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::take(&mut *q)
        };
        if let Some(rejection) = res.extensions_mut().remove::<Rejection>() {
            *res.status_mut() = match rejection.kind {
                RejectionKind::SessionExpired => self.shared.config.session_expired_status,
                RejectionKind::InvalidClaim => self.shared.config.invalid_claim_status,
            };
            if rejection.clear_tokens {
                mutations.push(Mutation::Clear(TokenTransferMethod::Cookie));
                mutations.push(Mutation::Clear(TokenTransferMethod::Header));
            }
        }
        if mutations.is_empty() {
            return;
        }
        Outgoing::fold(&self.shared.config, mutations).write(res.headers_mut());
    }
}

/// The request's context, or [`Error::MissingLayer`].
pub(crate) fn context(extensions: &http::Extensions) -> Result<Arc<RequestContext>, Error> {
    extensions
        .get::<ContextHandle>()
        .map(|h| h.0.clone())
        .ok_or(Error::MissingLayer)
}
