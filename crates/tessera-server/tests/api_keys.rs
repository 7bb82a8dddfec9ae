//! API keys: required on every CDI call and `/apiversion` when configured,
//! never on `/hello`, `/.well-known/jwks.json` or unknown paths.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{API_KEY, Options, TestServer};
use reqwest::StatusCode;

async fn keyed_server() -> TestServer {
    TestServer::with(Options {
        api_keys: vec!["another-key-abcdefghijkl".to_owned(), API_KEY.to_owned()],
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn requests_without_a_valid_key_get_401() {
    let server = keyed_server().await;
    for path in [
        "/apiversion",
        "/recipe/session?sessionHandle=h",
        "/public/recipe/session/user?userId=u",
        "/user/id?userId=u",
        "/metrics",
    ] {
        let none = server.send(server.client.get(server.url(path))).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(none.text, "Invalid API key\n");
        let wrong = server
            .send(
                server
                    .client
                    .get(server.url(path))
                    .header("api-key", "test-api-key-0123456788"),
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{path}");
        let prefix = server
            .send(
                server
                    .client
                    .get(server.url(path))
                    .header("api-key", "test-api-key"),
            )
            .await;
        assert_eq!(prefix.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let post = server
        .send(
            server
                .client
                .post(server.url("/public/recipe/session"))
                .body("{}"),
        )
        .await;
    assert_eq!(post.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn any_configured_key_is_accepted_in_api_key_or_authorization() {
    let server = keyed_server().await;
    for (name, value) in [
        ("api-key", API_KEY.to_owned()),
        ("api-key", "another-key-abcdefghijkl".to_owned()),
        ("api-key", format!(" {API_KEY} ")),
        ("authorization", format!("Bearer {API_KEY}")),
        ("authorization", API_KEY.to_owned()),
    ] {
        let reply = server
            .send(
                server
                    .client
                    .get(server.url("/apiversion"))
                    .header(name, &value),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {value}");
    }
    // The SDK's own calls pass.
    let created = server.create("public", "user-1").await;
    assert_eq!(created["status"], "OK");
}

#[tokio::test]
async fn hello_jwks_and_unknown_paths_need_no_key() {
    let server = keyed_server().await;
    for (path, status) in [
        ("/hello", StatusCode::OK),
        ("/", StatusCode::OK),
        ("/.well-known/jwks.json", StatusCode::OK),
        ("/appid-public/.well-known/jwks.json", StatusCode::OK),
        // An app that does not exist is the core's 400, key or not.
        ("/appid-x/.well-known/jwks.json", StatusCode::BAD_REQUEST),
        ("/no/such/path", StatusCode::NOT_FOUND),
    ] {
        let reply = server.get_bare(path).await;
        assert_eq!(reply.status, status, "{path}");
    }
}

#[tokio::test]
async fn without_configured_keys_no_key_is_needed() {
    let server = TestServer::start().await;
    let reply = server.get_bare("/apiversion").await;
    assert_eq!(reply.status, StatusCode::OK);
}
