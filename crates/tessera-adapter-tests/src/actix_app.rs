//! The test app on tessera-actix: the same routes and answers as
//! [`axum_app`](crate::axum_app).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use tessera_actix::{Error, OptionalSession, Session, SessionMiddleware, SessionOptions, Sessions};

/// The seed handler of the README, for actix-web.
pub async fn test_info(session: Session) -> Result<HttpResponse, Error> {
    let user_id = session.get_user_id().to_owned();

    let mut data = session.get_session_data().await?;
    data["newKey"] = json!("newVal");
    session.update_session_data(data).await?;

    let mut payload = session.get_jwt_payload().clone();
    payload["newKey"] = json!("newVal");
    session.update_jwt_payload(payload).await?;

    session.revoke_session().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ok", "user": user_id })))
}

/// The seed login handler.
pub async fn login(sessions: Sessions, user: web::Path<String>) -> Result<HttpResponse, Error> {
    let session = sessions
        .create_new_session(
            &user,
            json!({ "role": "reader" }),
            json!({ "cart": [1, 2] }),
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "handle": session.get_handle() })))
}

fn describe(session: &Session) -> Value {
    json!({
        "userId": session.get_user_id(),
        "handle": session.get_handle(),
        "tenantId": session.get_tenant_id(),
        "payload": session.get_jwt_payload(),
        "method": session.token_transfer_method().as_str(),
    })
}

async fn me(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(describe(&session))
}

async fn maybe(session: OptionalSession) -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({ "userId": session.0.as_ref().map(|s| s.get_user_id().to_owned()) }))
}

async fn set_data(session: Session, data: web::Json<Value>) -> Result<HttpResponse, Error> {
    session.update_session_data(data.into_inner()).await?;
    Ok(HttpResponse::Ok().json(json!({ "data": session.get_session_data().await? })))
}

async fn set_payload(session: Session, payload: web::Json<Value>) -> Result<HttpResponse, Error> {
    session.update_jwt_payload(payload.into_inner()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "payload": session.get_jwt_payload(),
        "accessToken": session.get_access_token(),
    })))
}

async fn revoke_own(session: Session) -> Result<HttpResponse, Error> {
    session.revoke_session().await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": session.get_handle() })))
}

async fn admin_revoke(
    sessions: Sessions,
    handle: web::Path<String>,
) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok().json(json!({ "revoked": sessions.revoke_session(&handle).await? })))
}

/// Calls exactly one `Session` method, for the database-call counts.
async fn one_method(op: web::Path<String>, session: Session) -> Result<HttpResponse, Error> {
    match op.as_str() {
        "get_user_id" => {
            let _ = session.get_user_id();
        }
        "get_jwt_payload" => {
            let _ = session.get_jwt_payload();
        }
        "update_jwt_payload" => session.update_jwt_payload(json!({ "k": 1 })).await?,
        "get_session_data" => {
            session.get_session_data().await?;
        }
        "update_session_data" => session.update_session_data(json!({ "k": 2 })).await?,
        "revoke_session" => session.revoke_session().await?,
        _ => return Err(Error::InvalidInput("unknown op".into())),
    }
    Ok(HttpResponse::Ok().json(json!({ "op": op.into_inner() })))
}

/// Mounts the test routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/{user}", web::post().to(login))
        .route("/test", web::post().to(test_info))
        .route("/me", web::get().to(me))
        .route("/me", web::post().to(me))
        .route("/me", web::head().to(me))
        .route("/maybe", web::get().to(maybe))
        .route("/data", web::post().to(set_data))
        .route("/payload", web::post().to(set_payload))
        .route("/revoke", web::post().to(revoke_own))
        .route("/admin/revoke/{handle}", web::post().to(admin_revoke))
        .route("/one/{op}", web::post().to(one_method))
        .service(
            web::resource("/checked")
                .app_data(SessionOptions::new().check_database(true))
                .route(web::post().to(me)),
        );
}

/// Serves the test app on its own thread (an actix-web system), on
/// 127.0.0.1:0; returns the address and the server's handle.
pub fn app(middleware: SessionMiddleware) -> (SocketAddr, ServerHandle) {
    serve(middleware)
}

pub(crate) fn serve(middleware: SessionMiddleware) -> (SocketAddr, ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .configure(routes)
                    .configure(middleware.routes())
                    .wrap(middleware.clone())
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            tx.send(server.handle()).unwrap();
            let _ = server.await;
        });
    });
    (addr, rx.recv().expect("the actix server thread started"))
}

/// An actix app with a `Session` route and no middleware (a programming
/// error that must answer 500, not panic).
pub fn unlayered() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| App::new().route("/me", web::get().to(me)))
                .workers(1)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run();
            let _ = server.await;
        });
    });
    addr
}
