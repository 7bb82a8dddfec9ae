//! Runs the seed app on actix-web.
//!
//! ```text
//! cargo run -p tessera-seed-actix-example      # sqlite://tessera.db on 127.0.0.1:3002
//! TESSERA_DATABASE_URL=memory: TESSERA_ADDR=127.0.0.1:4000 cargo run -p tessera-seed-actix-example
//!
//! curl -si -X POST -H 'st-auth-mode: header' http://127.0.0.1:3002/login/alice
//! curl -si -X POST -H "authorization: Bearer <st-access-token>" http://127.0.0.1:3002/test
//! ```
//!
//! Cookies are `Secure` unless `TESSERA_COOKIE_SECURE=false` (plain-HTTP
//! development only).

use actix_web::{App, HttpServer};
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let url =
        std::env::var("TESSERA_DATABASE_URL").unwrap_or_else(|_| "sqlite://tessera.db".into());
    let addr = std::env::var("TESSERA_ADDR").unwrap_or_else(|_| "127.0.0.1:3002".into());
    let cookie_secure = std::env::var("TESSERA_COOKIE_SECURE").map_or(true, |v| v != "false");

    let manager = tessera::SessionManager::connect(&url).await?;
    let sessions = tessera_seed_actix_example::middleware(manager, cookie_secure);
    let server = HttpServer::new(move || {
        App::new()
            .configure(tessera_seed_actix_example::configure(&sessions))
            .wrap(sessions.clone())
    })
    .bind(&addr)?;
    for a in server.addrs() {
        println!("seed app (actix-web) on http://{a}");
    }
    server.run().await?;
    Ok(())
}
