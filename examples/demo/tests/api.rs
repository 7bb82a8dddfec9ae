//! The demo's JSON API over a real socket, on SQLite, in cookie mode with a
//! cookie jar (as the page uses it) and in header mode.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use base64::Engine as _;
use reqwest::cookie::Jar;
use serde_json::{Value, json};
use tessera_axum::SessionLayer;

struct Demo {
    base: String,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn start() -> Demo {
    start_with(None).await
}

/// `static_dir`: where the SDK bundle is served from (default: a directory
/// without one).
async fn start_with(static_dir: Option<std::path::PathBuf>) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera::store::SqliteStore::open(dir.path().join("demo.db"))
        .await
        .unwrap();
    let manager = tessera::SessionManager::builder()
        .store(store)
        .build()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let static_dir = static_dir.unwrap_or_else(|| dir.path().join("static"));
    let app = tessera_demo::app_with_static_dir(
        SessionLayer::new(manager).cookie_secure(false),
        static_dir,
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::builder()
        .cookie_provider(Arc::new(Jar::default()))
        .build()
        .unwrap();
    Demo {
        base,
        client,
        server,
        _dir: dir,
    }
}

impl Demo {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("st-auth-mode", "cookie")
            .header("rid", "anti-csrf")
    }
}

fn front(res: &reqwest::Response) -> Value {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(res.headers()["front-token"].as_bytes())
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn login_see_change_refresh_and_revoke_in_cookie_mode() {
    let demo = start().await;
    use reqwest::Method as M;

    let login = demo
        .req(M::POST, "/api/login")
        .json(&json!({ "userId": "alice" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.unwrap();
    assert_eq!(login["userId"], "alice");
    assert_eq!(login["transferMethod"], "cookie");

    let session: Value = demo
        .req(M::GET, "/api/session")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["userId"], "alice");
    assert_eq!(session["handle"], login["handle"]);
    assert_eq!(session["payload"], json!({ "role": "demo" }));
    assert_eq!(session["data"]["visits"], 0);
    assert!(session["expiry"].as_i64().unwrap() > session["timeCreated"].as_i64().unwrap());

    let data = demo
        .req(M::PUT, "/api/session/data")
        .json(&json!({ "data": { "visits": 1 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(data.status(), 200);

    let payload = demo
        .req(M::PUT, "/api/session/payload")
        .json(&json!({ "payload": { "role": "editor" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(payload.status(), 200);
    assert_eq!(front(&payload)["up"]["role"], "editor");

    let after: Value = demo
        .req(M::GET, "/api/session")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["data"], json!({ "visits": 1 }));
    assert_eq!(after["payload"], json!({ "role": "editor" }));

    let refreshed = demo
        .req(M::POST, "/auth/session/refresh")
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    assert_eq!(front(&refreshed)["up"]["role"], "editor");

    let handles: Value = demo
        .req(M::GET, "/api/sessions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(handles["handles"], json!([login["handle"]]));

    let revoke = demo
        .req(M::POST, "/api/session/revoke")
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    assert_eq!(revoke.headers()["front-token"], "remove");
    let gone = demo.req(M::GET, "/api/session").send().await.unwrap();
    assert_eq!(gone.status(), 401);
}

#[tokio::test]
async fn a_server_side_revoke_signs_the_client_out_on_its_next_request() {
    let demo = start().await;
    let login = demo
        .client
        .post(format!("{}/api/login", demo.base))
        .json(&json!({ "userId": "bob" }))
        .send()
        .await
        .unwrap();
    // No st-auth-mode: header mode.
    let access = login.headers()["st-access-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let handle = login.json::<Value>().await.unwrap()["handle"]
        .as_str()
        .unwrap()
        .to_owned();

    let revoked: Value = demo
        .client
        .post(format!("{}/api/admin/revoke/{handle}", demo.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(revoked, json!({ "revoked": true }));

    let next = demo
        .client
        .get(format!("{}/api/session", demo.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 401);
    assert_eq!(next.headers()["front-token"], "remove");
    assert_eq!(next.headers()["st-access-token"], "");
}

#[tokio::test]
async fn an_empty_user_id_is_400() {
    let demo = start().await;
    let res = demo
        .client
        .post(format!("{}/api/login", demo.base))
        .json(&json!({ "userId": "  " }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn the_page_is_self_contained() {
    let demo = start().await;
    let res = demo.client.get(&demo.base).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(
        html.contains("/api/login") && html.contains("<script src=\"/static/supertokens.js\">")
    );
    assert!(html.contains("supertokens.init(") && html.contains("getAccessTokenPayloadSecurely"));
    for external in ["src=\"http", "href=\"http", "src=\"//", "@import", "url("] {
        assert!(!html.contains(external), "external asset: {external}");
    }
}

#[tokio::test]
async fn the_sdk_bundle_is_served_from_the_static_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(tessera_demo::SDK_BUNDLE),
        "window.supertokens = {};",
    )
    .unwrap();
    let demo = start_with(Some(dir.path().to_owned())).await;
    let res = demo
        .client
        .get(format!("{}/static/supertokens.js", demo.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(res.text().await.unwrap(), "window.supertokens = {};");
}

#[tokio::test]
async fn a_missing_sdk_bundle_is_a_404_that_says_how_to_build_it() {
    let demo = start().await;
    let res = demo
        .client
        .get(format!("{}/static/supertokens.js", demo.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("examples/demo/web/build.sh")
    );
}

#[tokio::test]
async fn the_config_route_reports_the_settings_the_page_shows() {
    let demo = start().await;
    let config: Value = demo
        .client
        .get(format!("{}/api/config", demo.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config,
        json!({ "accessTokenValidity": 3600.0, "antiCsrf": "none", "blacklisting": false })
    );
}

#[tokio::test]
async fn malformed_bodies_get_short_json_refusals_not_plain_text() {
    use reqwest::Method as M;
    let demo = start().await;
    let json_type = "application/json";
    let cases: [(&str, Option<&str>, &str, u16, &str); 4] = [
        // not JSON at all
        ("/api/login", Some(json_type), "{user", 400, "bad request"),
        // JSON of the wrong shape
        (
            "/api/login",
            Some(json_type),
            r#"{"userId":5}"#,
            422,
            "unprocessable request body",
        ),
        // no content type
        (
            "/api/login",
            None,
            r#"{"userId":"ada"}"#,
            415,
            "unsupported media type",
        ),
        // the wrong content type
        (
            "/api/login",
            Some("text/plain"),
            r#"{"userId":"ada"}"#,
            415,
            "unsupported media type",
        ),
    ];
    for (path, content_type, body, status, message) in cases {
        let mut req = demo.req(M::POST, path).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{body} as {content_type:?}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{body} as {content_type:?}"
        );
        let got: Value = res.json().await.unwrap();
        assert_eq!(
            got,
            json!({ "message": message }),
            "{body} as {content_type:?}"
        );
    }
    // Oversized bodies are refused before they are read.
    let res = demo
        .req(M::POST, "/api/login")
        .header("content-type", json_type)
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "message": "request body too large" })
    );
}
