//! Every CDI endpoint over real HTTP, with the bodies supertokens-python
//! 0.31.4 sends, and the answers it expects.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Options, TestServer, counter};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn token_info_is_ms(info: &Value) {
    let expiry = info["expiry"].as_u64().expect("expiry");
    let created = info["createdTime"].as_u64().expect("createdTime");
    assert!(info["token"].as_str().is_some_and(|t| !t.is_empty()));
    // Milliseconds since the epoch: after 2020 in ms, not in seconds.
    assert!(
        created > 1_577_836_800_000,
        "createdTime {created} is not in ms"
    );
    assert!(expiry > created);
}

fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

#[tokio::test]
async fn api_version_lists_5_4() {
    let server = TestServer::start().await;
    let reply = server
        .get_bare("/apiversion?apiDomain=x&websiteDomain=y")
        .await;
    let versions = reply.ok_json()["versions"].clone();
    assert!(versions.as_array().unwrap().contains(&json!("5.4")));
}

#[tokio::test]
async fn hello_answers_on_every_form() {
    let server = TestServer::start().await;
    let app = server
        .put("/recipe/multitenancy/app/v2", &json!({"appId": "shop"}))
        .await;
    assert_eq!(app.ok_json()["status"], "OK");
    for path in [
        "/",
        "/hello",
        "/public/hello",
        "/appid-shop/hello",
        "/hello/",
    ] {
        let reply = server.get_bare(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.text, "Hello\n", "{path}");
    }
    let post = server.send(server.client.post(server.url("/hello"))).await;
    assert_eq!(post.text, "Hello\n");
}

#[tokio::test]
async fn create_returns_session_and_tokens_in_ms() {
    let server = TestServer::start().await;
    let created = server
        .create_with(
            "public",
            "user-1",
            json!({"iss": "http://api.test/auth", "role": "admin"}),
            json!({"cart": [1]}),
            false,
        )
        .await;
    let session = &created["session"];
    assert_eq!(session["userId"], "user-1");
    assert_eq!(session["recipeUserId"], "user-1");
    assert_eq!(session["tenantId"], "public");
    assert_eq!(
        session["userDataInJWT"],
        json!({"iss": "http://api.test/auth", "role": "admin"})
    );
    assert!(session["handle"].as_str().is_some_and(|h| !h.is_empty()));
    token_info_is_ms(&created["accessToken"]);
    token_info_is_ms(&created["refreshToken"]);
    assert!(created.get("antiCsrfToken").is_none());

    // The access token is a v5 token the SDKs verify locally.
    let token = created["accessToken"]["token"].as_str().unwrap();
    let header = jwt_part(token, 0);
    assert_eq!(header["version"], "5");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].as_str().unwrap().starts_with("d-"));
    let payload = jwt_part(token, 1);
    assert_eq!(payload["sub"], "user-1");
    assert_eq!(payload["rsub"], "user-1");
    assert_eq!(payload["tId"], "public");
    assert_eq!(payload["role"], "admin");
    assert_eq!(payload["parentRefreshTokenHash1"], Value::Null);
    assert_eq!(
        created["accessToken"]["expiry"].as_u64().unwrap(),
        payload["exp"].as_u64().unwrap() * 1000
    );
}

#[tokio::test]
async fn create_in_a_tenant_and_under_an_app_id_prefix() {
    let server = TestServer::start().await;
    let created = server.create("acme", "user-1").await;
    assert_eq!(created["session"]["tenantId"], "acme");
    let body = json!({
        "userId": "user-2",
        "userDataInJWT": {},
        "userDataInDatabase": {},
        "useDynamicSigningKey": true,
        "enableAntiCsrf": false,
    });
    let app = server
        .put("/recipe/multitenancy/app/v2", &json!({"appId": "shop"}))
        .await;
    assert_eq!(app.ok_json()["status"], "OK");
    let reply = server
        .post("/appid-shop/public/recipe/session", &body)
        .await;
    assert_eq!(reply.ok_json()["session"]["userId"], "user-2");
    // The bare path is the public tenant.
    let reply = server.post("/recipe/session", &body).await;
    assert_eq!(reply.ok_json()["session"]["tenantId"], "public");
}

