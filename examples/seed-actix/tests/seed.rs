//! The actix seed app over a real socket, on SQLite, with a cookie jar.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use actix_web::{App, HttpServer};
use reqwest::cookie::Jar;
use serde_json::{Value, json};

/// Serves the seed app as `src/main.rs` does (plain HTTP: cookies not
/// `Secure`) on its own actix-web system thread.
fn serve(manager: tessera::SessionManager) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let sessions = tessera_seed_actix_example::middleware(manager, false);
            let server = HttpServer::new(move || {
                App::new()
                    .configure(tessera_seed_actix_example::configure(&sessions))
                    .wrap(sessions.clone())
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            let _ = server.await;
        });
    });
    base
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
    let base = serve(manager);
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

    let refresh = client
        .post(format!("{base}/auth/session/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 200);
    assert!(refresh.headers().get("front-token").is_some());

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
}
