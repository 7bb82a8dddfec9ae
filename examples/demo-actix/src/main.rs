//! `tessera-demo-actix`: the demo on actix-web, with `tessera-demo`'s
//! command line (`--cors-origin` for a page served from another origin).
//!
//! ```text
//! examples/demo/web/build.sh          # the SDK bundle, once
//! cargo run -p tessera-demo-actix -- --database-url memory: --access-token-validity 30
//! ```

use actix_web::middleware::Condition;
use actix_web::{App, HttpServer};
use clap::Parser;
use tessera_actix::{Fdi, SessionMiddleware, cors};
use tessera_demo::cli::Args;
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tessera=debug")),
        )
        .init();
    let args = Args::parse();

    let manager = args.session_manager().await?;
    let sessions = SessionMiddleware::from_fdi(Fdi::new(manager).cookie_secure(args.cookie_secure));
    let static_dir = args
        .static_dir
        .clone()
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
        "tessera demo ready: open http://{} (actix-web; {}; Ctrl-C stops)",
        bound,
        args.settings_line(),
    );
    server.run().await?;
    Ok(())
}
