//! `tessera-demo`: serves the demo app (see the crate docs for the API).
//!
//! ```text
//! scripts/demo                                   # http://127.0.0.1:3000, sqlite://tessera-demo.db
//! cargo run -p tessera-demo -- --database-url memory: --access-token-validity 30
//! ```
//!
//! The page loads `supertokens-website` from `static/supertokens.js`, which
//! `examples/demo/web/build.sh` bundles from npm (`scripts/demo` runs it).

use clap::Parser;
use tessera_axum::{ServerLimits, SessionLayer};
use tessera_demo::cli::Args;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tessera=debug")),
        )
        .init();
    let args = Args::parse();

    let manager = args.session_manager().await?;
    let layer = SessionLayer::new(manager).cookie_secure(args.cookie_secure);
    let static_dir = args
        .static_dir
        .clone()
        .unwrap_or_else(tessera_demo::default_static_dir);
    if !tessera_demo::sdk_bundle_present(&static_dir) {
        eprintln!(
            "warning: {} is missing, so the page cannot load supertokens-website; \
             build it with examples/demo/web/build.sh (scripts/demo does)",
            static_dir.join(tessera_demo::SDK_BUNDLE).display()
        );
    }
    let mut app = tessera_demo::app_with_static_dir(layer, static_dir);
    if !args.cors_origin.is_empty() {
        let origins: Vec<&str> = args.cors_origin.iter().map(String::as_str).collect();
        app = app.layer(tessera_axum::cors(&origins));
    }

    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!(
        "tessera demo ready: open http://{} ({}; Ctrl-C stops)",
        listener.local_addr()?,
        args.settings_line(),
    );
    // Header read timeout, bounded request heads, graceful shutdown.
    tessera_axum::serve(listener, app, ServerLimits::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
