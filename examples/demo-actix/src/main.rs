//! `tessera-demo-actix`: the demo on actix-web, with `tessera-demo`'s
//! command line (`--cors-origin` for a page served from another origin).
//!
//! ```text
//! examples/demo/web/build.sh          # the SDK bundle, once
//! cargo run -p tessera-demo-actix -- --database-url memory: --access-token-validity 30
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use actix_web::middleware::Condition;
use actix_web::{App, HttpServer};
use clap::{Parser, ValueEnum};
use tessera::{AntiCsrfMode, SessionManager};
use tessera_actix::{Fdi, SessionMiddleware, cors};
use tracing_subscriber::EnvFilter;

/// Anti-CSRF mode names on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum AntiCsrf {
    None,
    ViaToken,
    ViaCustomHeader,
}

/// tessera demo: log in, see and change session data and payload, refresh,
/// sign out, revoke.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "TESSERA_DEMO_ADDR", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Session store: sqlite://FILE, postgres://…, or memory:.
    #[arg(
        long,
        env = "TESSERA_DATABASE_URL",
        default_value = "sqlite://tessera-demo.db"
    )]
    database_url: String,
    /// Access-token lifetime in seconds (short, so that refreshes show).
    #[arg(
        long,
        env = "TESSERA_ACCESS_TOKEN_VALIDITY",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    access_token_validity: u64,
    /// Anti-CSRF mode.
    #[arg(long, env = "TESSERA_ANTI_CSRF", value_enum, default_value_t = AntiCsrf::None)]
    anti_csrf: AntiCsrf,
    /// Check the store on every request, so that revocation is immediate.
    #[arg(long, env = "TESSERA_BLACKLISTING")]
    blacklisting: bool,
    /// Mark the cookies `Secure` (off by default: the demo serves plain HTTP).
    #[arg(long, env = "TESSERA_COOKIE_SECURE")]
    cookie_secure: bool,
    /// Directory holding the SDK bundle `supertokens.js` (built by
    /// examples/demo/web/build.sh; default: examples/demo/static).
    #[arg(long, env = "TESSERA_DEMO_STATIC_DIR", value_name = "DIR")]
    static_dir: Option<PathBuf>,
    /// Allow this origin (a page served elsewhere) through CORS, with
    /// credentials and the SDK's headers; repeatable.
    #[arg(long, value_name = "ORIGIN")]
    cors_origin: Vec<String>,
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tessera=debug")),
        )
        .init();
    let args = Args::parse();

    let manager = SessionManager::builder()
        .database_url(&args.database_url)
        .access_token_validity(Duration::from_secs(args.access_token_validity))
        .anti_csrf(match args.anti_csrf {
            AntiCsrf::None => AntiCsrfMode::None,
            AntiCsrf::ViaToken => AntiCsrfMode::ViaToken,
            AntiCsrf::ViaCustomHeader => AntiCsrfMode::ViaCustomHeader,
        })
        .blacklisting(args.blacklisting)
        .build()
        .await?;
    let sessions = SessionMiddleware::from_fdi(Fdi::new(manager).cookie_secure(args.cookie_secure));
    let static_dir = args
        .static_dir
        .unwrap_or_else(tessera_demo_actix::default_static_dir);
    if !tessera_demo_actix::sdk_bundle_present(&static_dir) {
        eprintln!(
            "warning: {} is missing, so the page cannot load supertokens-website; \
             build it with examples/demo/web/build.sh (scripts/demo does)",
            static_dir.join(tessera_demo_actix::SDK_BUNDLE).display()
        );
    }
    let routes = tessera_demo_actix::configure(&sessions, static_dir);
    let origins = args.cors_origin.clone();
    let server = HttpServer::new(move || {
        let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
        App::new()
            .configure(routes.clone())
            .wrap(sessions.clone())
            // actix-cors refuses any Origin it was not given, the page's
            // own included: only with --cors-origin.
            .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
    })
    .workers(2)
    .bind(args.addr)?;
    let bound = server
        .addrs()
        .first()
        .copied()
        .ok_or("the server is bound to no address")?;
    println!(
        "tessera demo ready: open http://{} (actix-web; sessions in {}, access tokens {} s, anti-csrf {}, blacklisting {}; Ctrl-C stops)",
        bound,
        args.database_url,
        args.access_token_validity,
        match args.anti_csrf {
            AntiCsrf::None => "none",
            AntiCsrf::ViaToken => "via-token",
            AntiCsrf::ViaCustomHeader => "via-custom-header",
        },
        if args.blacklisting { "on" } else { "off" },
    );
    server.run().await?;
    Ok(())
}
