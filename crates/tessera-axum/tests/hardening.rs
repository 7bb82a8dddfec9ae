//! Hardening on the axum side: bad input over real loopback sockets (raw TCP
//! for what a well-behaved client cannot send), the refresh rate limit, and
//! the transport rules of the security checklist (no-store, refresh-cookie
//! path, no session fixation). The app runs on `tessera_axum::serve` with
//! [`RequestLimits`], as a hardened deployment would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera::SessionManager;
use tessera::store::SqliteStore;
use tessera_axum::{
    RateLimitKey, RefreshRateLimit, RequestLimits, ServerLimits, Session, SessionLayer, Sessions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use tessera_adapter_tests::{
    body, cookie_value, header_tokens, is_clearing, set_cookie, set_cookies,
};

// ---------------------------------------------------------------- log capture

/// Everything every test in this binary logs (one global subscriber).
fn log() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Captured(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
}

#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_text() -> String {
    String::from_utf8_lossy(&log().lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------- the app

async fn me(session: Session) -> Json<Value> {
    Json(json!({ "userId": session.get_user_id(), "handle": session.get_handle() }))
}

async fn set_data(
    session: Session,
    Json(data): Json<Value>,
) -> Result<Json<Value>, tessera_axum::Error> {
    session.update_session_data(data).await?;
    Ok(Json(json!({ "ok": true })))
}

async fn set_payload(
    session: Session,
    Json(payload): Json<Value>,
) -> Result<Json<Value>, tessera_axum::Error> {
    session.update_jwt_payload(payload).await?;
    Ok(Json(json!({ "ok": true })))
}

async fn revoke(session: Session) -> Result<Json<Value>, tessera_axum::Error> {
    session.revoke_session().await?;
    Ok(Json(json!({ "ok": true })))
}

async fn login(
    sessions: Sessions,
    Path(user): Path<String>,
) -> Result<Json<Value>, tessera_axum::Error> {
    let s = sessions
        .create_new_session(&user, json!({}), json!({}))
        .await?;
    Ok(Json(json!({ "handle": s.get_handle() })))
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "late"
}

struct App {
    addr: SocketAddr,
    manager: SessionManager,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

struct Options {
    layer: Box<dyn FnOnce(SessionLayer) -> SessionLayer + Send>,
    limits: RequestLimits,
    server: ServerLimits,
    /// Serve with plain `axum::serve` (no peer address in requests).
    plain_axum_serve: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            layer: Box::new(|l| l.cookie_secure(false)),
            limits: RequestLimits::default(),
            server: ServerLimits::default(),
            plain_axum_serve: false,
        }
    }
}

async fn start(options: Options) -> App {
    let _ = log();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("sessions.db"))
        .await
        .unwrap();
    let manager = SessionManager::builder()
        .store(store)
        .background_tasks(false)
        .refresh_grace_period(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let layer = (options.layer)(SessionLayer::new(manager.clone()));
    let app = Router::new()
        .route("/login/{user}", post(login))
        .route("/me", get(me).post(me))
        .route("/data", post(set_data))
        .route("/payload", post(set_payload))
        .route("/revoke", post(revoke))
        .route("/slow", get(slow))
        .merge(layer.routes())
        .layer(layer)
        .layer(options.limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    if options.plain_axum_serve {
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
    } else {
        tokio::spawn(tessera_axum::serve(
            listener,
            app,
            options.server,
            async move {
                let _ = stopped.await;
            },
        ));
    }
    App {
        addr,
        manager,
        stop: Some(stop),
        _dir: dir,
    }
}

/// One raw HTTP/1.1 exchange: writes `request`, reads until the server
/// closes or 10 s pass; returns the status and the body text ("" and 0
/// when the server closed without answering).
async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String) {
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

/// A short JSON refusal: `{"message": …}` only, nothing echoed.
fn assert_short_json(body: &str, message: &str) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    assert_eq!(v, json!({ "message": message }), "{body}");
    assert_no_leak(body);
}

fn assert_no_leak(text: &str) {
    for bad in [
        "panicked",
        "stack backtrace",
        "RUST_BACKTRACE",
        ".rs:",
        "sqlx",
        "SQLITE",
    ] {
        assert!(!text.contains(bad), "{bad} in {text:?}");
    }
}

// ---------------------------------------------------------------- oversized input

#[tokio::test]
async fn oversized_headers_and_cookies_get_431_with_a_short_json_body() {
    let app = start(Options::default()).await;
    // Over the app's 16 KiB header budget, under the server's head buffer.
    let cookie = format!("sAccessToken={}", "a".repeat(20 * 1024));
    let req =
        format!("GET /me HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n");
    let (status, body) = raw(app.addr, req.as_bytes()).await;
    assert_eq!(status, 431);
    assert_short_json(&body, "request header fields too large");
    // Many small headers adding up.
    let mut req = String::from("GET /me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for i in 0..90 {
        req.push_str(&format!("x-h{i}: {}\r\n", "b".repeat(200)));
    }
    req.push_str("\r\n");
    let (status, body) = raw(app.addr, req.as_bytes()).await;
    assert_eq!(status, 431);
    assert_short_json(&body, "request header fields too large");
    // Beyond the server's head buffer or header count: hyper's own 431, no panic.
    let huge = format!(
        "GET /me HTTP/1.1\r\nHost: x\r\nCookie: {}\r\n\r\n",
        "c".repeat(200 * 1024)
    );
    let (status, _) = raw(app.addr, huge.as_bytes()).await;
    assert!(status == 431 || status == 0, "{status}");
    let mut many = String::from("GET /me HTTP/1.1\r\nHost: x\r\n");
    for i in 0..150 {
        many.push_str(&format!("x-{i}: 1\r\n"));
    }
    many.push_str("\r\n");
    let (status, _) = raw(app.addr, many.as_bytes()).await;
    assert!(status == 431 || status == 0, "{status}");
    // The server is still there.
    let res = reqwest::get(app.url("/me")).await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn oversized_bodies_get_413_with_a_short_json_body() {
    let app = start(Options {
        limits: RequestLimits::default().max_body_bytes(64 * 1024),
        ..Options::default()
    })
    .await;
    let login = reqwest::Client::new()
        .post(app.url("/login/alice"))
        .send()
        .await
        .unwrap();
    let tokens = header_tokens(login.headers());
    let big = format!("{{\"k\":\"{}\"}}", "x".repeat(100 * 1024));
    // Declared length over the limit: refused before the body is read.
    let res = reqwest::Client::new()
        .post(app.url("/data"))
        .bearer_auth(&tokens.access)
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_short_json(&res.text().await.unwrap(), "request body too large");
    // Chunked (no length): refused as it is read.
    let chunk = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let req = format!(
        "POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}",
        tokens.access
    );
    let (status, body) = raw(app.addr, req.as_bytes()).await;
    assert_eq!(status, 413);
    assert_short_json(&body, "request body too large");
    // Nothing was written.
    let data = app
        .manager
        .get_session_data(
            &app.manager
                .get_all_session_handles_for_user("alice")
                .await
                .unwrap()[0],
        )
        .await
        .unwrap();
    assert_eq!(data, Some(json!({})));
}

// ---------------------------------------------------------------- slow clients

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = start(Options {
        server: ServerLimits::default().header_read_timeout(Duration::from_millis(300)),
        ..Options::default()
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /me HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // Then nothing: the server closes the connection by itself (the read
    // below returns at EOF, long before its own 10 s guard).
    let (status, _) = read_all(&mut stream).await;
    assert!(status == 0 || status == 408, "{status}");
    let mut buf = [0u8; 1];
    assert_eq!(stream.read(&mut buf).await.unwrap_or(0), 0, "still open");
    // Other clients are served meanwhile and after.
    assert_eq!(reqwest::get(app.url("/me")).await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_408_with_a_short_json_body() {
    let app = start(Options {
        limits: RequestLimits::default().timeout(Duration::from_millis(200)),
        ..Options::default()
    })
    .await;
    let res = reqwest::get(app.url("/slow")).await.unwrap();
    assert_eq!(res.status(), 408);
    assert_short_json(&res.text().await.unwrap(), "request timeout");
}

// ---------------------------------------------------------------- malformed input

#[tokio::test]
async fn malformed_utf8_json_and_content_types_get_a_short_json_4xx() {
    let app = start(Options::default()).await;
    let client = reqwest::Client::new();
    let tokens = header_tokens(
        client
            .post(app.url("/login/bob"))
            .send()
            .await
            .unwrap()
            .headers(),
    );
    for (content_type, payload, status) in [
        ("application/json", b"{\"a\": ".to_vec(), 400),
        (
            "application/json",
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
            400,
        ),
        ("application/json", b"[1, 2]".to_vec(), 422),
        ("application/json", b"\"just a string\"".to_vec(), 422),
        ("text/plain", b"{}".to_vec(), 415),
    ] {
        let res = client
            .post(app.url("/payload"))
            .bearer_auth(&tokens.access)
            .header("content-type", content_type)
            .body(payload.clone())
            .send()
            .await
            .unwrap();
        let got = res.status().as_u16();
        let text = res.text().await.unwrap();
        // A JSON array is valid JSON but not an object: the engine says 400.
        assert!(
            got == status || (status == 422 && got == 400),
            "{payload:?}: {got} {text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(
            v["message"].is_string() && v.as_object().unwrap().len() == 1,
            "{text}"
        );
        assert_no_leak(&text);
        assert!(!text.contains("just a string"), "input echoed: {text}");
    }
    // Invalid UTF-8 in a cookie or in the Authorization header: no token, a plain 401.
    let mut req =
        b"GET /me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: sAccessToken=".to_vec();
    req.extend_from_slice(&[0xff, 0xc3, 0x28]);
    req.extend_from_slice(b"\r\nAuthorization: Bearer \xff\xfe\r\n\r\n");
    let (status, body) = raw(app.addr, &req).await;
    assert_eq!(status, 401);
    assert_short_json(&body, "unauthorised");
    // Garbage request lines: hyper's 400, the server lives on.
    for junk in [
        &b"\x00\x01\x02\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET\r\n\r\n",
    ] {
        let (status, body) = raw(app.addr, junk).await;
        assert!(status == 400 || status == 0 || status == 505, "{status}");
        assert_no_leak(&body);
    }
    assert_eq!(reqwest::get(app.url("/me")).await.unwrap().status(), 401);
}

#[tokio::test]
async fn duplicate_cookies_are_a_clear_401_not_a_guess() {
    let app = start(Options::default()).await;
    let client = reqwest::Client::new();
    let login = client
        .post(app.url("/login/carol"))
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    let access = cookie_value(&set_cookie(login.headers(), "sAccessToken").unwrap());
    // The same cookie twice (a stale one from another domain, say).
    let res = client
        .get(app.url("/me"))
        .header(
            "cookie",
            format!("sAccessToken={access}; sAccessToken={access}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await, json!({ "message": "try refresh token" }));
}

#[tokio::test]
async fn tokens_of_another_deployment_or_purpose_are_a_clear_401() {
    let app = start(Options::default()).await;
    let other = SessionManager::in_memory().await.unwrap();
    let foreign = other
        .create_new_session("mallory", json!({}), json!({}))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    // Another deployment's access token: signed by a key we do not have.
    let res = client
        .get(app.url("/me"))
        .bearer_auth(&foreign.access_token.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await, json!({ "message": "try refresh token" }));
    // ...and its refresh token cannot refresh here.
    let res = client
        .post(app.url("/auth/session/refresh"))
        .bearer_auth(&foreign.refresh_token.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
    // A JWT minted for another purpose (an OAuth bearer, an ID token): not a
    // session token at all, so the request simply has no session.
    let jwt = format!(
        "{}.{}.c2ln",
        base64_url(br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#),
        base64_url(br#"{"sub":"carol","aud":"api","scope":"admin"}"#)
    );
    let res = client
        .get(app.url("/me"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
    // The foreign access token as a refresh token, and vice versa.
    for (path, token) in [
        ("/auth/session/refresh", foreign.access_token.token.as_str()),
        ("/me", foreign.refresh_token.token.as_str()),
    ] {
        let res = client
            .post(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
    }
    // None of those tokens reached the log.
    let log = log_text();
    assert!(!log.contains(&foreign.access_token.token));
    assert!(!log.contains(&foreign.refresh_token.token));
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------- rate limit

#[tokio::test]
async fn refresh_rate_limit_answers_429_json_with_retry_after_per_client() {
    let app = start(Options {
        layer: Box::new(|l| {
            l.cookie_secure(false)
                .refresh_rate_limit(RefreshRateLimit::new(3, Duration::from_secs(60)))
        }),
        ..Options::default()
    })
    .await;
    let client = reqwest::Client::new();
    let refresh = || {
        client
            .post(app.url("/auth/session/refresh"))
            .bearer_auth("not-a-token")
            .send()
    };
    for _ in 0..3 {
        assert_eq!(refresh().await.unwrap().status(), 401);
    }
    let res = refresh().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    assert_short_json(&res.text().await.unwrap(), "too many requests");
    // Only the refresh route is limited.
    let res = client.post(app.url("/login/dave")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = client.post(app.url("/auth/signout")).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn refresh_rate_limit_by_forwarded_address_keeps_a_budget_per_client() {
    let app = start(Options {
        layer: Box::new(|l| {
            l.refresh_rate_limit(
                RefreshRateLimit::new(2, Duration::from_secs(60)).key(RateLimitKey::ForwardedIp),
            )
        }),
        ..Options::default()
    })
    .await;
    let client = reqwest::Client::new();
    let refresh = |ip: &'static str| {
        client
            .post(app.url("/auth/session/refresh"))
            .header("x-forwarded-for", ip)
            .send()
    };
    for _ in 0..2 {
        assert_eq!(refresh("203.0.113.1").await.unwrap().status(), 401);
    }
    assert_eq!(refresh("203.0.113.1").await.unwrap().status(), 429);
    assert_eq!(refresh("203.0.113.2").await.unwrap().status(), 401);
}

#[tokio::test]
async fn refresh_rate_limit_without_a_peer_address_is_a_generic_500_and_a_log_line() {
    let app = start(Options {
        layer: Box::new(|l| l.refresh_rate_limit(RefreshRateLimit::new(3, Duration::from_secs(1)))),
        plain_axum_serve: true,
        ..Options::default()
    })
    .await;
    let res = reqwest::Client::new()
        .post(app.url("/auth/session/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_short_json(&res.text().await.unwrap(), "internal error");
    assert!(log_text().contains("into_make_service_with_connect_info"));
}

// ---------------------------------------------------------------- checklist: transport

#[tokio::test]
async fn every_response_that_carries_or_clears_tokens_is_no_store() {
    let app = start(Options::default()).await;
    let jar_client = || {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap()
    };
    let no_store = |res: &reqwest::Response, what: &str| {
        assert_eq!(
            res.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{what}"
        );
    };
    let bare = reqwest::Client::new();
    // Header mode: login, refresh, payload update, revoke.
    let login = bare.post(app.url("/login/erin")).send().await.unwrap();
    no_store(&login, "login (header mode)");
    let t = header_tokens(login.headers());
    let refreshed = bare
        .post(app.url("/auth/session/refresh"))
        .bearer_auth(&t.refresh)
        .send()
        .await
        .unwrap();
    no_store(&refreshed, "refresh (header mode)");
    let t = header_tokens(refreshed.headers());
    let res = bare
        .post(app.url("/payload"))
        .bearer_auth(&t.access)
        .json(&json!({ "k": 1 }))
        .send()
        .await
        .unwrap();
    no_store(&res, "payload update");
    let res = bare
        .post(app.url("/revoke"))
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    no_store(&res, "revoke (clears)");
    // A refresh refusal clears, so it is no-store too.
    let res = bare
        .post(app.url("/auth/session/refresh"))
        .bearer_auth(&t.refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    no_store(&res, "refused refresh (clears)");
    // Cookie mode: login, refresh, signout.
    let c = jar_client();
    let login = c
        .post(app.url("/login/frank"))
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    no_store(&login, "login (cookie mode)");
    let refreshed = c
        .post(app.url("/auth/session/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    no_store(&refreshed, "refresh (cookie mode)");
    let out = c.post(app.url("/auth/signout")).send().await.unwrap();
    assert_eq!(out.status(), 200);
    no_store(&out, "signout");
}

#[tokio::test]
async fn the_refresh_cookie_is_only_ever_set_on_the_refresh_path() {
    let app = start(Options::default()).await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let mut seen = Vec::new();
    let mut record = |res: &reqwest::Response| {
        seen.extend(
            set_cookies(res.headers())
                .into_iter()
                .filter(|c| c.starts_with("sRefreshToken=")),
        );
    };
    let login = c
        .post(app.url("/login/gina"))
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    record(&login);
    let first_refresh = cookie_value(&set_cookie(login.headers(), "sRefreshToken").unwrap());
    let res = c
        .post(app.url("/auth/session/refresh"))
        .send()
        .await
        .unwrap();
    record(&res);
    let res = c
        .post(app.url("/payload"))
        .json(&json!({ "k": 2 }))
        .send()
        .await
        .unwrap();
    record(&res);
    let res = c.post(app.url("/auth/signout")).send().await.unwrap();
    record(&res);
    // A refusal of a replayed old refresh cookie clears on the same path.
    let res = reqwest::Client::new()
        .post(app.url("/auth/session/refresh"))
        .header("cookie", format!("sRefreshToken={first_refresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    record(&res);
    assert!(seen.len() >= 4, "{seen:?}");
    for c in &seen {
        assert!(c.contains("; Path=/auth/session/refresh"), "{c}");
        assert!(c.contains("; HttpOnly"), "{c}");
    }
    assert!(seen.iter().any(|c| is_clearing(c)));
}

#[tokio::test]
async fn login_over_an_existing_or_planted_session_issues_a_fresh_handle() {
    let app = start(Options::default()).await;
    let c = reqwest::Client::new();
    // The attacker's own session, planted in the victim's browser.
    let planted = c
        .post(app.url("/login/attacker"))
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    let planted_handle = body(planted).await["handle"].as_str().unwrap().to_owned();
    let planted_access = app
        .manager
        .get_all_session_handles_for_user("attacker")
        .await
        .unwrap();
    assert_eq!(planted_access, vec![planted_handle.clone()]);
    let victim = c
        .post(app.url("/login/victim"))
        .header("st-auth-mode", "cookie")
        .header(
            "cookie",
            "sAccessToken=planted; sRefreshToken=planted; sFrontToken=x".to_owned(),
        )
        .header("authorization", "Bearer planted")
        .send()
        .await
        .unwrap();
    assert_eq!(victim.status(), 200);
    let new_access = set_cookie(victim.headers(), "sAccessToken").unwrap();
    let handle = body(victim).await["handle"].as_str().unwrap().to_owned();
    assert_ne!(handle, planted_handle);
    assert!(!new_access.contains("planted"));
    // Logging in twice with the same client: two sessions, two handles.
    let again = c
        .post(app.url("/login/victim"))
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    let second = body(again).await["handle"].as_str().unwrap().to_owned();
    assert_ne!(second, handle);
    let handles = app
        .manager
        .get_all_session_handles_for_user("victim")
        .await
        .unwrap();
    assert_eq!(handles.len(), 2);
}

// ---------------------------------------------------------------- logs

#[tokio::test]
async fn bad_requests_leave_no_secret_or_backtrace_in_responses_or_logs() {
    let app = start(Options::default()).await;
    let c = reqwest::Client::new();
    let login = c.post(app.url("/login/henry")).send().await.unwrap();
    let t = header_tokens(login.headers());
    let mut bodies = Vec::new();
    let tampered = format!("{}x", &t.access[..t.access.len() - 1]);
    for (path, token) in [
        ("/me", tampered.as_str()),
        ("/auth/session/refresh", "garbage"),
        ("/auth/session/refresh", &t.access),
        ("/me", &t.refresh),
    ] {
        let res = c
            .post(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        bodies.push(res.text().await.unwrap());
    }
    for b in &bodies {
        assert!(b.len() < 100, "{b}");
        assert_no_leak(b);
    }
    let log = log_text();
    for bad in ["panicked", "stack backtrace"] {
        assert!(!log.contains(bad), "{bad} in the log");
    }
    for secret in [&t.access, &t.refresh, &tampered] {
        assert!(!log.contains(secret.as_str()), "a token reached the log");
    }
}
