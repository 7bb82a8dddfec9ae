//! The two endpoints supertokens-website calls, mounted on the FDI core's
//! flows: `POST {base}/session/refresh` and `POST {base}/signout`.

use actix_web::{HttpRequest, HttpResponse, web};
use tessera_http::{refresh_path, signout_path};

use crate::error::Error;
use crate::extract::context;
use crate::view::View;

/// Mounts both routes under `base` (normalised), and the tenant-prefixed
/// refresh route pattern when it is on.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, base: &str, tenant_route: Option<&str>) {
    cfg.route(&refresh_path(base), web::post().to(refresh))
        .route(&signout_path(base), web::post().to(signout));
    if let Some(pattern) = tenant_route {
        cfg.route(pattern, web::post().to(refresh));
    }
}

/// [`RequestContext::refresh`](tessera_http::RequestContext::refresh).
async fn refresh(req: HttpRequest) -> Result<HttpResponse, Error> {
    let ctx = context(&req)?;
    Ok(HttpResponse::Ok().json(ctx.refresh(&View(&req)).await?))
}

/// [`RequestContext::signout`](tessera_http::RequestContext::signout).
async fn signout(req: HttpRequest) -> Result<HttpResponse, Error> {
    let ctx = context(&req)?;
    Ok(HttpResponse::Ok().json(ctx.signout(&View(&req)).await?))
}