#[tokio::test]
async fn create_with_a_static_key_signs_with_an_s_kid() {
    let server = TestServer::start().await;
    let body = json!({
        "userId": "user-1",
        "userDataInJWT": {},
        "userDataInDatabase": {},
        "useDynamicSigningKey": false,
        "enableAntiCsrf": false,
    });
    let created = server.post("/public/recipe/session", &body).await.ok_json();
    let token = created["accessToken"]["token"].as_str().unwrap();
    assert!(
        !jwt_part(token, 0)["kid"]
            .as_str()
            .unwrap()
            .starts_with("d-")
    );
}

#[tokio::test]
async fn verify_answers_ok_unauthorised_and_try_refresh() {
    let server = TestServer::start().await;
    let created = server.create("public", "user-1").await;
    let token = created["accessToken"]["token"].as_str().unwrap();
    let handle = created["session"]["handle"].as_str().unwrap();

    let ok = server.verify(token, false).await;
    assert_eq!(ok["status"], "OK");
    assert_eq!(ok["session"]["handle"], handle);
    assert_eq!(ok["session"]["userId"], "user-1");
    assert_eq!(ok["session"]["recipeUserId"], "user-1");
    assert_eq!(ok["session"]["tenantId"], "public");
    assert!(ok.get("accessToken").is_none());

    let garbage = server.verify("not.a.token", false).await;
    assert_eq!(garbage["status"], "UNAUTHORISED");
    assert!(garbage["message"].is_string());

    // Revoked: the token still verifies alone, not with checkDatabase.
    let removed = server
        .post(
            "/recipe/session/remove",
            &json!({"sessionHandles": [handle]}),
        )
        .await
        .ok_json();
    assert_eq!(removed["sessionHandlesRevoked"], json!([handle]));
    assert_eq!(server.verify(token, false).await["status"], "OK");
    let checked = server.verify(token, true).await;
    assert_eq!(checked["status"], "UNAUTHORISED");
    assert_eq!(
        checked["message"],
        "Either the session has ended or has been blacklisted"
    );

    server.clock.advance(Duration::from_secs(3700));
    let expired = server.verify(token, false).await;
    assert_eq!(expired["status"], "TRY_REFRESH_TOKEN");
    assert_eq!(expired["message"], "Access token expired");
}

#[tokio::test]
async fn anti_csrf_tokens_are_issued_and_checked() {
    let server = TestServer::start().await;
    let created = server
        .create_with("public", "user-1", json!({}), json!({}), true)
        .await;
    let anti_csrf = created["antiCsrfToken"].as_str().expect("antiCsrfToken");
    let token = created["accessToken"]["token"].as_str().unwrap();
    let verify = |csrf: Option<&str>| {
        let mut body = json!({
            "accessToken": token,
            "doAntiCsrfCheck": true,
            "enableAntiCsrf": true,
            "checkDatabase": false,
        });
        if let Some(c) = csrf {
            body["antiCsrfToken"] = json!(c);
        }
        body
    };
    let ok = server
        .post("/recipe/session/verify", &verify(Some(anti_csrf)))
        .await;
    assert_eq!(ok.ok_json()["status"], "OK");
    let bad = server
        .post("/recipe/session/verify", &verify(Some("wrong")))
        .await;
    assert_eq!(bad.ok_json()["status"], "TRY_REFRESH_TOKEN");
    let missing = server.post("/recipe/session/verify", &verify(None)).await;
    assert_eq!(missing.ok_json()["status"], "TRY_REFRESH_TOKEN");

    let refresh_token = created["refreshToken"]["token"].as_str().unwrap();
    let refresh = |csrf: Option<&str>| {
        let mut body = json!({
            "refreshToken": refresh_token,
            "enableAntiCsrf": true,
            "useDynamicSigningKey": true,
        });
        if let Some(c) = csrf {
            body["antiCsrfToken"] = json!(c);
        }
        body
    };
    let refused = server.post("/recipe/session/refresh", &refresh(None)).await;
    let refused = refused.ok_json();
    assert_eq!(refused["status"], "UNAUTHORISED");
    assert_eq!(
        refused["message"],
        "Anti CSRF token missing, or not matching"
    );
    let ok = server
        .post("/recipe/session/refresh", &refresh(Some(anti_csrf)))
        .await
        .ok_json();
    assert_eq!(ok["status"], "OK");
    assert!(ok["antiCsrfToken"].is_string());
}

