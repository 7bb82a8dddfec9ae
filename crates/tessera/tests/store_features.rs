//! Cargo features choose the stores (`sqlite`, `sqlite-unbundled`,
//! `postgres`; memory is always there). A database URL for a store the
//! build left out is a clear error that names the feature, not a panic or a
//! confusing "unsupported scheme".
//!
//! The default build runs the memory test; the single-store builds
//! (`cargo test -p tessera-session --no-default-features --features sqlite
//! --test store_features`, and `--features postgres`) run the others.

#![allow(clippy::panic)]

use tessera::{Error, SessionManager};

/// The message of the `InvalidInput` error `connect(url)` fails with.
#[allow(dead_code)]
async fn connect_error(url: &str) -> String {
    match SessionManager::connect(url).await {
        Ok(_) => panic!("connect({url}) succeeded in a build without its store"),
        Err(Error::InvalidInput(message)) => message,
        Err(other) => panic!("connect({url}) failed with the wrong error: {other}"),
    }
}

#[tokio::test]
async fn memory_store_is_in_every_build() {
    assert!(SessionManager::connect("memory:").await.is_ok());
}

#[cfg(not(feature = "postgres"))]
#[tokio::test]
async fn postgres_url_without_the_postgres_feature_names_the_feature() {
    for url in ["postgres://127.0.0.1/x", "postgresql://127.0.0.1/x"] {
        let message = connect_error(url).await;
        assert!(message.contains("`postgres` cargo feature"), "{message}");
    }
}

#[cfg(not(any(feature = "sqlite", feature = "sqlite-unbundled")))]
#[tokio::test]
async fn sqlite_url_without_a_sqlite_feature_names_the_feature() {
    let message = connect_error("sqlite://x.db").await;
    assert!(message.contains("`sqlite`"), "{message}");
    assert!(message.contains("cargo feature"), "{message}");
}
