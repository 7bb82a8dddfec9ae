//! The cookbook app: password login (argon2id, SQLite user table), public
//! routes beside a session-only `/api` group, an admin-only route.
//!
//! ```text
//! cargo run -p tessera-cookbook --example app     # http://127.0.0.1:3002
//!
//! curl -s -X POST -H 'content-type: application/json' \
//!      -d '{"email":"ada@example.com","password":"correct horse"}' http://127.0.0.1:3002/signup
//! curl -si -X POST -H 'content-type: application/json' -H 'st-auth-mode: header' \
//!      -d '{"email":"ada@example.com","password":"correct horse"}' http://127.0.0.1:3002/login
//! curl -s -H "authorization: Bearer <st-access-token>" http://127.0.0.1:3002/api/me
//! ```
//!
//! `COOKBOOK_ADMIN_EMAIL` and `COOKBOOK_ADMIN_PASSWORD` create an admin at
//! start (if the email is new). Sessions: `sqlite://cookbook-sessions.db`;
//! users: `cookbook-users.db` (both in the current directory). Cookies are
//! not `Secure` here because this serves plain HTTP on localhost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tessera_axum::{RefreshRateLimit, RequestLimits, ServerLimits, SessionLayer};
use tessera_cookbook::{Error, UserStore};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let addr: SocketAddr = std::env::var("COOKBOOK_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3002".into())
        .parse()
        .map_err(|_| Error::Config("COOKBOOK_ADDR is malformed".into()))?;

    let manager = tessera::SessionManager::connect("sqlite://cookbook-sessions.db").await?;
    let users = Arc::new(UserStore::open("cookbook-users.db").await?);
    if let (Ok(email), Ok(password)) = (
        std::env::var("COOKBOOK_ADMIN_EMAIL"),
        std::env::var("COOKBOOK_ADMIN_PASSWORD"),
    ) {
        match users.create_user(&email, &password, &["admin"]).await {
            Ok(_) | Err(Error::EmailTaken) => {}
            Err(e) => return Err(e),
        }
    }

    let layer = SessionLayer::new(manager)
        .cookie_secure(false) // plain HTTP on localhost only: keep the default (true) behind TLS
        .refresh_rate_limit(RefreshRateLimit::new(10, Duration::from_secs(1)));
    let app = tessera_cookbook::hardened(
        tessera_cookbook::app(layer, users),
        RequestLimits::default(),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("cookbook app on http://{}", listener.local_addr()?);
    tessera_axum::serve(listener, app, ServerLimits::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