/// CDI 5.6's refresh model (tessera's own); 5.4's child tokens are in
/// `tests/cdi_versions.rs`.
#[tokio::test]
async fn refresh_rotates_the_refresh_token() {
    let server = TestServer::start().await;
    let created = server.create("acme", "user-1").await;
    let first = created["refreshToken"]["token"].as_str().unwrap();
    let refreshed = server.refresh_as("5.6", first).await;
    assert_eq!(refreshed["status"], "OK");
    assert_eq!(refreshed["session"], {
        let mut s = created["session"].clone();
        s["userDataInJWT"] = refreshed["session"]["userDataInJWT"].clone();
        s
    });
    assert_eq!(refreshed["session"]["tenantId"], "acme");
    token_info_is_ms(&refreshed["accessToken"]);
    token_info_is_ms(&refreshed["refreshToken"]);
    let second = refreshed["refreshToken"]["token"].as_str().unwrap();
    assert_ne!(first, second, "the refresh token rotates");
    let token = refreshed["accessToken"]["token"].as_str().unwrap();
    assert_eq!(jwt_part(token, 1)["tId"], "acme");
    assert_eq!(server.verify_as("5.6", token, true).await["status"], "OK");
    // Inside the grace window the previous token still works.
    assert_eq!(server.refresh_as("5.6", first).await["status"], "OK");
}

#[tokio::test]
async fn refresh_with_garbage_is_unauthorised() {
    let server = TestServer::start().await;
    let reply = server.refresh("garbage").await;
    assert_eq!(reply["status"], "UNAUTHORISED");
    assert!(reply["message"].is_string());
}

