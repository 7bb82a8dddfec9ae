//! actix-web integration for [`tessera`]: the [`Session`] extractor,
//! [`Sessions`], [`SessionMiddleware`] and the refresh/signout routes,
//! speaking SuperTokens' session protocol so that `supertokens-website`
//! works unchanged. Every protocol rule is the FDI core's
//! ([`tessera_http`]); this crate translates actix-web's request and
//! response to it and back.
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use serde_json::json;
//! use tessera_actix::{Error, Session, SessionMiddleware, Sessions};
//!
//! async fn test_info(session: Session) -> Result<HttpResponse, Error> {
//!     let user_id = session.get_user_id().to_owned();         // 0 database calls
//!
//!     let mut data = session.get_session_data().await?;       // 1
//!     data["newKey"] = json!("newVal");
//!     session.update_session_data(data).await?;               // 1
//!
//!     let mut payload = session.get_jwt_payload().clone();    // 0
//!     payload["newKey"] = json!("newVal");
//!     session.update_jwt_payload(payload).await?;             // 1
//!
//!     session.revoke_session().await?;                        // 1
//!     Ok(HttpResponse::Ok().json(json!({ "status": "ok", "user": user_id })))
//! }
//!
//! async fn login(sessions: Sessions, user: web::Path<String>) -> Result<HttpResponse, Error> {
//!     let session = sessions
//!         .create_new_session(&user, json!({ "role": "reader" }), json!({ "cart": [1, 2] }))
//!         .await?;
//!     Ok(HttpResponse::Ok().json(json!({ "handle": session.get_handle() })))
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let manager = tessera::SessionManager::connect("sqlite://tessera.db").await?;
//!     let sessions = SessionMiddleware::new(manager);
//!     HttpServer::new(move || {
//!         App::new()
//!             .route("/login/{user}", web::post().to(login))
//!             .route("/test", web::post().to(test_info))
//!             .configure(sessions.routes()) // POST /auth/session/refresh, POST /auth/signout
//!             .wrap(sessions.clone())
//!     })
//!     .bind("127.0.0.1:3000")?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! Signing keys: RS256 by default; an app with no SuperTokens backend SDK
//! verifying its tokens can make sessions cheaper to create and refresh
//! with `SessionManager::builder().signing_algorithm(SigningAlgorithm::EdDsa)`
//! (see [`tessera::SigningAlgorithm`]), then `SessionMiddleware::new(manager)`
//! as above.
//!
//! `Option<Session>` is actix-web's own: *any* failure (an expired token
//! too) becomes `None`. Use [`OptionalSession`] for SuperTokens'
//! `session_required=False` ("absent is fine, an expired or bad token is
//! still an error").

mod cors;
mod error;
mod extract;
mod middleware;
mod routes;
mod view;

pub use cors::cors;
pub use error::Error;
pub use extract::{OptionalSession, Session, Sessions};
pub use middleware::{SessionMiddleware, SessionMiddlewareService};
pub use tessera_http::{
    ClaimValidationError, ClaimValidator, DEFAULT_API_BASE_PATH, Fdi, SameSite, SessionOptions,
    TokenTransferMethod, TokenTransferPolicy, TryRefreshCause, UnauthorisedCause,
};

/// The engine, re-exported.
pub use tessera;
/// The framework-neutral FDI core this adapter translates to.
pub use tessera_http;
