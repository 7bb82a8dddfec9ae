//! Cookie and header extraction in tessera-axum, end to end: any request
//! (method, path, headers, body) through `RequestLimits`, `SessionLayer`
//! and an app with the `Session`/`Option<Session>`/`Sessions` extractors and
//! the refresh and signout routes, driven in process with `oneshot`. It
//! must answer, never panic, and never answer 5xx (the store is memory and
//! cannot fail). Seeds are real requests with real tokens in both transfer
//! methods.
#![no_main]

use std::sync::{Once, OnceLock};

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tessera_axum::{RequestLimits, Session, SessionLayer, Sessions};
use tower::ServiceExt as _;

mod common;
mod http_request;

async fn me(session: Session) -> Json<Value> {
    Json(json!({ "user": session.get_user_id(), "payload": session.get_jwt_payload() }))
}

async fn maybe(session: Option<Session>) -> Json<Value> {
    Json(json!({ "user": session.map(|s| s.get_user_id().to_owned()) }))
}

async fn login(sessions: Sessions, Path(user): Path<String>) -> Result<Json<Value>, tessera_axum::Error> {
    let s = sessions.create_new_session(&user, json!({"r": 1}), json!({})).await?;
    Ok(Json(json!({ "handle": s.get_handle() })))
}

async fn data(session: Session, Json(v): Json<Value>) -> Result<Json<Value>, tessera_axum::Error> {
    session.update_session_data(v).await?;
    Ok(Json(json!({ "data": session.get_session_data().await? })))
}

async fn payload(session: Session, Json(v): Json<Value>) -> Result<Json<Value>, tessera_axum::Error> {
    session.update_jwt_payload(v).await?;
    Ok(Json(json!({})))
}

async fn revoke(session: Session) -> Result<Json<Value>, tessera_axum::Error> {
    session.revoke_session().await?;
    Ok(Json(json!({})))
}

fn app() -> &'static Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(|| {
        let h = common::harness();
        let layer = SessionLayer::new(h.manager.clone()).cookie_secure(false);
        Router::new()
            .route("/me", get(me).post(me))
            .route("/maybe", get(maybe))
            .route("/login/{user}", post(login))
            .route("/data", post(data))
            .route("/payload", post(payload))
            .route("/revoke", post(revoke))
            .merge(layer.routes())
            .layer(layer)
            .layer(RequestLimits::default())
    })
}

fn send(data: &[u8]) -> Option<http::Response<axum::body::Body>> {
    let req = http_request::parse(data)?;
    let h = common::harness();
    h.rt.block_on(app().clone().oneshot(req)).ok()
}

fn seeds() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if !common::writing_seeds() {
            return;
        }
        // Real tokens in both transfer methods, from the app itself.
        let Some(header_login) = send(&http_request::render("POST", "/login/alice", &[], "")) else { return };
        let get = |name: &str| {
            header_login.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
        };
        let (access, refresh) = (get("st-access-token"), get("st-refresh-token"));
        let Some(cookie_login) = send(&http_request::render("POST", "/login/bob", &[("st-auth-mode", "cookie")], "")) else { return };
        let cookies: Vec<String> = cookie_login
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next().map(str::to_owned))
            .collect();
        let csrf = cookie_login.headers().get("anti-csrf").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let cookie_header = cookies.join("; ");
        let bearer = format!("Bearer {access}");
        let refresh_bearer = format!("Bearer {refresh}");
        let seeds: Vec<(&str, Vec<u8>)> = vec![
            ("me-bearer", http_request::render("GET", "/me", &[("authorization", &bearer)], "")),
            ("me-cookie", http_request::render("GET", "/me", &[("cookie", &cookie_header)], "")),
            ("me-cookie-post-csrf", http_request::render("POST", "/me", &[("cookie", &cookie_header), ("anti-csrf", &csrf), ("rid", "session")], "")),
            ("maybe-none", http_request::render("GET", "/maybe", &[], "")),
            ("maybe-both", http_request::render("GET", "/maybe", &[("authorization", &bearer), ("cookie", &cookie_header)], "")),
            ("duplicate-cookies", http_request::render("GET", "/me", &[("cookie", &format!("{cookie_header}; {cookie_header}"))], "")),
            ("legacy-cookie", http_request::render("GET", "/me", &[("cookie", "sIdRefreshToken=x")], "")),
            ("data", http_request::render("POST", "/data", &[("authorization", &bearer), ("content-type", "application/json")], "{\"cart\":[1,2]}")),
            ("payload", http_request::render("POST", "/payload", &[("authorization", &bearer), ("content-type", "application/json")], "{\"role\":\"x\"}")),
            ("refresh-header", http_request::render("POST", "/auth/session/refresh", &[("authorization", &refresh_bearer), ("rid", "session")], "")),
            ("refresh-cookie", http_request::render("POST", "/auth/session/refresh", &[("cookie", &cookie_header), ("anti-csrf", &csrf), ("rid", "session")], "")),
            ("signout", http_request::render("POST", "/auth/signout", &[("authorization", &bearer)], "")),
            ("revoke", http_request::render("POST", "/revoke", &[("cookie", &cookie_header), ("anti-csrf", &csrf)], "")),
            ("login-cookie", http_request::render("POST", "/login/carol", &[("st-auth-mode", "cookie"), ("cookie", &cookie_header)], "")),
        ];
        for (name, bytes) in seeds {
            common::write_seed(name, &bytes);
        }
    });
}

fuzz_target!(|data: &[u8]| {
    seeds();
    let Some(req) = http_request::parse(data) else { return };
    let duplicated = has_duplicate_session_cookies(req.headers());
    let refresh = req.uri().path().ends_with("/session/refresh");
    let h = common::harness();
    let Ok(res) = h.rt.block_on(app().clone().oneshot(req));
    let status = res.status();
    if status.is_server_error() {
        // SuperTokens' (and tessera's) one deliberate 500: duplicated session
        // cookies at refresh without an older cookie domain to clear.
        assert!(
            status == http::StatusCode::INTERNAL_SERVER_ERROR && refresh && duplicated,
            "{status}"
        );
    }
});

/// More than one `sAccessToken` or `sRefreshToken` cookie, parsed as
/// tessera-axum parses cookies.
fn has_duplicate_session_cookies(headers: &http::HeaderMap) -> bool {
    let mut access = 0;
    let mut refresh = 0;
    for value in headers.get_all(http::header::COOKIE) {
        // tessera reads the header as bytes: a pair that is not UTF-8 (or
        // whose value does not percent-decode to UTF-8) is skipped, the
        // header's other pairs still count.
        for pair in value.as_bytes().split(|b| *b == b';') {
            let Ok(pair) = std::str::from_utf8(pair) else { continue };
            let Ok(c) = cookie::Cookie::parse_encoded(pair) else { continue };
            match c.name() {
                "sAccessToken" => access += 1,
                "sRefreshToken" => refresh += 1,
                _ => {}
            }
        }
    }
    access > 1 || refresh > 1
}