/// CDI 5.6's rule; 5.4's theft (the parent after promotion) is in
/// `tests/cdi_versions.rs`.
#[tokio::test]
async fn refresh_with_superseded_token_after_grace_is_theft() {
    let server = TestServer::with(Options {
        refresh_grace_period: Duration::ZERO,
        ..Options::default()
    })
    .await;
    let created = server.create("public", "user-1").await;
    let handle = created["session"]["handle"].as_str().unwrap();
    let first = created["refreshToken"]["token"].as_str().unwrap();
    let refreshed = server.refresh_as("5.6", first).await;
    let second = refreshed["refreshToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    server.clock.advance(Duration::from_millis(10));

    let theft = server.refresh_as("5.6", first).await;
    assert_eq!(
        theft,
        json!({
            "status": "TOKEN_THEFT_DETECTED",
            "session": {"handle": handle, "userId": "user-1", "recipeUserId": "user-1"},
        })
    );
    // The session is revoked: the current token is dead too.
    assert_eq!(server.refresh(&second).await["status"], "UNAUTHORISED");
    let info = server
        .get("/recipe/session", &[("sessionHandle", handle)])
        .await
        .ok_json();
    assert_eq!(info["status"], "UNAUTHORISED");
    let metrics = server.metrics().await;
    assert_eq!(counter(&metrics, "tessera_token_theft_detected_total "), 1);
    assert_eq!(
        counter(
            &metrics,
            "tessera_sessions_revoked_total{reason=\"theft\"} "
        ),
        1
    );
}

#[tokio::test]
async fn session_information_data_and_jwt_payload() {
    let server = TestServer::start().await;
    let created = server
        .create_with(
            "acme",
            "user-1",
            json!({"a": 1}),
            json!({"cart": []}),
            false,
        )
        .await;
    let handle = created["session"]["handle"].as_str().unwrap();

    let info = server
        .get("/recipe/session", &[("sessionHandle", handle)])
        .await
        .ok_json();
    assert_eq!(info["status"], "OK");
    assert_eq!(info["sessionHandle"], handle);
    assert_eq!(info["userId"], "user-1");
    assert_eq!(info["recipeUserId"], "user-1");
    assert_eq!(info["tenantId"], "acme");
    assert_eq!(info["userDataInDatabase"], json!({"cart": []}));
    assert_eq!(info["userDataInJWT"], json!({"a": 1}));
    assert!(info["timeCreated"].as_u64().unwrap() > 1_577_836_800_000);
    assert!(info["expiry"].as_u64().unwrap() > info["timeCreated"].as_u64().unwrap());

    let data = server
        .put(
            "/recipe/session/data",
            &json!({"sessionHandle": handle, "userDataInDatabase": {"cart": [7]}}),
        )
        .await;
    assert_eq!(data.ok_json(), json!({"status": "OK"}));
    let jwt = server
        .put(
            "/recipe/jwt/data",
            &json!({"sessionHandle": handle, "userDataInJWT": {"b": 2}}),
        )
        .await;
    assert_eq!(jwt.ok_json(), json!({"status": "OK"}));
    let info = server
        .get("/recipe/session", &[("sessionHandle", handle)])
        .await
        .ok_json();
    assert_eq!(info["userDataInDatabase"], json!({"cart": [7]}));
    assert_eq!(info["userDataInJWT"], json!({"b": 2}));
    // The stored payload goes out with the next access token.
    let refreshed = server
        .refresh(created["refreshToken"]["token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed["session"]["userDataInJWT"], json!({"b": 2}));

    for (path, body) in [
        (
            "/recipe/session/data",
            json!({"sessionHandle": "nope", "userDataInDatabase": {}}),
        ),
        (
            "/recipe/jwt/data",
            json!({"sessionHandle": "nope", "userDataInJWT": {}}),
        ),
    ] {
        let gone = server.put(path, &body).await.ok_json();
        assert_eq!(gone["status"], "UNAUTHORISED", "{path}");
    }
    let unknown = server
        .get("/recipe/session", &[("sessionHandle", "nope")])
        .await
        .ok_json();
    assert_eq!(
        unknown,
        json!({"status": "UNAUTHORISED", "message": "Session does not exist."})
    );
}

#[tokio::test]
async fn regenerate_issues_a_token_with_the_new_payload_and_same_expiry() {
    let server = TestServer::start().await;
    let created = server
        .create_with("public", "user-1", json!({"a": 1}), json!({}), false)
        .await;
    let token = created["accessToken"]["token"].as_str().unwrap();
    server.clock.advance(Duration::from_secs(5));
    let regenerated = server
        .post(
            "/recipe/session/regenerate",
            &json!({"accessToken": token, "userDataInJWT": {"a": 1, "b": true}}),
        )
        .await;
    assert_eq!(
        regenerated.headers.get("cache-control").unwrap(),
        "no-store"
    );
    let regenerated = regenerated.ok_json();
    assert_eq!(regenerated["status"], "OK");
    assert_eq!(
        regenerated["session"]["userDataInJWT"],
        json!({"a": 1, "b": true})
    );
    assert_eq!(
        regenerated["session"]["handle"],
        created["session"]["handle"]
    );
    let new = &regenerated["accessToken"];
    assert_eq!(new["expiry"], created["accessToken"]["expiry"]);
    assert_eq!(jwt_part(new["token"].as_str().unwrap(), 1)["b"], true);

    // An expired token: the payload is stored, no new token.
    server.clock.advance(Duration::from_secs(3700));
    let late = server
        .post(
            "/recipe/session/regenerate",
            &json!({"accessToken": token, "userDataInJWT": {"c": 3}}),
        )
        .await
        .ok_json();
    assert_eq!(late["status"], "OK");
    assert!(late.get("accessToken").is_none());
    assert_eq!(late["session"]["userDataInJWT"], json!({"c": 3}));

    let garbage = server
        .post(
            "/recipe/session/regenerate",
            &json!({"accessToken": "x.y.z", "userDataInJWT": {}}),
        )
        .await
        .ok_json();
    assert_eq!(garbage["status"], "UNAUTHORISED");
}

#[tokio::test]
async fn regenerate_for_a_revoked_session_is_unauthorised() {
    let server = TestServer::start().await;
    let created = server.create("public", "user-1").await;
    let token = created["accessToken"]["token"].as_str().unwrap();
    server
        .post(
            "/recipe/session/remove",
            &json!({"sessionHandles": [created["session"]["handle"]]}),
        )
        .await
        .ok_json();
    let reply = server
        .post(
            "/recipe/session/regenerate",
            &json!({"accessToken": token, "userDataInJWT": {}}),
        )
        .await
        .ok_json();
    assert_eq!(
        reply,
        json!({"status": "UNAUTHORISED", "message": "Session does not exist."})
    );
}

#[tokio::test]
async fn sessions_of_a_user_are_listed_and_revoked_by_tenant_or_across() {
    let server = TestServer::start().await;
    let a = server.create("public", "user-1").await;
    let b = server.create("acme", "user-1").await;
    let c = server.create("acme", "user-1").await;
    server.create("public", "user-2").await;
    let handle = |v: &Value| v["session"]["handle"].as_str().unwrap().to_owned();
    let sorted = |v: &Value| {
        let mut list: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect();
        list.sort();
        list
    };

    // As the SDK asks: across all tenants on the bare path ...
    let all = server
        .get(
            "/recipe/session/user",
            &[
                ("userId", "user-1"),
                ("fetchAcrossAllTenants", "true"),
                ("fetchSessionsForAllLinkedAccounts", "true"),
            ],
        )
        .await
        .ok_json();
    let mut expected = vec![handle(&a), handle(&b), handle(&c)];
    expected.sort();
    assert_eq!(sorted(&all["sessionHandles"]), expected);
    // ... or one tenant on the tenant path.
    let acme = server
        .get(
            "/acme/recipe/session/user",
            &[
                ("userId", "user-1"),
                ("fetchAcrossAllTenants", "false"),
                ("fetchSessionsForAllLinkedAccounts", "true"),
            ],
        )
        .await
        .ok_json();
    let mut expected_acme = vec![handle(&b), handle(&c)];
    expected_acme.sort();
    assert_eq!(sorted(&acme["sessionHandles"]), expected_acme);

    // Revoke in one tenant only.
    let revoked = server
        .post(
            "/acme/recipe/session/remove",
            &json!({
                "userId": "user-1",
                "revokeAcrossAllTenants": false,
                "revokeSessionsForLinkedAccounts": true,
            }),
        )
        .await
        .ok_json();
    assert_eq!(sorted(&revoked["sessionHandlesRevoked"]), expected_acme);
    // Revoke across all tenants: what is left.
    let revoked = server
        .post(
            "/recipe/session/remove",
            &json!({
                "userId": "user-1",
                "revokeAcrossAllTenants": true,
                "revokeSessionsForLinkedAccounts": true,
            }),
        )
        .await
        .ok_json();
    assert_eq!(revoked["sessionHandlesRevoked"], json!([handle(&a)]));
    let none = server
        .get("/recipe/session/user", &[("userId", "user-1")])
        .await
        .ok_json();
    assert_eq!(none["sessionHandles"], json!([]));
    let other = server
        .get("/public/recipe/session/user", &[("userId", "user-2")])
        .await
        .ok_json();
    assert_eq!(other["sessionHandles"].as_array().unwrap().len(), 1);
    let metrics = server.metrics().await;
    assert_eq!(
        counter(
            &metrics,
            "tessera_sessions_revoked_total{reason=\"request\"} "
        ),
        3
    );
    assert_eq!(counter(&metrics, "tessera_sessions_created_total "), 4);
}

#[tokio::test]
async fn remove_by_handles_reports_what_existed() {
    let server = TestServer::start().await;
    let a = server.create("public", "user-1").await;
    let h = a["session"]["handle"].as_str().unwrap();
    let reply = server
        .post(
            "/recipe/session/remove",
            &json!({"sessionHandles": [h, "unknown"]}),
        )
        .await
        .ok_json();
    assert_eq!(reply, json!({"status": "OK", "sessionHandlesRevoked": [h]}));
}

#[tokio::test]
async fn user_lookup_is_unknown_user() {
    let server = TestServer::start().await;
    let reply = server.get("/user/id", &[("userId", "user-1")]).await;
    assert_eq!(reply.ok_json(), json!({"status": "UNKNOWN_USER_ID_ERROR"}));
    let missing = server.get("/user/id", &[]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.text,
        "Field name 'userId' is missing in GET request\n"
    );
}

#[tokio::test]
async fn jwks_lists_rsa_keys_with_max_age_and_needs_no_headers() {
    let server = TestServer::with(Options {
        api_keys: vec![common::API_KEY.to_owned()],
        ..Options::default()
    })
    .await;
    let created = server.create("public", "user-1").await;
    let kid = jwt_part(created["accessToken"]["token"].as_str().unwrap(), 0)["kid"].clone();
    for path in [
        "/.well-known/jwks.json",
        "/appid-public/.well-known/jwks.json",
    ] {
        let reply = server.get_bare(path).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.headers.get("cache-control").unwrap(),
            "max-age=60, must-revalidate"
        );
        let jwks = reply.json();
        let keys = jwks["keys"].as_array().unwrap();
        assert!(!keys.is_empty());
        for key in keys {
            assert_eq!(key["kty"], "RSA");
            assert_eq!(key["alg"], "RS256");
            assert_eq!(key["use"], "sig");
            assert_eq!(key["e"], "AQAB");
            assert!(key["n"].as_str().unwrap().len() > 300);
            assert!(key["kid"].is_string());
        }
        assert!(
            keys.iter().any(|k| k["kid"] == kid),
            "signing kid {kid} published"
        );
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let server = TestServer::start().await;
    for path in [
        "/nope",
        "/recipe/nope",
        "/recipe/session/verify/extra",
        "/recipe/jwt/nope",
    ] {
        let reply = server.get(path, &[]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.text, "Not found\n");
        assert!(
            reply
                .headers
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/")
        );
    }
    let reply = server.get("/recipe/session/verify", &[]).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.text, "Method not supported\n");
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("endpoint=\"unmatched\",status=\"404\"} 4"),
        "{metrics}"
    );
}

#[tokio::test]
async fn malformed_json_missing_fields_and_wrong_types_are_400() {
    let server = TestServer::start().await;
    let created = server.create("public", "user-1").await;
    let token = created["accessToken"]["token"].as_str().unwrap();
    let handle = created["session"]["handle"].as_str().unwrap();
    let create_ok = json!({
        "userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
        "useDynamicSigningKey": true, "enableAntiCsrf": false,
    });
    let verify_ok = json!({
        "accessToken": token, "doAntiCsrfCheck": false,
        "enableAntiCsrf": false, "checkDatabase": false,
    });
    let refresh_ok = json!({
        "refreshToken": "x", "enableAntiCsrf": false, "useDynamicSigningKey": true,
    });
    // (method, path, valid body, field to break)
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "POST",
            "/public/recipe/session",
            create_ok.clone(),
            "userId",
        ),
        (
            "POST",
            "/public/recipe/session",
            create_ok.clone(),
            "enableAntiCsrf",
        ),
        (
            "POST",
            "/public/recipe/session",
            create_ok.clone(),
            "userDataInJWT",
        ),
        (
            "POST",
            "/public/recipe/session",
            create_ok,
            "userDataInDatabase",
        ),
        (
            "POST",
            "/recipe/session/verify",
            verify_ok.clone(),
            "accessToken",
        ),
        (
            "POST",
            "/recipe/session/verify",
            verify_ok.clone(),
            "doAntiCsrfCheck",
        ),
        (
            "POST",
            "/recipe/session/verify",
            verify_ok.clone(),
            "enableAntiCsrf",
        ),
        ("POST", "/recipe/session/verify", verify_ok, "checkDatabase"),
        (
            "POST",
            "/recipe/session/refresh",
            refresh_ok.clone(),
            "refreshToken",
        ),
        (
            "POST",
            "/recipe/session/refresh",
            refresh_ok.clone(),
            "enableAntiCsrf",
        ),
        (
            "POST",
            "/recipe/session/refresh",
            refresh_ok,
            "useDynamicSigningKey",
        ),
        (
            "POST",
            "/recipe/session/regenerate",
            json!({"accessToken": token, "userDataInJWT": {}}),
            "userDataInJWT",
        ),
        (
            "PUT",
            "/recipe/session/data",
            json!({"sessionHandle": handle, "userDataInDatabase": {}}),
            "userDataInDatabase",
        ),
        (
            "PUT",
            "/recipe/jwt/data",
            json!({"sessionHandle": handle, "userDataInJWT": {}}),
            "sessionHandle",
        ),
    ];
    for (method, path, valid, field) in cases {
        let send = |body: String| {
            let server = &server;
            async move {
                if method == "PUT" {
                    server.put_raw(path, &body).await
                } else {
                    server.post_raw(path, &body).await
                }
            }
        };
        let expected = format!("Field name '{field}' is invalid in JSON input\n");
        let mut missing = valid.clone();
        missing.as_object_mut().unwrap().remove(field);
        let reply = send(missing.to_string()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path} without {field}"
        );
        assert_eq!(reply.text, expected, "{path} without {field}");

        let mut wrong = valid.clone();
        wrong[field] = match &valid[field] {
            Value::String(_) => json!(42),
            Value::Bool(b) => json!(b.to_string()),
            _ => json!("not an object"),
        };
        let reply = send(wrong.to_string()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path} with a mistyped {field}"
        );
        assert_eq!(reply.text, expected, "{path} with a mistyped {field}");

        for broken in ["{", "", "[1]", "null", "{\"userId\": }"] {
            let reply = send(broken.to_owned()).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{path} with {broken:?}"
            );
            assert_eq!(reply.text, "Invalid Json Input\n", "{path} with {broken:?}");
        }
    }

    let missing = server.get("/recipe/session", &[]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.text,
        "Field name 'sessionHandle' is missing in GET request\n"
    );
    let missing = server.get("/public/recipe/session/user", &[]).await;
    assert_eq!(
        missing.text,
        "Field name 'userId' is missing in GET request\n"
    );

    for (body, message) in [
        (
            json!({}),
            "Invalid JSON input - use one of userId or sessionHandles array",
        ),
        (
            json!({"userId": "u", "sessionHandles": []}),
            "Invalid JSON input - use one of userId or sessionHandles array",
        ),
        (
            json!({"sessionHandles": ["h"], "revokeAcrossAllTenants": true}),
            "Invalid JSON input - revokeAcrossAllTenants can only be set if userId is set",
        ),
        (
            json!({"sessionHandles": [1]}),
            "Field name 'sessionHandles' is invalid in JSON input",
        ),
    ] {
        let reply = server.post("/recipe/session/remove", &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.text, format!("{message}\n"));
    }
}

