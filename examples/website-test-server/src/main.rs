//! `tessera-website-test-server`: serves supertokens-website's test-server
//! routes on two ports (see the crate docs).
//!
//! ```text
//! tessera-website-test-server --static-dir DIR --package-version 20.1.7
//! ```

use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use tessera_website_test_server::{Apps, Port, Site, app};
use tracing_subscriber::EnvFilter;

/// supertokens-website's test server on tessera-axum.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Ports to serve (the suite uses 8080 and 8082), on every address.
    #[arg(long = "port", default_values_t = [8080u16, 8082])]
    ports: Vec<u16>,
    /// Directory with index.html, angular/ and vendor/.
    #[arg(long, value_name = "DIR")]
    static_dir: PathBuf,
    /// What GET /getPackageVersion answers (the SDK's version).
    #[arg(long, default_value = "20.1.7")]
    package_version: String,
    /// The refresh-token model: `rotate` (tessera's default) or
    /// `child-promotion` (SuperTokens core's CDI 5.4 model).
    #[arg(long, value_enum, default_value_t = Model::Rotate)]
    refresh_model: Model,
}

/// `--refresh-model`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Model {
    /// Rotation at refresh.
    Rotate,
    /// Child promotion at the first verify after a refresh.
    ChildPromotion,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let site = Arc::new(Site {
        apps: Apps::new().await?,
        static_dir: args.static_dir,
        package_version: args.package_version,
        refresh_model: match args.refresh_model {
            Model::Rotate => tessera::RefreshModel::RotateAtRefresh,
            Model::ChildPromotion => tessera::RefreshModel::ChildPromotion,
        },
    });
    let mut servers = tokio::task::JoinSet::new();
    for port in args.ports {
        // `[::]` takes IPv4 too: the suite calls localhost and 0.0.0.0.
        let addr = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let router = app(Port::new(site.clone()));
        servers.spawn(async move { axum::serve(listener, router).await });
        println!("tessera-website-test-server: listening on port {port}");
    }
    tokio::select! {
        done = servers.join_next() => {
            if let Some(result) = done {
                result??;
            }
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
