//! The engine's input rules as `tessera serve` answers them over real HTTP:
//! an id with a control character (a NUL gave `500` and an ERROR log on
//! PostgreSQL, and was stored on SQLite) and a payload too large for an
//! access token are the caller's `400`, with the short plain-text body the
//! core writes — never a `500`, never a half-written session. On SQLite
//! always; on PostgreSQL with `TESSERA_TEST_POSTGRES_URL` (a database of
//! its own, dropped at the end).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::str::FromStr as _;

use common::{Options, Reply, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection as _;

fn assert_400(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{what}: {}",
        reply.text
    );
    assert!(reply.text.len() < 200, "{what}: {}", reply.text);
    assert!(!reply.text.contains("Internal"), "{what}: {}", reply.text);
}

fn create_body(user: &str, payload: Value) -> Value {
    json!({
        "userId": user,
        "userDataInJWT": payload,
        "userDataInDatabase": {},
        "useDynamicSigningKey": true,
        "enableAntiCsrf": false,
    })
}

async fn ids_with_control_characters_are_400(server: &TestServer) {
    let live = server.create("public", "u").await;
    let handle = live["session"]["handle"].as_str().unwrap();
    for bad in ["a\0b", "\0", "line\nbreak", "\x1b[31m"] {
        let what = format!("{bad:?}");
        assert_400(
            &server
                .post("/public/recipe/session", &create_body(bad, json!({})))
                .await,
            &what,
        );
        assert_400(
            &server.get("/recipe/session/user", &[("userId", bad)]).await,
            &what,
        );
        assert_400(
            &server
                .get(
                    "/recipe/session/user",
                    &[("userId", bad), ("fetchAcrossAllTenants", "true")],
                )
                .await,
            &what,
        );
        assert_400(
            &server
                .get("/recipe/session", &[("sessionHandle", bad)])
                .await,
            &what,
        );
        assert_400(
            &server
                .post(
                    "/recipe/session/remove",
                    &json!({"userId": bad, "revokeAcrossAllTenants": true}),
                )
                .await,
            &what,
        );
        assert_400(
            &server
                .post("/recipe/session/remove", &json!({"userId": bad}))
                .await,
            &what,
        );
        assert_400(
            &server
                .post("/recipe/session/remove", &json!({"sessionHandles": [bad]}))
                .await,
            &what,
        );
        assert_400(
            &server
                .put(
                    "/recipe/session/data",
                    &json!({"sessionHandle": bad, "userDataInDatabase": {}}),
                )
                .await,
            &what,
        );
        assert_400(
            &server
                .put(
                    "/recipe/jwt/data",
                    &json!({"sessionHandle": bad, "userDataInJWT": {}}),
                )
                .await,
            &what,
        );
    }
    // A NUL in the tenant segment of the path.
    assert_400(
        &server
            .post("/a%00b/recipe/session", &create_body("u", json!({})))
            .await,
        "tenant",
    );
    // The live session was not touched, and an empty user id is still a lookup.
    let info = server
        .get("/recipe/session", &[("sessionHandle", handle)])
        .await
        .ok_json();
    assert_eq!(info["status"], "OK");
    let empty = server
        .get("/recipe/session/user", &[("userId", "")])
        .await
        .ok_json();
    assert_eq!(empty["sessionHandles"], json!([]), "{empty}");
}

async fn oversized_access_tokens_are_400(server: &TestServer) {
    let big = json!({ "blob": "x".repeat(11_500) });
    assert_400(
        &server
            .post("/public/recipe/session", &create_body("big", big.clone()))
            .await,
        "create",
    );
    let none = server
        .get("/recipe/session/user", &[("userId", "big")])
        .await
        .ok_json();
    assert_eq!(none["sessionHandles"], json!([]), "{none}");

    let created = server
        .create_with("public", "big", json!({"small": 1}), json!({}), false)
        .await;
    let handle = created["session"]["handle"].as_str().unwrap();
    let access = created["accessToken"]["token"].as_str().unwrap();
    assert_400(
        &server
            .put(
                "/recipe/jwt/data",
                &json!({"sessionHandle": handle, "userDataInJWT": big}),
            )
            .await,
        "jwt data",
    );
    assert_400(
        &server
            .post(
                "/recipe/session/regenerate",
                &json!({"accessToken": access, "userDataInJWT": big}),
            )
            .await,
        "regenerate",
    );
    let info = server
        .get("/recipe/session", &[("sessionHandle", handle)])
        .await
        .ok_json();
    assert_eq!(info["userDataInJWT"], json!({"small": 1}));
}

#[tokio::test]
async fn bad_ids_and_oversized_tokens_are_400_on_sqlite() {
    let server = TestServer::start().await;
    ids_with_control_characters_are_400(&server).await;
    oversized_access_tokens_are_400(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_and_oversized_tokens_are_400_on_postgres() {
    let Ok(base_url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPING postgres input test: TESSERA_TEST_POSTGRES_URL not set"
        );
        return;
    };
    let db = format!(
        "tessera_input_{}_{}",
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
    ids_with_control_characters_are_400(&server).await;
    oversized_access_tokens_are_400(&server).await;
    drop(server);
    sqlx::raw_sql(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.ok();
}
