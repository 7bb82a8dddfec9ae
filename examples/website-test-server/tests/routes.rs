//! The test server over a real socket, on both adapters (the same table
//! of cases against the axum and the actix-web server): the setup routes, a
//! cookie-mode session through login, verification, counted refresh and
//! logout, the header mode, and the helpers the suite reads. (The suite
//! itself, in Chromium, is tests/website-suite/run.sh.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::cookie::Jar;
use serde_json::{Value, json};
use tessera_website_test_server::{Adapter, Apps, Port, Site, actix_app, axum_app};

struct Server {
    base: String,
    client: reqwest::Client,
    stop: Box<dyn FnMut() + Send>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        (self.stop)();
    }
}

async fn start(adapter: Adapter) -> Server {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<html>page</html>").unwrap();
    let site = Arc::new(Site {
        apps: Apps::new().await.unwrap(),
        static_dir: dir.path().to_owned(),
        package_version: "20.1.7".into(),
        refresh_model: tessera::RefreshModel::default(),
    });
    let port = Port::new(site);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop: Box<dyn FnMut() + Send> = match adapter {
        Adapter::Axum => {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let task = tokio::spawn(async move { axum_app::serve(listener, port).await.unwrap() });
            Box::new(move || task.abort())
        }
        Adapter::Actix => {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let mut servers = actix_app::server(vec![(listener, port)], 1).unwrap();
                    let server = servers.pop().unwrap();
                    tx.send(server.handle()).unwrap();
                    server.await.unwrap();
                });
            });
            let handle = rx.recv().unwrap();
            Box::new(move || drop(handle.stop(false)))
        }
    };
    let client = reqwest::Client::builder()
        .cookie_provider(Arc::new(Jar::default()))
        .build()
        .unwrap();
    Server {
        base,
        client,
        stop,
        _dir: dir,
    }
}

/// Runs each case against the axum and the actix-web server.
macro_rules! on_both_adapters {
    ($($case:ident),* $(,)?) => {
        mod axum {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::start(super::Adapter::Axum).await).await;
                }
            )*
        }
        mod actix {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::start(super::Adapter::Actix).await).await;
                }
            )*
        }
    };
}

on_both_adapters!(
    cookie_session_login_verify_counted_refresh_logout,
    header_session_with_jwt_and_payload_update,
    helpers_static_files_and_cors,
    header_refresh_without_rid_is_attempted_not_called,
    cdi_2_18_session_verifies_and_refreshes_to_the_current_format,
);

