//! A production setup: sessions in PostgreSQL shared by every app server,
//! configuration from the environment, the maintenance pass on an interval,
//! and [`tessera_axum::serve`] with [`ServerLimits`], [`RequestLimits`] and
//! a refresh rate limit.
//!
//! | variable | default | what |
//! |---|---|---|
//! | `TESSERA_DATABASE_URL` | (required) | `postgres://user:password@host:5432/db` |
//! | `TESSERA_DATABASE_SCHEMA` | `public`'s search path | schema holding tessera's tables (created if missing) |
//! | `APP_ADDR` | `127.0.0.1:8080` | address to listen on |
//! | `APP_USERS_DB` | `users.db` | the cookbook's user table (SQLite; your app keeps users its own way) |
//! | `TESSERA_COOKIE_SECURE` | `true` | `Secure` cookies; `false` only for plain-HTTP development |
//! | `TESSERA_MAINTENANCE_INTERVAL_SECS` | `300` | how often one pass of key rotation and cleanup runs |
//! | `TESSERA_REFRESH_BURST` | `10` | refreshes a client address may make at once |
//! | `TESSERA_REFRESH_REPLENISH_SECS` | `1` | then one more refresh per this many seconds |
//! | `TESSERA_MAX_BODY_BYTES` | `65536` | largest request body |
//!
//! The engine's own background task is switched off
//! ([`background_tasks(false)`](tessera::SessionManagerBuilder::background_tasks))
//! and [`spawn_maintenance`] runs [`SessionManager::run_maintenance`] instead,
//! so the interval is yours and each failure is logged. Every server may run
//! it: key rotation and cleanup are safe to run concurrently.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tessera::SessionManager;
use tessera::store::PostgresStore;
use tessera::store::postgres::PostgresStoreOptions;
use tessera_axum::{RefreshRateLimit, RequestLimits, ServerLimits, SessionLayer};
use tokio::net::TcpListener;

use crate::{Error, UserStore};

/// Settings read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TESSERA_DATABASE_URL`.
    pub database_url: String,
    /// `TESSERA_DATABASE_SCHEMA`.
    pub database_schema: Option<String>,
    /// `APP_ADDR`.
    pub addr: SocketAddr,
    /// `APP_USERS_DB`.
    pub users_db: PathBuf,
    /// `TESSERA_COOKIE_SECURE`.
    pub cookie_secure: bool,
    /// `TESSERA_MAINTENANCE_INTERVAL_SECS`.
    pub maintenance_interval: Duration,
    /// `TESSERA_REFRESH_BURST`.
    pub refresh_burst: u32,
    /// `TESSERA_REFRESH_REPLENISH_SECS`.
    pub refresh_replenish: Duration,
    /// `TESSERA_MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let database_url = lookup("TESSERA_DATABASE_URL")
            .ok_or_else(|| Error::Config("TESSERA_DATABASE_URL is not set".into()))?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(Error::Config(
                "TESSERA_DATABASE_URL must be a postgres:// URL".into(),
            ));
        }
        Ok(Self {
            database_url,
            database_schema: lookup("TESSERA_DATABASE_SCHEMA").filter(|s| !s.is_empty()),
            addr: parse(&lookup, "APP_ADDR", "127.0.0.1:8080")?,
            users_db: lookup("APP_USERS_DB")
                .unwrap_or_else(|| "users.db".into())
                .into(),
            cookie_secure: parse(&lookup, "TESSERA_COOKIE_SECURE", "true")?,
            maintenance_interval: Duration::from_secs(parse::<u64>(
                &lookup,
                "TESSERA_MAINTENANCE_INTERVAL_SECS",
                "300",
            )?)
            .max(Duration::from_secs(1)),
            refresh_burst: parse(&lookup, "TESSERA_REFRESH_BURST", "10")?,
            refresh_replenish: Duration::from_secs(parse::<u64>(
                &lookup,
                "TESSERA_REFRESH_REPLENISH_SECS",
                "1",
            )?)
            .max(Duration::from_secs(1)),
            max_body_bytes: parse(&lookup, "TESSERA_MAX_BODY_BYTES", "65536")?,
        })
    }
}

fn parse<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: &str,
) -> Result<T, Error> {
    let raw = lookup(name).unwrap_or_else(|| default.to_owned());
    raw.trim()
        .parse()
        .map_err(|_| Error::Config(format!("{name} is malformed")))
}

/// Opens the PostgreSQL store (creating tessera's tables) with the engine's
/// background task off.
pub async fn session_manager(config: &Config) -> Result<SessionManager, Error> {
    let mut options = PostgresStoreOptions::new(&config.database_url);
    if let Some(schema) = &config.database_schema {
        options = options.schema(schema);
    }
    let store = PostgresStore::connect_with(options).await?;
    Ok(SessionManager::builder()
        .store(store)
        .background_tasks(false)
        .build()
        .await?)
}

/// Runs one maintenance pass now, then one every `interval`, logging each
/// failure; stops when the handle is aborted.
pub fn spawn_maintenance(
    manager: SessionManager,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match manager.run_maintenance().await {
                Ok(report) => tracing::debug!(?report, "maintenance pass"),
                Err(e) => tracing::warn!(error = %e, "maintenance pass failed"),
            }
        }
    })
}

/// The cookbook app as this setup serves it: `Secure` cookies per config, a
/// refresh rate limit, and [`RequestLimits`] around everything.
pub fn app(config: &Config, manager: SessionManager, users: Arc<UserStore>) -> axum::Router {
    let layer = SessionLayer::new(manager)
        .cookie_secure(config.cookie_secure)
        .refresh_rate_limit(RefreshRateLimit::new(
            config.refresh_burst.max(1),
            config.refresh_replenish,
        ));
    crate::hardened(
        crate::app(layer, users),
        RequestLimits::default().max_body_bytes(config.max_body_bytes),
    )
}

/// Serves `config`'s app on `listener` until `shutdown` completes, with the
/// maintenance task running beside it.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), Error> {
    let manager = session_manager(&config).await?;
    let users = Arc::new(UserStore::open(&config.users_db).await?);
    let maintenance = spawn_maintenance(manager.clone(), config.maintenance_interval);
    let app = app(&config, manager.clone(), users.clone());
    let served = tessera_axum::serve(listener, app, ServerLimits::default(), shutdown).await;
    maintenance.abort();
    users.close().await;
    manager.close().await;
    Ok(served?)
}
