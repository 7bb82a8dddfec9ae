//! The store goes away while `tessera serve` runs: requests that need it
//! get `500 Internal Error` (the details only in the log), verification
//! without a database check keeps working, and service comes back by
//! itself when the store does.
//!
//! - SQLite: another process takes the database's write lock
//!   (`BEGIN EXCLUSIVE`) and holds it; writes fail after the busy timeout.
//!   (Making the file read-only does not do it: the server's connections
//!   keep the descriptors they opened.)
//! - PostgreSQL (`TESSERA_TEST_POSTGRES_URL`): a database of its own stops
//!   taking connections and its sessions are terminated, as when the server
//!   goes down; then it takes connections again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::str::FromStr;

use common::{Options, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection as _;

fn create_body(user: &str) -> Value {
    json!({
        "userId": user,
        "userDataInJWT": {},
        "userDataInDatabase": {},
        "enableAntiCsrf": false,
        "useDynamicSigningKey": true,
    })
}

fn refresh_body(token: &str) -> Value {
    json!({"refreshToken": token, "enableAntiCsrf": false, "useDynamicSigningKey": true})
}

/// During the outage: the store-bound calls are a generic 500, verify works.
/// The refresh speaks CDI 5.6, whose refresh writes (it rotates); under 5.4
/// a refresh with the current token only reads, which SQLite's WAL still
/// serves while another process holds the write lock.
async fn assert_degraded(server: &TestServer, access: &str, refresh: &str) {
    for reply in [
        server
            .post_as("5.6", "/recipe/session/refresh", &refresh_body(refresh))
            .await,
        server.post("/recipe/session", &create_body("during")).await,
    ] {
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            reply.text
        );
        assert_eq!(reply.text, "Internal Error\n");
    }
    let verified = server.verify(access, false).await;
    assert_eq!(verified["status"], "OK", "{verified}");
}

/// After the outage: everything works again, with the tokens the client had.
async fn assert_recovered(server: &TestServer, refresh: &str) {
    let refreshed = server.refresh(refresh).await;
    assert_eq!(refreshed["status"], "OK", "{refreshed}");
    let created = server.post("/recipe/session", &create_body("after")).await;
    assert_eq!(created.ok_json()["status"], "OK");
    assert_eq!(server.get_bare("/hello").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_by_another_process_degrades_to_500_and_recovers() {
    let (url, dir) = common::temp_sqlite_url("outage");
    let server = TestServer::with(Options {
        database_url: Some(url.clone()),
        ..Options::default()
    })
    .await;
    let created = server.create("public", "u").await;
    let access = created["accessToken"]["token"].as_str().unwrap().to_owned();
    let refresh = created["refreshToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url).unwrap();
    let mut other = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    assert_degraded(&server, &access, &refresh).await;
    assert_eq!(server.get_bare("/hello").await.status, StatusCode::OK);
    sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();
    other.close().await.ok();

    assert_recovered(&server, &refresh).await;
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_degrades_to_500_and_recovers() {
    let Ok(base_url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPING postgres outage test: TESSERA_TEST_POSTGRES_URL not set"
        );
        return;
    };
    let db = format!(
        "tessera_outage_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let admin_options = sqlx::postgres::PgConnectOptions::from_str(&base_url).unwrap();
    let mut admin = sqlx::PgConnection::connect_with(&admin_options)
        .await
        .unwrap();
    sqlx::raw_sql(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base_url.rsplit_once('/').unwrap();
    let server = TestServer::with(Options {
        database_url: Some(format!("{prefix}/{db}")),
        ..Options::default()
    })
    .await;
    let created = server.create("public", "u").await;
    let access = created["accessToken"]["token"].as_str().unwrap().to_owned();
    let refresh = created["refreshToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    sqlx::raw_sql(&format!(
        "ALTER DATABASE {db} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    assert_degraded(&server, &access, &refresh).await;
    assert_eq!(
        server.get_bare("/hello").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    sqlx::raw_sql(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();

    assert_recovered(&server, &refresh).await;
    drop(server);
    sqlx::raw_sql(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.ok();
}
