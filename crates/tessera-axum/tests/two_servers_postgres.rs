//! Two app servers behind one PostgreSQL database, as behind a load
//! balancer: each has its own `SessionManager` and listens on its own port; a
//! browser-like client (one cookie jar) talks to both.
//!
//! Needs `TESSERA_TEST_POSTGRES_URL` (`.ci/run` sets it); without it the
//! test says SKIPPING on stderr and returns.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::cookie::Jar;
use serde_json::json;
use tessera::SessionManager;
use tessera::store::PostgresStore;
use tessera_axum::SessionLayer;

use tessera_adapter_tests::{axum_app as app, body, cookie_value, set_cookie};

struct Server {
    addr: SocketAddr,
    manager: SessionManager,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn server(url: &str, schema: &str) -> Server {
    let store = PostgresStore::connect_with_schema(url, schema)
        .await
        .unwrap();
    let manager = SessionManager::builder()
        .store(store)
        .background_tasks(false)
        .build()
        .await
        .unwrap();
    let layer = SessionLayer::new(manager.clone()).cookie_secure(false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(layer);
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Server {
        addr,
        manager,
        task,
    }
}

fn url(s: &Server, path: &str) -> String {
    format!("http://{}{}", s.addr, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_moves_freely_between_two_servers_on_one_postgres() {
    let Ok(pg) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPING two-servers-on-postgres: TESSERA_TEST_POSTGRES_URL not set"
        );
        return;
    };
    let schema = format!("tessera_two_servers_{}", std::process::id());
    let a = server(&pg, &schema).await;
    let b = server(&pg, &schema).await;
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();

    // Created on A ...
    let res = client
        .post(url(&a, "/login/alice"))
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let handle = body(res).await["handle"].as_str().unwrap().to_owned();

    // ... verified on B ...
    let me = body(client.get(url(&b, "/me")).send().await.unwrap()).await;
    assert_eq!(me["userId"], "alice");
    assert_eq!(me["handle"], handle.as_str());

    // ... refreshed on B and the new token accepted by A ...
    let res = client
        .post(url(&b, "/auth/session/refresh"))
        .header("rid", "session")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        client.get(url(&a, "/me")).send().await.unwrap().status(),
        200
    );

    // ... data written on B, read on A; payload updated on A, seen on B ...
    let res = client
        .post(url(&b, "/data"))
        .json(&json!({"cart": [3]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let info = a
        .manager
        .get_session_information(&handle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.session_data, json!({"cart": [3]}));
    let res = client
        .post(url(&a, "/payload"))
        .json(&json!({"role": "editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let me = body(client.get(url(&b, "/me")).send().await.unwrap()).await;
    assert_eq!(me["payload"], json!({"role": "editor"}));

    // ... concurrent refreshes with one refresh token, split across both
    // servers (several tabs behind a load balancer), never report theft ...
    let refresh_cookie = {
        let refresh_url: reqwest::Url = url(&a, "/auth/session/refresh").parse().unwrap();
        let cookies = reqwest::cookie::CookieStore::cookies(jar.as_ref(), &refresh_url).unwrap();
        let cookies = cookies.to_str().unwrap().to_owned();
        cookies
            .split("; ")
            .find(|c| c.starts_with("sRefreshToken="))
            .unwrap()
            .to_owned()
    };
    let mut tasks = Vec::new();
    for i in 0..40 {
        let target = url(if i % 2 == 0 { &a } else { &b }, "/auth/session/refresh");
        let cookie = refresh_cookie.clone();
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(target)
                .header("cookie", cookie)
                .header("rid", "session")
                .send()
                .await
                .unwrap()
        }));
    }
    let mut refresh_tokens = HashSet::new();
    for t in tasks {
        let res = t.await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "refresh failed: {text}");
        refresh_tokens.insert(cookie_value(
            &set_cookie(&headers, "sRefreshToken").unwrap(),
        ));
    }
    assert_eq!(
        refresh_tokens.len(),
        1,
        "every tab ends with the same refresh token"
    );
    assert_eq!(
        b.manager
            .get_all_session_handles_for_user("alice")
            .await
            .unwrap(),
        vec![handle.clone()]
    );

    // ... and revoked on A: B refuses the access token at its next database
    // check, and the refresh token is dead on B.
    let access_cookie = {
        let me: reqwest::Url = url(&b, "/me").parse().unwrap();
        let cookies = reqwest::cookie::CookieStore::cookies(jar.as_ref(), &me).unwrap();
        let cookies = cookies.to_str().unwrap().to_owned();
        cookies
            .split("; ")
            .find(|c| c.starts_with("sAccessToken="))
            .unwrap()
            .to_owned()
    };
    let before = reqwest::Client::new()
        .post(url(&b, "/checked"))
        .header("cookie", access_cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), 200);
    let res = client.post(url(&a, "/revoke")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let checked = reqwest::Client::new()
        .post(url(&b, "/checked"))
        .header("cookie", access_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(checked.status(), 401);
    let res = reqwest::Client::new()
        .post(url(&b, "/auth/session/refresh"))
        .header("cookie", refresh_cookie)
        .header("rid", "session")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        b.manager
            .get_session_information(&handle)
            .await
            .unwrap()
            .is_none()
    );

    drop((a, b));
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&pg)
        .await
        .unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap();
}
