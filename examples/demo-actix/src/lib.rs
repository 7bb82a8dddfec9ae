//! The browser demo on actix-web: the page of `examples/demo` (the same
//! file), its SDK bundle, and the same JSON API, with tessera-actix in
//! place of tessera-axum. `tests/browser` runs its suite against both.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the demo page |
//! | `GET /static/supertokens.js` | the SDK bundle (`examples/demo/web/build.sh`) |
//! | `GET /api/config` | the engine settings the page shows |
//! | `POST /api/login` | `{"userId"}`: creates a session |
//! | `GET /api/session` | the session, its data and expiry |
//! | `PUT /api/session/data`, `PUT /api/session/payload` | updates |
//! | `POST /api/session/revoke` | revokes the own session |
//! | `GET /api/sessions` | the user's session handles |
//! | `POST /api/admin/revoke/{handle}` | revokes any session (a demo: no auth) |
//! | `POST /auth/session/refresh`, `POST /auth/signout` | tessera-actix's routes |

use std::path::PathBuf;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use serde_json::json;
use tessera::{AntiCsrfMode, NewSession};
use tessera_actix::{Error, Session, SessionMiddleware, Sessions};

pub use tessera_demo::{
    DataRequest, LoginRequest, PAGE, PayloadRequest, SDK_BUNDLE, default_static_dir,
    sdk_bundle_present,
};

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}

async fn sdk_bundle(dir: web::Data<PathBuf>) -> HttpResponse {
    let path = dir.join(SDK_BUNDLE);
    match std::fs::read(&path) {
        Ok(bytes) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "text/javascript; charset=utf-8"))
            .insert_header((CACHE_CONTROL, "no-cache"))
            .body(bytes),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "demo: SDK bundle missing");
            HttpResponse::NotFound()
                .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
                .body(format!(
                    "{} is missing ({e}). Build it with examples/demo/web/build.sh \
                     (scripts/demo does), or point --static-dir at its directory.\n",
                    path.display()
                ))
        }
    }
}

async fn config(sessions: Sessions) -> HttpResponse {
    let config = sessions.manager().config();
    let anti_csrf = match config.anti_csrf {
        AntiCsrfMode::ViaToken => "via-token",
        AntiCsrfMode::ViaCustomHeader => "via-custom-header",
        AntiCsrfMode::None => "none",
    };
    HttpResponse::Ok().json(json!({
        "accessTokenValidity": config.access_token_validity.as_secs_f64(),
        "antiCsrf": anti_csrf,
        "blacklisting": config.blacklisting,
    }))
}

async fn login(sessions: Sessions, req: web::Json<LoginRequest>) -> Result<HttpResponse, Error> {
    let user_id = req.user_id.trim();
    if user_id.is_empty() {
        return Err(Error::InvalidInput("userId must not be empty".into()));
    }
    let new = NewSession::new(user_id)
        .jwt_payload(json!({ "role": "demo" }))
        .session_data(json!({ "visits": 0, "notes": "hello from the session data" }))
        .metadata(sessions.request_metadata());
    let session = sessions.create_session(new).await?;
    Ok(HttpResponse::Ok().json(json!({
        "userId": session.get_user_id(),
        "handle": session.get_handle(),
        "transferMethod": session.token_transfer_method().as_str(),
    })))
}

async fn get_session(session: Session) -> Result<HttpResponse, Error> {
    let info = session.get_session_information().await?;
    Ok(HttpResponse::Ok().json(json!({
        "userId": session.get_user_id(),
        "handle": session.get_handle(),
        "tenantId": session.get_tenant_id(),
        "payload": session.get_jwt_payload(),
        "data": info.session_data,
        "expiry": info.expiry_ms,
        "timeCreated": info.time_created_ms,
        "accessTokenExpiry": session.get_access_token_expiry(),
        "transferMethod": session.token_transfer_method().as_str(),
    })))
}

async fn put_data(session: Session, req: web::Json<DataRequest>) -> Result<HttpResponse, Error> {
    session.update_session_data(req.data.clone()).await?;
    Ok(HttpResponse::Ok().json(json!({ "data": req.data })))
}

async fn put_payload(
    session: Session,
    req: web::Json<PayloadRequest>,
) -> Result<HttpResponse, Error> {
    session.update_jwt_payload(req.into_inner().payload).await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": session.get_jwt_payload() })))
}

async fn revoke_own(session: Session) -> Result<HttpResponse, Error> {
    session.revoke_session().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "OK" })))
}

async fn list_sessions(session: Session, sessions: Sessions) -> Result<HttpResponse, Error> {
    let handles = sessions
        .get_all_session_handles_for_user(session.get_user_id())
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "handles": handles, "current": session.get_handle() })))
}

async fn admin_revoke(
    sessions: Sessions,
    handle: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let revoked = sessions.revoke_session(&handle).await?;
    tracing::info!(session_handle = ?handle.as_str(), revoked, "demo: server-side revoke");
    Ok(HttpResponse::Ok().json(json!({ "revoked": revoked })))
}

/// The demo's routes and the session routes, for `App::configure`; wrap the
/// app in the same `sessions` middleware.
pub fn configure(
    sessions: &SessionMiddleware,
    static_dir: PathBuf,
) -> impl Fn(&mut web::ServiceConfig) + Clone + use<> {
    let session_routes = sessions.routes();
    let static_dir = web::Data::new(static_dir);
    move |cfg| {
        cfg.app_data(static_dir.clone())
            .route("/", web::get().to(page))
            .route("/static/supertokens.js", web::get().to(sdk_bundle))
            .route("/api/config", web::get().to(config))
            .route("/api/login", web::post().to(login))
            .route("/api/session", web::get().to(get_session))
            .route("/api/session/data", web::put().to(put_data))
            .route("/api/session/payload", web::put().to(put_payload))
            .route("/api/session/revoke", web::post().to(revoke_own))
            .route("/api/sessions", web::get().to(list_sessions))
            .route("/api/admin/revoke/{handle}", web::post().to(admin_revoke));
        session_routes(cfg);
    }
}
