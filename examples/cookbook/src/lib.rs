//! Runnable recipes for tessera, each one a module here, a route of the
//! cookbook app and a test that drives it over a loopback socket.
//!
//! | recipe | module | run it |
//! |---|---|---|
//! | login with a real password check (argon2id PHC strings, a SQLite user table) | [`users`], [`login`] | `cargo run -p tessera-cookbook --example app` |
//! | a route group that requires a session (middleware), beside public routes | [`protected`] | same app: `GET /api/me` |
//! | role checks on claims in the access-token payload | [`roles`] | same app: `GET /api/admin/stats` |
//! | PostgreSQL production setup: config from env, maintenance task, hardened serve | [`production`] | `TESSERA_DATABASE_URL=postgres://… cargo run -p tessera-cookbook --example production` |
//! | a header-mode (mobile) client that refreshes on `401 try refresh token` | [`mobile`] | `cargo run -p tessera-cookbook --example mobile_client -- http://127.0.0.1:3002 EMAIL PASSWORD` |
//!
//! [`app`] puts the first three together behind a [`SessionLayer`];
//! [`hardened`] wraps any app in [`RequestLimits`] and is what both
//! servers serve with [`tessera_axum::serve`].

pub mod error;
pub mod login;
pub mod mobile;
pub mod production;
pub mod protected;
pub mod roles;
pub mod users;

use std::sync::Arc;

use axum::Router;
use tessera_axum::{RequestLimits, SessionLayer};

pub use error::Error;
pub use users::UserStore;

/// The cookbook app: `POST /signup`, `POST /login` ([`login`]), public
/// `GET /` and `GET /health`, the session-only group `/api/*`
/// ([`protected`]) with its admin-only part `/api/admin/*` ([`roles`]), and
/// the layer's `POST /auth/session/refresh` and `POST /auth/signout`.
pub fn app(layer: SessionLayer, users: Arc<UserStore>) -> Router {
    Router::new()
        .merge(login::router(users))
        .merge(protected::router())
        .merge(layer.routes())
        .layer(layer)
}

/// `app` behind [`RequestLimits`] (short JSON refusals for oversized or
/// malformed requests, a time limit per request).
pub fn hardened(app: Router, limits: RequestLimits) -> Router {
    app.layer(limits)
}
