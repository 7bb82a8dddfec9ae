//! The seed app over a real socket, on SQLite, with a cookie jar.

use std::sync::Arc;

use reqwest::cookie::Jar;
use serde_json::{Value, json};

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
    let server = tokio::spawn(async move {
        axum::serve(listener, tessera_seed_example::app(manager))
            .await
            .unwrap();
    });
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
