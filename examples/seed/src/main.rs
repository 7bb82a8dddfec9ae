//! Runs the seed app.
//!
//! ```text
//! cargo run -p tessera-seed-example            # sqlite://tessera.db on 127.0.0.1:3001
//! TESSERA_DATABASE_URL=memory: TESSERA_ADDR=127.0.0.1:4000 cargo run -p tessera-seed-example
//!
//! curl -si -X POST -H 'st-auth-mode: header' http://127.0.0.1:3001/login/alice
//! curl -si -X POST -H "authorization: Bearer <st-access-token>" http://127.0.0.1:3001/test
//! ```
//!
//! Cookies are `Secure` unless `TESSERA_COOKIE_SECURE=false` (plain-HTTP
//! development only).

use tessera_axum::ServerLimits;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let url =
        std::env::var("TESSERA_DATABASE_URL").unwrap_or_else(|_| "sqlite://tessera.db".into());
    let addr = std::env::var("TESSERA_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let cookie_secure = std::env::var("TESSERA_COOKIE_SECURE").map_or(true, |v| v != "false");

    let manager = tessera::SessionManager::connect(&url).await?;
    let app = tessera_seed_example::app(manager, cookie_secure);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("seed app on http://{}", listener.local_addr()?);
    // Header read timeout, bounded request heads, the peer address for the
    // refresh rate limit, graceful shutdown on Ctrl-C.
    tessera_axum::serve(listener, app, ServerLimits::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
