//! The store goes away while an axum app on tessera-axum runs: handlers that
//! need it answer `500 {"message":"internal error"}` (details only in the
//! log), a `Session` is still verified without the store, and service comes
//! back by itself. SQLite: another process holds the write lock; PostgreSQL
//! (`TESSERA_TEST_POSTGRES_URL`): its database stops taking connections and
//! its sessions are terminated, then it takes connections again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::str::FromStr;

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use sqlx::Connection as _;
use tessera::SessionManager;
use tessera_axum::{ServerLimits, Session, SessionLayer, Sessions};

async fn login(sessions: Sessions) -> Result<Json<Value>, tessera_axum::Error> {
    let s = sessions
        .create_new_session("u", json!({}), json!({}))
        .await?;
    Ok(Json(json!({ "handle": s.get_handle() })))
}

async fn me(session: Session) -> Json<Value> {
    Json(json!({ "user": session.get_user_id() }))
}

async fn data(session: Session) -> Result<Json<Value>, tessera_axum::Error> {
    session.update_session_data(json!({ "k": 1 })).await?;
    Ok(Json(json!({ "ok": true })))
}

async fn start(url: &str) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let manager = SessionManager::builder()
        .database_url(url)
        .background_tasks(false)
        .build()
        .await
        .unwrap();
    let layer = SessionLayer::new(manager);
    let app = Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/data", post(data))
        .merge(layer.routes())
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tessera_axum::serve(
        listener,
        app,
        ServerLimits::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop)
}

struct Tokens {
    access: String,
    refresh: String,
}

async fn login_tokens(c: &reqwest::Client, addr: SocketAddr) -> Tokens {
    let res = c.post(format!("http://{addr}/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let get = |n: &str| res.headers()[n].to_str().unwrap().to_owned();
    Tokens {
        access: get("st-access-token"),
        refresh: get("st-refresh-token"),
    }
}

async fn assert_degraded(c: &reqwest::Client, addr: SocketAddr, t: &Tokens) {
    let me = c
        .get(format!("http://{addr}/me"))
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "verification needs no store");
    for res in [
        c.post(format!("http://{addr}/data"))
            .bearer_auth(&t.access)
            .send()
            .await
            .unwrap(),
        c.post(format!("http://{addr}/auth/session/refresh"))
            .bearer_auth(&t.refresh)
            .send()
            .await
            .unwrap(),
        c.post(format!("http://{addr}/login")).send().await.unwrap(),
    ] {
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({ "message": "internal error" })
        );
    }
}

async fn assert_recovered(c: &reqwest::Client, addr: SocketAddr, t: &Tokens) {
    let res = c
        .post(format!("http://{addr}/auth/session/refresh"))
        .bearer_auth(&t.refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the client's token still refreshes");
    let res = c
        .post(format!("http://{addr}/data"))
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    login_tokens(c, addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_by_another_process_degrades_to_500_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
    let (addr, _stop) = start(&url).await;
    let c = reqwest::Client::new();
    let t = login_tokens(&c, addr).await;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url).unwrap();
    let mut other = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    assert_degraded(&c, addr, &t).await;
    sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();
    other.close().await.ok();
    assert_recovered(&c, addr, &t).await;
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
        "tessera_axum_outage_{}_{}",
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
    let (addr, stop) = start(&format!("{prefix}/{db}")).await;
    let c = reqwest::Client::new();
    let t = login_tokens(&c, addr).await;
    sqlx::raw_sql(&format!(
        "ALTER DATABASE {db} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    assert_degraded(&c, addr, &t).await;
    sqlx::raw_sql(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_recovered(&c, addr, &t).await;
    let _ = stop.send(());
    sqlx::raw_sql(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.ok();
}
