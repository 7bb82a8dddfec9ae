//! Hardening of `tessera serve`: bad input over real loopback sockets (raw TCP
//! for what an SDK would never send), answered with a clear status and the
//! core's one-line text, never a panic, a secret or a stack trace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{API_KEY, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One raw HTTP/1.1 exchange; the status (0 if the server closed without
/// answering) and the body text.
async fn raw(addr: &str, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    read_all(&mut stream).await
}

async fn read_all(stream: &mut TcpStream) -> (u16, String) {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

fn assert_no_leak(text: &str) {
    assert!(text.len() < 200, "long body: {text:?}");
    for bad in [
        "panicked",
        "stack backtrace",
        ".rs:",
        "sqlx",
        "SQLITE",
        "error returned from database",
    ] {
        assert!(!text.contains(bad), "{bad} in {text:?}");
    }
}

fn sdk_head(method: &str, path: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\ncdi-version: 5.4\r\nrid: session\r\napi-key: {API_KEY}\r\nConnection: close\r\n"
    )
}

#[tokio::test]
async fn oversized_headers_get_431_with_the_cores_text() {
    let server = TestServer::start().await;
    let mut req = sdk_head("GET", "/recipe/session/user?userId=u");
    req.push_str(&format!("x-big: {}\r\n\r\n", "a".repeat(20 * 1024)));
    let (status, body) = raw(&addr(&server), req.as_bytes()).await;
    assert_eq!(status, 431);
    assert_eq!(body, "Request header fields too large\n");
    // Beyond the server's head buffer: hyper's own 431 (or a close).
    let mut req = sdk_head("GET", "/hello");
    req.push_str(&format!("x-huge: {}\r\n\r\n", "a".repeat(200 * 1024)));
    let (status, _) = raw(&addr(&server), req.as_bytes()).await;
    assert!(status == 431 || status == 0, "{status}");
    assert_eq!(server.get_bare("/hello").await.status, StatusCode::OK);
}

