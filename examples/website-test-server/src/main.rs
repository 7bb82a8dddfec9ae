//! `tessera-website-test-server`: serves supertokens-website's test-server
//! routes on two ports (see the crate docs), on tessera-axum or
//! tessera-actix.
//!
//! ```text
//! tessera-website-test-server --adapter actix --static-dir DIR --package-version 20.1.7
//! ```

use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use tessera_website_test_server::{Adapter, Apps, Port, Site, actix_app, axum_app};
use tracing_subscriber::EnvFilter;

/// supertokens-website's test server on tessera.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The web framework: `axum` (tessera-axum) or `actix` (tessera-actix).
    #[arg(long, value_enum, default_value_t = Framework::Axum)]
    adapter: Framework,
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

/// `--adapter`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Framework {
    /// tessera-axum.
    Axum,
    /// tessera-actix.
    Actix,
}

/// `--refresh-model`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Model {
    /// Rotation at refresh.
    Rotate,
    /// Child promotion at the first verify after a refresh.
    ChildPromotion,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let adapter = match args.adapter {
        Framework::Axum => Adapter::Axum,
        Framework::Actix => Adapter::Actix,
    };
    match adapter {
        Adapter::Axum => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run(args, adapter)),
        Adapter::Actix => actix_web::rt::System::new().block_on(run(args, adapter)),
    }
}

async fn run(args: Args, adapter: Adapter) -> Result<(), Box<dyn std::error::Error>> {
    let site = Arc::new(Site {
        apps: Apps::new().await?,
        static_dir: args.static_dir,
        package_version: args.package_version,
        refresh_model: match args.refresh_model {
            Model::Rotate => tessera::RefreshModel::RotateAtRefresh,
            Model::ChildPromotion => tessera::RefreshModel::ChildPromotion,
        },
    });
    let mut listeners = Vec::new();
    for port in &args.ports {
        // `[::]` takes IPv4 too: the suite calls localhost and 0.0.0.0.
        let addr = SocketAddr::from((Ipv6Addr::UNSPECIFIED, *port));
        listeners.push((std::net::TcpListener::bind(addr)?, Port::new(site.clone())));
    }
    for port in &args.ports {
        println!("tessera-website-test-server: listening on port {port} ({adapter:?})");
    }
    match adapter {
        Adapter::Axum => {
            let mut servers = tokio::task::JoinSet::new();
            for (listener, port) in listeners {
                listener.set_nonblocking(true)?;
                let listener = tokio::net::TcpListener::from_std(listener)?;
                servers.spawn(axum_app::serve(listener, port));
            }
            tokio::select! {
                done = servers.join_next() => {
                    if let Some(result) = done {
                        result??;
                    }
                }
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Adapter::Actix => {
            let mut servers = Vec::new();
            for server in actix_app::server(listeners, 2)? {
                servers.push(actix_web::rt::spawn(server));
            }
            tokio::select! {
                done = futures_first(servers) => done?,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
    Ok(())
}

/// Waits for the first of the actix servers to stop.
async fn futures_first(
    servers: Vec<actix_web::rt::task::JoinHandle<std::io::Result<()>>>,
) -> Result<(), Box<dyn std::error::Error>> {
    for server in servers {
        server.await??;
    }
    Ok(())
}