#[tokio::test]
async fn a_payload_with_a_protected_claim_is_400() {
    let server = TestServer::start().await;
    let body = json!({
        "userId": "u", "userDataInJWT": {"sub": "someone-else"}, "userDataInDatabase": {},
        "useDynamicSigningKey": true, "enableAntiCsrf": false,
    });
    let reply = server.post("/public/recipe/session", &body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // The core's words (`AccessTokenInfo.toJSON`); tests/sdk_claims.rs has
    // every claim on every endpoint.
    assert_eq!(reply.text, "The user payload contains protected field\n");
}

#[tokio::test]
async fn unsupported_cdi_version_is_400() {
    let server = TestServer::start().await;
    let reply = server
        .send(
            server
                .client
                .get(server.url("/user/id?userId=u"))
                .header("cdi-version", "2.9"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.text, "cdi-version 2.9 not supported\n");
    // No header: the latest version is assumed.
    let reply = server
        .send(server.client.get(server.url("/user/id?userId=u")))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let server = TestServer::start().await;
    let big = format!(
        "{{\"sessionHandle\":\"h\",\"userDataInDatabase\":{{\"x\":\"{}\"}}}}",
        "a".repeat(tessera_server::serve::MAX_BODY_BYTES + 1)
    );
    let reply = server.put_raw("/recipe/session/data", &big).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn metrics_count_requests_by_endpoint_and_status() {
    let server = TestServer::start().await;
    let created = server.create("public", "user-1").await;
    server
        .verify(created["accessToken"]["token"].as_str().unwrap(), false)
        .await;
    server
        .refresh(created["refreshToken"]["token"].as_str().unwrap())
        .await;
    let metrics = server.metrics().await;
    let verify_line = "tessera_http_requests_total{method=\"POST\",endpoint=\"/recipe/session/verify\",status=\"200\"} ";
    assert_eq!(counter(&metrics, verify_line), 1);
    assert_eq!(
        counter(
            &metrics,
            "tessera_http_requests_total{method=\"POST\",endpoint=\"/{tenant}/recipe/session\",status=\"200\"} "
        ),
        1
    );
    assert_eq!(counter(&metrics, "tessera_sessions_refreshed_total "), 1);
    assert!(metrics.contains(
        "tessera_http_request_duration_seconds_count{method=\"POST\",endpoint=\"/recipe/session/verify\"} 1"
    ));
}

#[tokio::test]
async fn in_flight_request_finishes_after_shutdown_signal() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = TestServer::start().await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let body = r#"{"userId":"u","userDataInJWT":{},"userDataInDatabase":{},"useDynamicSigningKey":true,"enableAntiCsrf":false}"#;
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /public/recipe/session HTTP/1.1\r\nHost: {addr}\r\ncdi-version: 5.4\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(10);
    stream.write_all(first.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Shut down while the request is half sent.
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!stopping.is_finished(), "the server waits for the request");

    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"OK\""));
    stopping.await.unwrap().unwrap();
}