#[tokio::test]
async fn oversized_bodies_get_413_with_the_cores_text_declared_or_chunked() {
    let server = TestServer::start().await;
    let big = format!(
        "{{\"sessionHandle\":\"h\",\"userDataInDatabase\":{{\"x\":\"{}\"}}}}",
        "a".repeat(tessera_server::serve::MAX_BODY_BYTES + 1)
    );
    let reply = server.put_raw("/recipe/session/data", &big).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.text, "Request body too large\n");
    let mut req = sdk_head("PUT", "/recipe/session/data");
    req.push_str("Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    req.push_str(&format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len()));
    let (status, body) = raw(&addr(&server), req.as_bytes()).await;
    assert_eq!(status, 413);
    assert_eq!(body.trim_end(), "Request body too large");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let (url, dir) = common::temp_sqlite_url("slow-headers");
    let manager = tessera::SessionManager::builder()
        .database_url(&url)
        .background_tasks(false)
        .build()
        .await
        .unwrap();
    let state = tessera_server::serve::AppState::new(manager, Vec::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tessera_server::serve::serve_with(
        listener,
        state,
        tessera_server::serve::ServerLimits::default()
            .header_read_timeout(Duration::from_millis(300)),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /recipe/session HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    // The server closes it by itself: the read returns at EOF.
    let (status, _) = read_all(&mut slow).await;
    assert!(status == 0 || status == 408, "{status}");
    let mut buf = [0u8; 1];
    assert_eq!(slow.read(&mut buf).await.unwrap_or(0), 0, "still open");
    let hello = reqwest::get(format!("http://{addr}/hello")).await.unwrap();
    assert_eq!(hello.status(), 200);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn malformed_utf8_and_json_get_400_with_the_cores_text() {
    let server = TestServer::start().await;
    for body in [
        &b"{\"userId\": "[..],
        b"{\"userId\": \"\xff\xfe\"}",
        b"\xef\xbb\xbf{}",
        b"[]",
        b"null",
        b"{\"userId\": \"u\", \"userId\": 5}",
    ] {
        let mut req = sdk_head("POST", "/recipe/session");
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ));
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        let (status, text) = raw(&addr(&server), &bytes).await;
        assert_eq!(status, 400, "{body:?}: {text}");
        assert!(
            text == "Invalid Json Input\n" || text.starts_with("Field name 'userId'"),
            "{body:?}: {text}"
        );
        assert_no_leak(&text);
    }
    // A non-UTF-8 api key or cdi-version header: refused, not a panic.
    let mut req = b"GET /recipe/session/user?userId=u HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\napi-key: \xff\xfe\r\n\r\n".to_vec();
    let keyed = TestServer::with(common::Options {
        api_keys: vec![API_KEY.to_owned()],
        ..common::Options::default()
    })
    .await;
    let (status, text) = raw(&addr(&keyed), &req).await;
    assert_eq!(status, 401, "{text}");
    assert_eq!(text, "Invalid API key\n");
    req = format!(
        "GET /recipe/session/user?userId=u HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\napi-key: {API_KEY}\r\ncdi-version: "
    )
    .into_bytes();
    req.extend_from_slice(b"\xff\r\n\r\n");
    let (status, text) = raw(&addr(&keyed), &req).await;
    assert_eq!(status, 400, "{text}");
    assert_no_leak(&text);
    // Garbage on the wire: hyper's 400 (or a close), the server lives on.
    for junk in [
        &b"\x00\x01\x02\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"POST /recipe/session HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    ] {
        let (status, text) = raw(&addr(&server), junk).await;
        assert!(status == 400 || status == 0, "{status}");
        assert_no_leak(&text);
    }
    assert_eq!(server.get_bare("/hello").await.status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_for_another_tenant_deployment_or_purpose_get_a_clear_answer() {
    let server = TestServer::start().await;
    let created = server.create("acme", "user-1").await;
    let handle = created["session"]["handle"].as_str().unwrap().to_owned();
    // Another tenant's revocation of the user does not touch acme's session
    // (handles, as in the core, are app-wide: removal by handle is not
    // tenant-scoped).
    let reply = server
        .post(
            "/public/recipe/session/remove",
            &json!({"userId": "user-1", "revokeAcrossAllTenants": false}),
        )
        .await
        .ok_json();
    assert_eq!(reply["sessionHandlesRevoked"], json!([]), "{reply}");
    let listed = server
        .get(
            "/public/recipe/session/user",
            &[("userId", "user-1"), ("fetchAcrossAllTenants", "false")],
        )
        .await
        .ok_json();
    assert_eq!(listed["sessionHandles"], json!([]));
    let info = server
        .get("/recipe/session", &[("sessionHandle", handle.as_str())])
        .await
        .ok_json();
    assert_eq!(info["status"], "OK", "{info}");
    let access = created["accessToken"]["token"].as_str().unwrap();
    let verified = server.verify(access, true).await;
    assert_eq!(verified["status"], "OK", "{verified}");
    assert_eq!(verified["session"]["tenantId"], "acme");

    // Another deployment's tokens.
    let other = tessera::SessionManager::in_memory().await.unwrap();
    let foreign = other
        .create_new_session("user-1", json!({}), json!({}))
        .await
        .unwrap();
    let v = server.verify(&foreign.access_token.token, false).await;
    assert_eq!(v["status"], "TRY_REFRESH_TOKEN", "{v}");
    let r = server.refresh(&foreign.refresh_token.token).await;
    assert_eq!(r["status"], "UNAUTHORISED", "{r}");
    // A JWT for another purpose, and each token in the other's place.
    let jwt =
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJzY29wZSI6ImFkbWluIn0.c2ln";
    for (what, v) in [
        ("other purpose", server.verify(jwt, false).await),
        (
            "refresh as access",
            server.verify(&foreign.refresh_token.token, false).await,
        ),
        ("access as refresh", server.refresh(access).await),
    ] {
        assert_eq!(v["status"], "UNAUTHORISED", "{what}: {v}");
        assert!(!v.to_string().contains("panicked"));
    }
}

#[tokio::test]
async fn every_answer_that_carries_tokens_is_no_store() {
    let server = TestServer::start().await;
    let body = json!({
        "userId": "u",
        "userDataInJWT": {},
        "userDataInDatabase": {},
        "useDynamicSigningKey": true,
        "enableAntiCsrf": false,
    });
    let created = server.post("/recipe/session", &body).await;
    assert_eq!(created.headers["cache-control"], "no-store");
    let json: Value = created.json();
    let refreshed = server
        .post(
            "/recipe/session/refresh",
            &json!({
                "refreshToken": json["refreshToken"]["token"],
                "enableAntiCsrf": false,
                "useDynamicSigningKey": true,
            }),
        )
        .await;
    assert_eq!(refreshed.headers["cache-control"], "no-store");
    let regenerated = server
        .post(
            "/recipe/session/regenerate",
            &json!({
                "accessToken": refreshed.json()["accessToken"]["token"],
                "userDataInJWT": {"k": 1},
            }),
        )
        .await;
    assert_eq!(regenerated.ok_json()["status"], "OK");
    assert_eq!(regenerated.headers["cache-control"], "no-store");
}
