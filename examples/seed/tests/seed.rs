//! The seed app over a real socket, on SQLite, with a cookie jar.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use reqwest::cookie::Jar;
use serde_json::{Value, json};
use tessera_axum::ServerLimits;

/// Serves the seed app as `src/main.rs` does (plain HTTP: cookies not `Secure`).
async fn serve(listener: tokio::net::TcpListener, manager: tessera::SessionManager) {
    let app = tessera_seed_example::app(manager, false);
    tessera_axum::serve(
        listener,
        app,
        ServerLimits::default(),
        std::future::pending(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn login_then_seed_handler_then_the_revoked_session_is_401() {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera::store::SqliteStore::open(dir.path().join("seed.db"))
        .await
        .unwrap();
    let manager = tessera::SessionManager::builder()
        .store(store)
        .build()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve(listener, manager));
    let client = reqwest::Client::builder()
        .cookie_provider(Arc::new(Jar::default()))
        .build()
        .unwrap();

    let login = client
        .post(format!("{base}/login/alice"))
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.json::<Value>().await.unwrap()["handle"].is_string());

    let test = client.post(format!("{base}/test")).send().await.unwrap();
    assert_eq!(test.status(), 200);
    assert_eq!(test.headers()["front-token"], "remove");
    assert_eq!(
        test.json::<Value>().await.unwrap(),
        json!({ "status": "ok", "user": "alice" })
    );

    let again = client.post(format!("{base}/test")).send().await.unwrap();
    assert_eq!(again.status(), 401);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({ "message": "unauthorised" })
    );
    server.abort();
}

#[tokio::test]
async fn the_seed_app_refreshes_through_its_rate_limit_and_refuses_huge_headers_with_json() {
    let manager = tessera::SessionManager::in_memory().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve(listener, manager));
    let client = reqwest::Client::new();

    let login = client
        .post(format!("{base}/login/alice"))
        .header("st-auth-mode", "header")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let refresh_token = login.headers()["st-refresh-token"]
        .to_str()
        .unwrap()
        .to_owned();

    // The rate-limited refresh route needs the peer address, which
    // tessera_axum::serve provides (axum::serve without connect info: 500).
    let refreshed = client
        .post(format!("{base}/auth/session/refresh"))
        .bearer_auth(&refresh_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    assert!(refreshed.headers().contains_key("st-access-token"));

    // RequestLimits: 16 KiB of headers at most, refused as short JSON.
    let huge = client
        .post(format!("{base}/test"))
        .header("x-padding", "a".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 431);
    assert_eq!(
        huge.json::<Value>().await.unwrap(),
        json!({ "message": "request header fields too large" })
    );
    server.abort();
}
