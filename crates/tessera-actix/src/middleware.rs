//! [`SessionMiddleware`]: makes a [`RequestContext`] per request for the
//! extractors, and writes the queued token changes on the response.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, web};
use tessera::SessionManager;
use tessera_http::{Fdi, Rejection, RequestContext};

use crate::view::Headers;

/// The actix-web middleware that makes [`Session`](crate::Session) and
/// [`Sessions`](crate::Sessions) work: `wrap` it around every route that
/// uses them, and around the [`routes`](Self::routes).
///
/// The settings are the FDI core's [`Fdi`] builder; make one with
/// [`SessionMiddleware::from_fdi`] to change them:
///
/// ```
/// # async fn demo() -> tessera::Result<()> {
/// use tessera_actix::{Fdi, SameSite, SessionMiddleware};
///
/// let manager = tessera::SessionManager::in_memory().await?;
/// let sessions = SessionMiddleware::from_fdi(
///     Fdi::new(manager).cookie_domain(".example.com").cookie_same_site(SameSite::Lax),
/// );
/// let app = actix_web::App::new()
///     .configure(sessions.routes())
///     .wrap(sessions.clone());
/// # drop(app);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SessionMiddleware {
    fdi: Fdi,
}

impl SessionMiddleware {
    /// SuperTokens' defaults: base path `/auth`, `Secure`, `SameSite=Lax`,
    /// host-only cookies, 401/403, either transfer method.
    pub fn new(manager: SessionManager) -> Self {
        Self::from_fdi(Fdi::new(manager))
    }

    /// A middleware over an FDI configured with its builder methods.
    pub fn from_fdi(fdi: Fdi) -> Self {
        Self { fdi }
    }

    /// The FDI core this middleware runs.
    pub fn fdi(&self) -> &Fdi {
        &self.fdi
    }

    /// The engine.
    pub fn manager(&self) -> &SessionManager {
        self.fdi.manager()
    }

    /// `POST {base}/session/refresh` and `POST {base}/signout` at this
    /// middleware's base path (and `POST {base}/{tenantId}/session/refresh`
    /// with [`Fdi::tenant_refresh_routes`]), for `App::configure`.
    pub fn routes(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + use<> {
        let base = self.fdi.base_path().to_owned();
        let tenant_route = self.fdi.tenant_refresh_route();
        move |cfg| crate::routes::configure(cfg, &base, tenant_route.as_deref())
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = SessionMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionMiddlewareService {
            service: Rc::new(service),
            fdi: self.fdi.clone(),
        }))
    }
}

/// The service made by [`SessionMiddleware`].
pub struct SessionMiddlewareService<S> {
    service: Rc<S>,
    fdi: Fdi,
}

impl<S> std::fmt::Debug for SessionMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMiddlewareService")
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for SessionMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let ctx = RequestContext::new(self.fdi.clone());
        req.extensions_mut().insert(ContextHandle(ctx.clone()));
        let fut = self.service.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            let rejection = res.response_mut().extensions_mut().remove::<Rejection>();
            let status = ctx.finish(rejection, &mut Headers(res.headers_mut()));
            if let Some(status) = status.and_then(|s| StatusCode::from_u16(s).ok()) {
                *res.response_mut().status_mut() = status;
            }
            Ok(res)
        })
    }
}

/// The request extension the middleware inserts.
#[derive(Clone)]
pub(crate) struct ContextHandle(pub(crate) Arc<RequestContext>);
