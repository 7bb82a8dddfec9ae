//! The seed of tessera on actix-web: the handler from the README that
//! takes a [`Session`] and calls its six methods, and the login that
//! creates one. `src/main.rs` serves [`configure`]; `tests/seed.rs` drives
//! it over a socket.

use actix_web::{HttpResponse, web};
use serde_json::json;
use tessera_actix::{Error, Session, SessionMiddleware, Sessions};

/// The seed handler: reads and changes the session data and the JWT
/// payload, then revokes the session (0, 1, 1, 0, 1, 1 database calls).
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

/// Creates a session for the user in the path.
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

/// The seed middleware: SuperTokens' defaults; `cookie_secure: false` only
/// for plain-HTTP development.
pub fn middleware(manager: tessera::SessionManager, cookie_secure: bool) -> SessionMiddleware {
    SessionMiddleware::from_fdi(tessera_actix::Fdi::new(manager).cookie_secure(cookie_secure))
}

/// The seed routes: `POST /login/{user}`, `POST /test`, and the refresh
/// and signout routes. Wrap the app in the same [`SessionMiddleware`].
pub fn configure(sessions: &SessionMiddleware) -> impl Fn(&mut web::ServiceConfig) + Clone + use<> {
    let routes = sessions.routes();
    move |cfg| {
        cfg.route("/login/{user}", web::post().to(login))
            .route("/test", web::post().to(test_info));
        routes(cfg);
    }
}