/// A base64 (standard or URL-safe, padded or not) JSON object.
fn decode_json(part: &str) -> Value {
    use base64::Engine as _;
    let unpadded = part
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(unpadded)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The sorted keys of a JSON object.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

impl Server {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn text(&self, path: &str) -> String {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.text().await.unwrap()
    }

    /// A new app with this core config, set up on the server.
    async fn setup(&self, core_config: Value, anti_csrf: bool, jwt: bool) {
        let resp = self
            .post(
                "/test/setup/app",
                json!({ "appId": "app-1", "coreConfig": core_config }),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let core_url = resp.text().await.unwrap();
        assert!(core_url.ends_with("/appid-app-1"), "{core_url}");
        let resp = self
            .post(
                "/test/setup/st",
                json!({ "coreUrl": core_url, "enableAntiCsrf": anti_csrf, "enableJWT": jwt }),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

async fn cookie_session_login_verify_counted_refresh_logout(s: Server) {
    // The signing-key interval the suite asks for (0.002 h) is accepted.
    s.setup(
        json!({ "access_token_validity": 3, "access_token_signing_key_update_interval": "0.002" }),
        true,
        false,
    )
    .await;

    let login = s
        .client
        .post(format!("{}/login", s.base))
        .header("st-auth-mode", "cookie")
        .json(&json!({ "userId": "u1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let anti_csrf = login.headers()["anti-csrf"].to_str().unwrap().to_owned();
    assert!(login.headers().contains_key("front-token"));
    assert_eq!(login.text().await.unwrap(), "u1");

    assert_eq!(s.text("/").await, "u1");
    assert_eq!(s.text("/getSessionCalledTime").await, "1");

    // The whole payload, protected claims included, with the issuer.
    let payload: Value = serde_json::from_str(&s.text("/update-jwt").await).unwrap();
    assert_eq!(payload["sub"], "u1");
    assert_eq!(payload["iss"], "http://0.0.0.0:8080/auth");
    assert_eq!(payload["antiCsrfToken"], anti_csrf.as_str());

    // A refresh with rid is counted as called; without rid only attempted.
    let refresh = s
        .client
        .post(format!("{}/auth/session/refresh", s.base))
        .header("rid", "session")
        .header("anti-csrf", &anti_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), StatusCode::OK);
    let anti_csrf = refresh.headers()["anti-csrf"].to_str().unwrap().to_owned();
    assert_eq!(refresh.text().await.unwrap(), "refresh success");
    assert_eq!(s.text("/refreshCalledTime").await, "1");
    assert_eq!(s.text("/refreshAttemptedTime").await, "1");

    // A POST without the anti-CSRF token is refused (VIA_TOKEN).
    let resp = s.post("/logout", json!({})).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let resp = s
        .client
        .post(format!("{}/logout", s.base))
        .header("anti-csrf", &anti_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["front-token"], "remove");
    let resp = s.client.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // /beforeeach resets the counters.
    assert_eq!(
        s.post("/beforeeach", json!({})).await.status(),
        StatusCode::OK
    );
    assert_eq!(s.text("/refreshCalledTime").await, "0");
    assert_eq!(s.text("/refreshAttemptedTime").await, "0");
}

async fn header_session_with_jwt_and_payload_update(s: Server) {
    s.setup(json!({ "access_token_validity": 60 }), false, true)
        .await;
    let flags: Value = serde_json::from_str(&s.text("/featureFlags").await).unwrap();
    assert_eq!(flags["sessionJwt"], true);

    let login = s.post("/login", json!({ "userId": "u2" })).await;
    let access = login.headers()["st-access-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {access}");
    let payload: Value = s
        .client
        .get(format!("{}/update-jwt", s.base))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(payload["customClaim"], "customValue");

    // The body replaces the custom claims; protected names in it are dropped.
    let resp = s
        .client
        .post(format!("{}/update-jwt", s.base))
        .header("authorization", &bearer)
        .json(&json!({ "newClaim": "newValue", "sub": "someone-else" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().contains_key("st-access-token"));
    let payload: Value = resp.json().await.unwrap();
    assert_eq!(payload["newClaim"], "newValue");
    assert_eq!(payload["sub"], "u2");
    assert!(payload.get("customClaim").is_none());
    // `iss` is a user claim, cleared with the others (as upstream, where
    // the route clears every claim but the core's).
    assert!(payload.get("iss").is_none());

    let resp = s
        .client
        .post(format!("{}/session-claims-error", s.base))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["claimValidationErrors"],
        json!([{ "id": "test-claim-failing", "reason": { "message": "testReason" } }])
    );
}

async fn helpers_static_files_and_cors(s: Server) {
    assert_eq!(s.text("/index.html").await, "<html>page</html>");
    assert_eq!(s.text("/getPackageVersion").await, "20.1.7");
    let resp = s
        .client
        .get(format!("{}/vendor/..%2Findex.html", s.base))
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status(), StatusCode::OK);
    let resp = s
        .client
        .get(format!("{}/testError?code=418", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 418);
    assert_eq!(resp.text().await.unwrap(), "test error message");

    let preflight = s
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/login", s.base))
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:8080"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );

    let jwks = s
        .client
        .get(format!("{}/auth/jwt/jwks.json", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.headers()["access-control-allow-origin"], "*");
    let body: Value = jwks.json().await.unwrap();
    assert!(!body["keys"].as_array().unwrap().is_empty());

    // An unknown app id is refused no matter what; a missing one is made up.
    let resp = s
        .post(
            "/test/setup/app",
            json!({ "appId": "a/b", "coreConfig": {} }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = s
        .post(
            "/test/setup/app",
            json!({ "coreConfig": { "access_token_validity": 0 } }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

async fn header_refresh_without_rid_is_attempted_not_called(s: Server) {
    s.setup(json!({ "access_token_validity": 60 }), false, false)
        .await;
    let login = s.post("/login", json!({ "userId": "u3" })).await;
    assert_eq!(login.status(), StatusCode::OK);
    let refresh_token = login.headers()["st-refresh-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let resp = s
        .client
        .post(format!("{}/auth/session/refresh", s.base))
        .header("authorization", format!("Bearer {refresh_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().contains_key("st-access-token"));
    assert_eq!(resp.text().await.unwrap(), "refresh failed");
    assert_eq!(s.text("/refreshCalledTime").await, "0");
    assert_eq!(s.text("/refreshAttemptedTime").await, "1");

    // The small helpers: header echo, both interceptors, rid checks, CORS
    // on a plain answer.
    let resp = s
        .client
        .get(format!("{}/testing", s.base))
        .header("testing", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["testing"], "abc");
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://localhost:8080"
    );
    assert_eq!(resp.text().await.unwrap(), "success");
    let resp = s
        .client
        .post(format!("{}/multipleInterceptors", s.base))
        .header("interceptorheader1", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "failure");
    let resp = s
        .client
        .get(format!("{}/check-rid-no-session", s.base))
        .header("rid", "anti-csrf")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "success");
    let resp = s
        .client
        .get(format!("{}/check-rid", s.base))
        .header("rid", "anti-csrf")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({ "message": "unauthorised" })
    );
    // /login-2.18 needs a user id and takes only an object as payload.
    let resp = s.post("/login-2.18", json!({})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = s
        .post("/login-2.18", json!({ "userId": "u", "payload": [1] }))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

/// supertokens-website's `accessToken` case "should be able to refresh a
/// session started w/ CDI 2.18", over HTTP: the session is made in the
/// core's v2 format, verifies as it is, and its refresh issues a v5 token
/// whose payload has the core's keys and the user's, and no `iss` (which
/// supertokens-node adds only to sessions it creates, as `/login` shows).
async fn cdi_2_18_session_verifies_and_refreshes_to_the_current_format(s: Server) {
    s.setup(json!({ "access_token_validity": 60 }), true, false)
        .await;

    let login = s
        .post(
            "/login-2.18",
            json!({ "userId": "u3", "payload": { "asdf": 1 } }),
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    assert!(login.headers().get("set-cookie").is_none());
    let h = login.headers();
    let access = h["st-access-token"].to_str().unwrap().to_owned();
    let refresh = h["st-refresh-token"].to_str().unwrap().to_owned();
    let front = decode_json(h["front-token"].to_str().unwrap());
    assert_eq!(front["uid"], "u3");
    assert_eq!(front["up"], json!({ "asdf": 1 }));
    assert!(front["ate"].as_u64().unwrap() > 0);

    // The core's v2 token: its fixed header, the payload under `userData`.
    let parts: Vec<&str> = access.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        decode_json(parts[0]),
        json!({ "alg": "RS256", "typ": "JWT", "version": "2" })
    );
    let v2 = decode_json(parts[1]);
    assert_eq!(v2["userId"], "u3");
    assert_eq!(v2["userData"], json!({ "asdf": 1 }));
    assert!(v2.get("sub").is_none());

    // It verifies as it is.
    let resp = s
        .client
        .get(format!("{}/", s.base))
        .header("authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "u3");

    // The refresh (header mode, as the SDK sends it) issues a v5 token.
    let resp = s
        .client
        .post(format!("{}/auth/session/refresh", s.base))
        .header("rid", "session")
        .header("st-auth-mode", "header")
        .header("authorization", format!("Bearer {refresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    let new_access = h["st-access-token"].to_str().unwrap().to_owned();
    assert_ne!(h["st-refresh-token"].to_str().unwrap(), refresh);
    let front = decode_json(h["front-token"].to_str().unwrap());
    let header = decode_json(new_access.split('.').next().unwrap());
    assert_eq!(header["version"], "5");
    assert_eq!(
        keys(&front["up"]),
        [
            "antiCsrfToken",
            "asdf",
            "exp",
            "iat",
            "parentRefreshTokenHash1",
            "refreshTokenHash1",
            "rsub",
            "sessionHandle",
            "sub",
            "tId"
        ]
    );
    assert_eq!(front["up"]["asdf"], 1);
    assert_eq!(front["up"]["sub"], "u3");
    assert_eq!(s.text("/refreshCalledTime").await, "1");

    let resp = s
        .client
        .get(format!("{}/", s.base))
        .header("authorization", format!("Bearer {new_access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "u3");

    // A session of `/login` has `iss` among its user claims.
    let login = s.post("/login", json!({ "userId": "u4" })).await;
    let front = decode_json(login.headers()["front-token"].to_str().unwrap());
    assert_eq!(front["up"]["iss"], "http://0.0.0.0:8080/auth");
}
