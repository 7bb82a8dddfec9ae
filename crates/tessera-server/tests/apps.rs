//! Apps over real HTTP: creation and removal as the SDKs' test harnesses do
//! it, isolation of sessions and keys, per-app `coreConfig` (validity, key
//! rotation, API keys), the core's answers for unknown apps and keys, test
//! mode, persistence across a restart, `POST /recipe/jwt`, and the bound
//! on app managers held at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{Options, TestServer, temp_sqlite_url};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Creates an app as supertokens-node's `createCoreApplication` does.
async fn create_app(server: &TestServer, app_id: &str, core_config: Value) -> Value {
    server
        .put(
            "/recipe/multitenancy/app/v2",
            &json!({"appId": app_id, "coreConfig": core_config}),
        )
        .await
        .ok_json()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_app_is_created_once_then_updated() {
    let server = TestServer::start().await;
    let first = create_app(&server, "shop", json!({})).await;
    assert_eq!(first, json!({"status": "OK", "createdNew": true}));
    let again = create_app(&server, "shop", json!({"access_token_validity": 5})).await;
    assert_eq!(again, json!({"status": "OK", "createdNew": false}));
    // App ids are normalised as the core does.
    let upper = create_app(&server, " SHOP ", json!({})).await;
    assert_eq!(upper["createdNew"], false);
    let listed = server
        .get("/recipe/multitenancy/app/list/v2", &[])
        .await
        .ok_json();
    let ids: Vec<&str> = listed["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["appId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["public", "shop"]);
}

#[tokio::test]
async fn an_unknown_app_gets_the_cores_400() {
    let server = TestServer::start().await;
    let reply = server
        .post("/appid-nowhere/recipe/session/verify", &json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.text.starts_with("AppId or tenantId not found => "),
        "{}",
        reply.text
    );
    let removed = server
        .post(
            "/recipe/multitenancy/app/remove",
            &json!({"appId": "nowhere"}),
        )
        .await
        .ok_json();
    assert_eq!(removed, json!({"status": "OK", "didExist": false}));
}

#[tokio::test]
async fn bad_app_ids_and_config_keys_are_refused_as_the_core_does() {
    let server = TestServer::start().await;
    let put = |body: Value| {
        let server = &server;
        async move { server.put("/recipe/multitenancy/app/v2", &body).await }
    };
    let unknown = put(json!({"appId": "a", "coreConfig": {"no_such_key": 1}})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.text.trim_end(),
        "Invalid core config: Invalid config key: no_such_key"
    );
    let bad_value = put(json!({"appId": "a", "coreConfig": {"access_token_validity": "x"}})).await;
    assert_eq!(bad_value.status, StatusCode::BAD_REQUEST);
    let short_key = put(json!({"appId": "a", "coreConfig": {"api_keys": "short"}})).await;
    assert_eq!(short_key.status, StatusCode::BAD_REQUEST);
    assert!(short_key.text.contains("too short"), "{}", short_key.text);
    for bad_id in ["", "appid-x", "a_b", "a/b"] {
        let reply = put(json!({"appId": bad_id})).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad_id:?}");
    }
    let public = put(json!({"appId": "public", "coreConfig": {"access_token_validity": 5}})).await;
    assert_eq!(public.status, StatusCode::BAD_REQUEST);
    assert_eq!(public.text.trim_end(), "Cannot modify base config");
    let removed_public = server
        .post(
            "/recipe/multitenancy/app/remove",
            &json!({"appId": "public"}),
        )
        .await;
    assert_eq!(removed_public.status, StatusCode::FORBIDDEN);
    // Nothing was stored by the refused calls.
    let missing = server
        .post("/appid-a/recipe/session/verify", &json!({}))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    // Only the public app manages apps.
    create_app(&server, "b", json!({})).await;
    let from_b = server
        .put(
            "/appid-b/recipe/multitenancy/app/v2",
            &json!({"appId": "c"}),
        )
        .await;
    assert_eq!(from_b.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_token_of_one_app_never_works_in_another() {
    let server = TestServer::start().await;
    create_app(&server, "a", json!({})).await;
    create_app(&server, "b", json!({})).await;
    let session = server
        .post(
            "/appid-a/public/recipe/session",
            &json!({"userId": "u1", "userDataInJWT": {}, "userDataInDatabase": {},
                    "enableAntiCsrf": false}),
        )
        .await
        .ok_json();
    let token = session["accessToken"]["token"].as_str().unwrap();
    let handle = session["session"]["handle"].as_str().unwrap();
    let refresh_token = session["refreshToken"]["token"].as_str().unwrap();
    let verify = json!({"accessToken": token, "doAntiCsrfCheck": false,
                        "enableAntiCsrf": false, "checkDatabase": true});
    let in_a = server
        .post("/appid-a/recipe/session/verify", &verify)
        .await
        .ok_json();
    assert_eq!(in_a["status"], "OK");
    for other in ["/appid-b", ""] {
        let there = server
            .post(&format!("{other}/recipe/session/verify"), &verify)
            .await
            .ok_json();
        assert_ne!(there["status"], "OK", "{other}: {there}");
        let refreshed = server
            .post(
                &format!("{other}/recipe/session/refresh"),
                &json!({"refreshToken": refresh_token, "enableAntiCsrf": false,
                        "useDynamicSigningKey": true}),
            )
            .await
            .ok_json();
        assert_eq!(refreshed["status"], "UNAUTHORISED", "{other}: {refreshed}");
        let info = server
            .get(
                &format!("{other}/recipe/session"),
                &[("sessionHandle", handle)],
            )
            .await
            .ok_json();
        assert_eq!(info["status"], "UNAUTHORISED", "{other}");
        let listed = server
            .get(&format!("{other}/recipe/session/user"), &[("userId", "u1")])
            .await
            .ok_json();
        assert_eq!(listed["sessionHandles"], json!([]), "{other}");
        let removed = server
            .post(
                &format!("{other}/recipe/session/remove"),
                &json!({"userId": "u1"}),
            )
            .await
            .ok_json();
        assert_eq!(removed["sessionHandlesRevoked"], json!([]), "{other}");
    }
    // Each app publishes its own keys.
    let jwks_a = server
        .get_bare("/appid-a/.well-known/jwks.json")
        .await
        .json();
    let jwks_b = server
        .get_bare("/appid-b/.well-known/jwks.json")
        .await
        .json();
    let kid = header_of(token)["kid"].as_str().unwrap().to_owned();
    assert!(kids(&jwks_a).contains(&kid));
    assert!(!kids(&jwks_b).contains(&kid));
    // Still alive in its own app.
    let again = server
        .post("/appid-a/recipe/session/verify", &verify)
        .await
        .ok_json();
    assert_eq!(again["status"], "OK");
}

#[tokio::test]
async fn an_apps_access_token_validity_is_used() {
    let server = TestServer::start().await;
    create_app(&server, "short", json!({"access_token_validity": "2"})).await;
    let session = server
        .post(
            "/appid-short/public/recipe/session",
            &json!({"userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
                    "enableAntiCsrf": false}),
        )
        .await
        .ok_json();
    let claims = claims_of(session["accessToken"]["token"].as_str().unwrap());
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!((1..=2).contains(&lifetime), "{claims}");
}

#[tokio::test]
async fn an_app_with_api_keys_requires_its_own() {
    let server = TestServer::start().await;
    let key = "shfo3h98308hOIHoei309saiho";
    create_app(&server, "keyed", json!({"api_keys": key})).await;
    let path = server.url("/appid-keyed/recipe/session/user");
    let query = [("userId", "u")];
    let without = server.send(server.client.get(&path).query(&query)).await;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert_eq!(without.text, "Invalid API key\n");
    let wrong = server
        .send(
            server
                .client
                .get(&path)
                .query(&query)
                .header("api-key", common::API_KEY),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = server
        .send(
            server
                .client
                .get(&path)
                .query(&query)
                .header("api-key", key),
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text);
    // `api_keys: null` removes them (the node harness does this before
    // removing an app).
    create_app(&server, "keyed", json!({"api_keys": null})).await;
    let open = server.send(server.client.get(&path).query(&query)).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text);
}

#[tokio::test]
async fn short_key_rotation_needs_test_mode() {
    let server = TestServer::start().await;
    let interval = json!({"access_token_dynamic_signing_key_update_interval": "0.001"});
    let refused = server
        .put(
            "/recipe/multitenancy/app/v2",
            &json!({"appId": "fast", "coreConfig": interval}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text
            .starts_with("Invalid core config: 'access_token_dynamic_signing_key_update_interval'")
    );

    let server = TestServer::with(Options {
        test_mode: true,
        ..Options::default()
    })
    .await;
    create_app(&server, "fast", interval).await;
    let create = || {
        let server = &server;
        async move {
            let s = server
                .post(
                    "/appid-fast/public/recipe/session",
                    &json!({"userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
                            "enableAntiCsrf": false, "useDynamicSigningKey": true}),
                )
                .await
                .ok_json();
            header_of(s["accessToken"]["token"].as_str().unwrap())["kid"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = create().await;
    server.clock.advance(Duration::from_secs(4));
    let second = create().await;
    assert_ne!(first, second);
    let published = kids(
        &server
            .get_bare("/appid-fast/.well-known/jwks.json")
            .await
            .json(),
    );
    assert!(published.contains(&first) && published.contains(&second));
    // Listing the keys publishes the next one when it is due, with nothing
    // signed in between (supertokens-python's JWKS tests poll like this).
    server.clock.advance(Duration::from_secs(4));
    let later = kids(
        &server
            .get_bare("/appid-fast/.well-known/jwks.json")
            .await
            .json(),
    );
    assert!(
        later.iter().any(|k| !published.contains(k)),
        "{published:?} then {later:?}"
    );
}

#[tokio::test]
async fn removing_an_app_deletes_its_sessions_and_keys() {
    let server = TestServer::start().await;
    create_app(&server, "gone", json!({})).await;
    let session = server
        .post(
            "/appid-gone/public/recipe/session",
            &json!({"userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
                    "enableAntiCsrf": false}),
        )
        .await
        .ok_json();
    let removed = server
        .post("/recipe/multitenancy/app/remove", &json!({"appId": "gone"}))
        .await
        .ok_json();
    assert_eq!(removed, json!({"status": "OK", "didExist": true}));
    let after = server
        .post("/appid-gone/recipe/session/verify", &json!({}))
        .await;
    assert_eq!(after.status, StatusCode::BAD_REQUEST);
    // Made again, the app starts empty, with new keys.
    create_app(&server, "gone", json!({})).await;
    let verify = server
        .post(
            "/appid-gone/recipe/session/verify",
            &json!({"accessToken": session["accessToken"]["token"], "doAntiCsrfCheck": false,
                    "enableAntiCsrf": false, "checkDatabase": true}),
        )
        .await
        .ok_json();
    assert_ne!(verify["status"], "OK", "{verify}");
}

#[tokio::test]
async fn apps_and_their_sessions_outlive_a_restart() {
    let (url, dir) = temp_sqlite_url("apps-restart");
    let options = Options {
        database_url: Some(url),
        ..Options::default()
    };
    let server = TestServer::with(options.clone()).await;
    create_app(&server, "kept", json!({"access_token_validity": 60})).await;
    let session = server
        .post(
            "/appid-kept/public/recipe/session",
            &json!({"userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
                    "enableAntiCsrf": false}),
        )
        .await
        .ok_json();
    server.state.manager().close().await;
    server.stop().await.unwrap();

    let server = TestServer::with(options).await;
    let verify = server
        .post(
            "/appid-kept/recipe/session/verify",
            &json!({"accessToken": session["accessToken"]["token"], "doAntiCsrfCheck": false,
                    "enableAntiCsrf": false, "checkDatabase": true}),
        )
        .await
        .ok_json();
    assert_eq!(verify["status"], "OK", "{verify}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn recipe_jwt_signs_with_the_apps_static_or_dynamic_key() {
    let server = TestServer::start().await;
    create_app(&server, "jwt", json!({})).await;
    let sign = |use_static: bool| {
        let server = &server;
        async move {
            server
                .post(
                    "/appid-jwt/recipe/jwt",
                    &json!({"algorithm": "RS256", "jwksDomain": "https://api.example.com",
                            "payload": {"sub": "svc", "n": 1}, "validity": 120,
                            "useStaticSigningKey": use_static}),
                )
                .await
                .ok_json()
        }
    };
    let with_static = sign(true).await;
    let with_dynamic = sign(false).await;
    for (reply, prefix) in [(&with_static, "s-"), (&with_dynamic, "d-")] {
        assert_eq!(reply["status"], "OK");
        let jwt = reply["jwt"].as_str().unwrap();
        let header = header_of(jwt);
        assert_eq!(header["alg"], "RS256");
        let kid = header["kid"].as_str().unwrap();
        assert!(kid.starts_with(prefix), "{header}");
        let claims = claims_of(jwt);
        assert_eq!(claims["iss"], "https://api.example.com");
        assert_eq!(claims["sub"], "svc");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            120
        );
        let app_keys = kids(
            &server
                .get_bare("/appid-jwt/.well-known/jwks.json")
                .await
                .json(),
        );
        assert!(app_keys.iter().any(|k| k == kid));
        let public_keys = kids(&server.get_bare("/.well-known/jwks.json").await.json());
        assert!(!public_keys.iter().any(|k| k == kid));
        let sdk_keys = server
            .get("/appid-jwt/recipe/jwt/jwks", &[])
            .await
            .ok_json();
        assert!(kids(&sdk_keys).iter().any(|k| k == kid));
    }
    let other_alg = server
        .post(
            "/appid-jwt/recipe/jwt",
            &json!({"algorithm": "ES256", "jwksDomain": "d", "payload": {}, "validity": 1}),
        )
        .await
        .ok_json();
    assert_eq!(other_alg["status"], "UNSUPPORTED_ALGORITHM_ERROR");
    let zero = server
        .post(
            "/appid-jwt/recipe/jwt",
            &json!({"algorithm": "RS256", "jwksDomain": "d", "payload": {}, "validity": 0}),
        )
        .await;
    assert_eq!(zero.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn more_apps_than_managers_held_still_all_work() {
    let server = TestServer::start().await;
    let count = tessera_server::serve::MAX_LOADED_APPS + 3;
    let mut tokens = Vec::new();
    for i in 0..count {
        let app = format!("many-{i}");
        create_app(&server, &app, json!({})).await;
        let session = server
            .post(
                &format!("/appid-{app}/public/recipe/session"),
                &json!({"userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
                        "enableAntiCsrf": false}),
            )
            .await
            .ok_json();
        tokens.push((app, session["accessToken"]["token"].clone()));
    }
    // The first apps' managers were closed on the way; they come back with
    // their keys and sessions.
    for (app, token) in tokens.iter().take(3) {
        let verify = server
            .post(
                &format!("/appid-{app}/recipe/session/verify"),
                &json!({"accessToken": token, "doAntiCsrfCheck": false,
                        "enableAntiCsrf": false, "checkDatabase": true}),
            )
            .await
            .ok_json();
        assert_eq!(verify["status"], "OK", "{app}: {verify}");
    }
}

#[tokio::test]
async fn admin_commands_act_on_the_app_named_by_app() {
    let (url, dir) = temp_sqlite_url("apps-admin");
    let server = TestServer::with(Options {
        database_url: Some(url.clone()),
        ..Options::default()
    })
    .await;
    create_app(&server, "shop", json!({})).await;
    let session = server
        .post(
            "/appid-shop/public/recipe/session",
            &json!({"userId": "alice", "userDataInJWT": {}, "userDataInDatabase": {},
                    "enableAntiCsrf": false}),
        )
        .await
        .ok_json();
    let handle = session["session"]["handle"].as_str().unwrap().to_owned();
    let admin = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["--database", &url])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, public) = admin(&["sessions", "list", "alice", "--json"]);
    assert!(ok);
    assert!(!public.contains(&handle), "{public}");
    let (ok, shop) = admin(&["--app", "shop", "sessions", "list", "alice", "--json"]);
    assert!(ok);
    assert!(shop.contains(&handle), "{shop}");
    let (ok, _) = admin(&["--app", "nowhere", "sessions", "list", "alice"]);
    assert!(!ok);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
