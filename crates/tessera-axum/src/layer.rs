//! [`SessionLayer`]: puts the manager and a per-request slot for token
//! changes into every request, and writes the queued changes onto that
//! request's response.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use http::{Request, Response, StatusCode};
use tessera::{AntiCsrfMode, SessionManager};
use tessera_http::{ClaimValidator, Fdi, Rejection, RequestContext, SameSite, TokenTransferPolicy};
use tower::{Layer, Service};

use crate::error::Error;
use crate::headers::Headers;

/// The tower layer that makes [`Session`](crate::Session) and
/// [`Sessions`](crate::Sessions) work: install it around every route that
/// uses them, and around [`routes()`](crate::routes).
///
/// The transport settings are builder methods (they set the FDI core's
/// [`Fdi`]; [`SessionLayer::from_fdi`] takes one made elsewhere); the token
/// rules (lifetimes, anti-CSRF tokens, blacklisting …) come from the
/// manager's [`tessera::Config`].
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
#[derive(Clone, Debug)]
pub struct SessionLayer {
    fdi: Fdi,
    refresh_rate_limit: Option<crate::RefreshRateLimit>,
}

impl SessionLayer {
    /// A layer with SuperTokens' defaults: base path `/auth`, `Secure`,
    /// `SameSite=Lax`, host-only cookies, 401/403, either transfer method.
    pub fn new(manager: SessionManager) -> Self {
        Self::from_fdi(Fdi::new(manager))
    }

    /// A layer over an FDI configured elsewhere (shared with another
    /// adapter, say).
    pub fn from_fdi(fdi: Fdi) -> Self {
        Self {
            fdi,
            refresh_rate_limit: None,
        }
    }

    /// The FDI core this layer runs.
    pub fn fdi(&self) -> &Fdi {
        &self.fdi
    }

    fn map(mut self, f: impl FnOnce(Fdi) -> Fdi) -> Self {
        self.fdi = f(self.fdi);
        self
    }

    /// The API base path (default `/auth`): the refresh cookie's `Path` is
    /// `{base}/session/refresh`. Mount the routes with
    /// [`SessionLayer::routes`] (or [`routes_with`](crate::routes_with) and
    /// the same path) so they agree.
    pub fn api_base_path(self, path: &str) -> Self {
        self.map(|f| f.api_base_path(path))
    }

    /// The `Domain` of the session cookies (default: none, host-only).
    /// Normalised like SuperTokens' `cookie_domain` (a leading dot is kept).
    pub fn cookie_domain(self, domain: &str) -> Self {
        self.map(|f| f.cookie_domain(domain))
    }

    /// A domain that session cookies used to be set on. When a refresh sees
    /// duplicated session cookies it expires them on this domain and answers
    /// `200 {"message":…}` (FDI §11.2); `""` means the host-only cookie.
    /// Without it, duplicated cookies at refresh are a 500.
    pub fn older_cookie_domain(self, domain: &str) -> Self {
        self.map(|f| f.older_cookie_domain(domain))
    }

    /// The `Secure` attribute (default `true`). Set `false` only for a
    /// plain-HTTP `localhost` setup.
    pub fn cookie_secure(self, secure: bool) -> Self {
        self.map(|f| f.cookie_secure(secure))
    }

    /// The `SameSite` attribute (default `Lax`). `None` needs `Secure` in
    /// every current browser, and switches the default anti-CSRF mode to
    /// `ViaCustomHeader`.
    pub fn cookie_same_site(self, same_site: SameSite) -> Self {
        self.map(|f| f.cookie_same_site(same_site))
    }

    /// The statuses for "session expired" (default 401) and "invalid claim"
    /// (default 403). They must differ, and must match the frontend's
    /// `sessionExpiredStatusCode` and `invalidClaimStatusCode`.
    pub fn status_codes(
        mut self,
        session_expired: StatusCode,
        invalid_claim: StatusCode,
    ) -> Result<Self, Error> {
        self.fdi = self
            .fdi
            .status_codes(session_expired.as_u16(), invalid_claim.as_u16())?;
        Ok(self)
    }

    /// Overrides the anti-CSRF mode of the manager's configuration for this
    /// layer (creation, verification and refresh all follow it).
    pub fn anti_csrf(self, mode: AntiCsrfMode) -> Self {
        self.map(|f| f.anti_csrf(mode))
    }

    /// Which transfer methods are read and issued (default: either, per
    /// `st-auth-mode`).
    pub fn token_transfer_policy(self, policy: TokenTransferPolicy) -> Self {
        self.map(|f| f.token_transfer_policy(policy))
    }

    /// Also send the access token as an `st-access-token` header in cookie
    /// mode (SuperTokens' `expose_access_token_to_frontend_in_cookie_based_auth`,
    /// default off).
    pub fn expose_access_token_in_cookie_mode(self, on: bool) -> Self {
        self.map(|f| f.expose_access_token_in_cookie_mode(on))
    }

    /// Which refresh-token model the refresh route and every extraction
    /// follow (default rotation at refresh); see [`Fdi::refresh_model`].
    pub fn refresh_model(self, model: tessera::RefreshModel) -> Self {
        self.map(|f| f.refresh_model(model))
    }

    /// Adds a claim validator that every [`Session`](crate::Session)
    /// extraction runs (a failure is `403 invalid claim`).
    pub fn claim_validator(self, validator: impl ClaimValidator) -> Self {
        self.map(|f| f.claim_validator(validator))
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
        self.refresh_rate_limit = Some(limit);
        self
    }

    /// The manager.
    pub fn manager(&self) -> &SessionManager {
        self.fdi.manager()
    }

    /// The refresh path, `{api_base_path}/session/refresh`.
    pub fn refresh_path(&self) -> &str {
        self.fdi.refresh_path()
    }

    /// `POST {base}/session/refresh` and `POST {base}/signout` at this
    /// layer's base path (and `POST {base}/{tenantId}/session/refresh` with
    /// [`Fdi::tenant_refresh_routes`](tessera_http::Fdi::tenant_refresh_routes)).
    pub fn routes<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        crate::routes::routes_limited(
            self.fdi.base_path(),
            self.refresh_rate_limit.as_ref(),
            self.fdi.tenant_refresh_route().as_deref(),
        )
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            fdi: self.fdi.clone(),
        }
    }
}

/// The service made by [`SessionLayer`].
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    fdi: Fdi,
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
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let ctx = RequestContext::new(self.fdi.clone());
        req.extensions_mut().insert(ContextHandle(ctx.clone()));
        ResponseFuture {
            inner: self.inner.call(req),
            ctx,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`SessionService`]: the inner service's
    /// response, with the request's queued token changes (and an error's
    /// clearing and status) written on it. A named future rather than a
    /// boxed one: no allocation per request.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        ctx: Arc<RequestContext>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = std::task::ready!(this.inner.poll(cx))?;
        let rejection = res.extensions_mut().remove::<Rejection>();
        let status = this.ctx.finish(rejection, &mut Headers(res.headers_mut()));
        if let Some(status) = status.and_then(|s| StatusCode::from_u16(s).ok()) {
            *res.status_mut() = status;
        }
        Poll::Ready(Ok(res))
    }
}

/// The request extension the layer inserts.
#[derive(Clone)]
pub(crate) struct ContextHandle(pub(crate) Arc<RequestContext>);

/// The request's context, or [`Error::MissingLayer`].
pub(crate) fn context(extensions: &http::Extensions) -> Result<&Arc<RequestContext>, Error> {
    extensions
        .get::<ContextHandle>()
        .map(|h| &h.0)
        .ok_or(Error::MissingLayer)
}
