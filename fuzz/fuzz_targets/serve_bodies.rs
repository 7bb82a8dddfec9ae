//! The JSON bodies (and query strings) of every `tessera serve` endpoint:
//! any request through the server's router, in process with `oneshot`. It
//! must answer, never panic, and never answer 5xx (the store is memory).
//! Seeds are the SDKs' real bodies for every endpoint, with real tokens.
#![no_main]

use std::sync::{Once, OnceLock};

use axum::Router;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tower::ServiceExt as _;

mod common;
mod http_request;

fn app() -> &'static Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(|| {
        let h = common::harness();
        tessera_server::serve::router(tessera_server::serve::AppState::new(h.manager.clone(), Vec::new()))
    })
}

const SDK: [(&str, &str); 2] = [("cdi-version", "5.4"), ("rid", "session")];

fn send(data: &[u8]) -> Option<(http::StatusCode, Vec<u8>)> {
    let req = http_request::parse(data)?;
    let h = common::harness();
    let res = h.rt.block_on(app().clone().oneshot(req)).ok()?;
    let status = res.status();
    let body = h.rt.block_on(axum::body::to_bytes(res.into_body(), 1 << 20)).ok()?;
    Some((status, body.to_vec()))
}

fn post(path: &str, body: &Value) -> Vec<u8> {
    http_request::render("POST", path, &[SDK[0], SDK[1], ("content-type", "application/json")], &body.to_string())
}

fn seeds() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if !common::writing_seeds() {
            return;
        }
        let create = json!({"userId": "user-1", "userDataInJWT": {"role": "a"}, "userDataInDatabase": {"d": 1}, "enableAntiCsrf": true, "useDynamicSigningKey": true});
        let Some((_, body)) = send(&post("/recipe/session", &create)) else { return };
        let created: Value = serde_json::from_slice(&body).unwrap_or_default();
        let access = created["accessToken"]["token"].as_str().unwrap_or_default().to_owned();
        let refresh = created["refreshToken"]["token"].as_str().unwrap_or_default().to_owned();
        let csrf = created["antiCsrfToken"].as_str().unwrap_or_default().to_owned();
        let handle = created["session"]["handle"].as_str().unwrap_or_default().to_owned();
        let get = |path: &str| http_request::render("GET", path, &SDK, "");
        let put = |path: &str, body: &Value| {
            http_request::render("PUT", path, &[SDK[0], SDK[1], ("content-type", "application/json")], &body.to_string())
        };
        let seeds: Vec<(&str, Vec<u8>)> = vec![
            ("create", post("/recipe/session", &create)),
            ("create-tenant", post("/acme/recipe/session", &create)),
            ("verify", post("/recipe/session/verify", &json!({"accessToken": access, "antiCsrfToken": csrf, "doAntiCsrfCheck": true, "enableAntiCsrf": true, "checkDatabase": true}))),
            ("refresh", post("/recipe/session/refresh", &json!({"refreshToken": refresh, "antiCsrfToken": csrf, "enableAntiCsrf": true, "useDynamicSigningKey": true}))),
            ("regenerate", post("/recipe/session/regenerate", &json!({"accessToken": access, "userDataInJWT": {"role": "b"}}))),
            ("remove-handles", post("/recipe/session/remove", &json!({"sessionHandles": [handle]}))),
            ("remove-user", post("/acme/recipe/session/remove", &json!({"userId": "user-1", "revokeAcrossAllTenants": false, "revokeSessionsForLinkedAccounts": true}))),
            ("update-data", put("/recipe/session/data", &json!({"sessionHandle": handle, "userDataInDatabase": {"x": [1, {"y": null}]}}))),
            ("update-jwt", put("/recipe/jwt/data", &json!({"sessionHandle": handle, "userDataInJWT": {"z": "w"}}))),
            ("info", get(&format!("/recipe/session?sessionHandle={handle}"))),
            ("list", get("/recipe/session/user?userId=user-1&fetchAcrossAllTenants=true&fetchSessionsForAllLinkedAccounts=true")),
            ("list-tenant", get("/acme/recipe/session/user?userId=user-1&fetchAcrossAllTenants=false")),
            ("user-id", get("/user/id?userId=user-1")),
            ("apiversion", get("/apiversion")),
            ("jwks", get("/.well-known/jwks.json")),
            ("hello", get("/hello")),
        ];
        for (name, bytes) in seeds {
            common::write_seed(name, &bytes);
        }
    });
}

fuzz_target!(|data: &[u8]| {
    seeds();
    if let Some((status, body)) = send(data) {
        assert!(!status.is_server_error(), "{status}: {}", String::from_utf8_lossy(&body));
    }
});
