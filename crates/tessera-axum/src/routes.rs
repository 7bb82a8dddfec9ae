//! The two endpoints supertokens-website calls: `POST {base}/session/refresh`
//! (FDI §7) and `POST {base}/signout` (FDI §8).

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::routing::post;
use serde_json::Value;
use tessera_http::{DEFAULT_API_BASE_PATH, normalise_base_path, refresh_path, signout_path};

use crate::error::Error;
use crate::headers::PartsView;
use crate::layer::context;
use crate::rate_limit::RefreshRateLimit;

/// `POST /auth/session/refresh` and `POST /auth/signout`. Merge into the
/// app and put [`SessionLayer`](crate::SessionLayer) around it.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes_with(DEFAULT_API_BASE_PATH)
}

/// The refresh and signout routes under another base path. The layer must
/// use the same path ([`SessionLayer::api_base_path`](crate::SessionLayer::api_base_path)),
/// or the browser will not send the refresh cookie; [`SessionLayer::routes`](crate::SessionLayer::routes)
/// does both at once.
pub fn routes_with<S>(base_path: &str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes_limited(base_path, None, None)
}

/// The routes, with an optional rate limit on the refresh route and the
/// tenant-prefixed refresh route pattern when it is on.
pub(crate) fn routes_limited<S>(
    base_path: &str,
    limit: Option<&RefreshRateLimit>,
    tenant_refresh_route: Option<&str>,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let base = normalise_base_path(base_path);
    let refresh_route = match limit {
        Some(limit) => limit.apply(post(refresh)),
        None => post(refresh),
    };
    let mut router = Router::new()
        .route(&refresh_path(&base), refresh_route.clone())
        .route(&signout_path(&base), post(signout));
    if let Some(pattern) = tenant_refresh_route {
        router = router.route(pattern, refresh_route);
    }
    router
}

/// Refreshes the session: the FDI core's
/// [`RequestContext::refresh`](tessera_http::RequestContext::refresh).
async fn refresh(req: Request) -> Result<Json<Value>, Error> {
    let (parts, _body) = req.into_parts();
    let ctx = context(&parts.extensions)?;
    Ok(Json(ctx.refresh(&PartsView(&parts)).await?))
}

/// Signs out: the FDI core's
/// [`RequestContext::signout`](tessera_http::RequestContext::signout).
async fn signout(req: Request) -> Result<Json<Value>, Error> {
    let (parts, _body) = req.into_parts();
    let ctx = context(&parts.extensions)?;
    Ok(Json(ctx.signout(&PartsView(&parts)).await?))
}
