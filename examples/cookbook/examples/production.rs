//! The cookbook app as deployed: sessions in PostgreSQL, configuration from
//! the environment (see `tessera_cookbook::production` for every variable),
//! the maintenance pass on an interval, `tessera_axum::serve` with limits.
//!
//! ```text
//! TESSERA_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//! TESSERA_COOKIE_SECURE=false \
//!   cargo run -p tessera-cookbook --example production     # http://127.0.0.1:8080
//! ```

use tessera_cookbook::Error;
use tessera_cookbook::production::{Config, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .json()
        .init();
    let config = Config::from_env()?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving");
    run(config, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
