//! Each CDI version gets the session behaviour supertokens-core 12.1 gives
//! it, over real HTTP: below 5.6 the child-token model (refresh hands out a
//! child and an access token carrying `parentRefreshTokenHash1`, verify
//! promotes it and answers a new access token, the parent is then theft);
//! from 5.6 on, and without a `cdi-version` header, rotation at refresh
//! with the grace window and a verify that never returns a token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Options, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CHILD_VERSIONS: [&str; 6] = ["5.0", "5.1", "5.2", "5.3", "5.4", "5.5"];

fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

fn hash1(token: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn token(body: &Value, which: &str) -> String {
    body[which]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no {which} in {body}"))
        .to_owned()
}

#[tokio::test]
async fn api_version_lists_every_version_served() {
    let server = TestServer::start().await;
    let versions = server.get("/apiversion", &[]).await.ok_json();
    assert_eq!(
        versions,
        json!({"versions": ["5.0", "5.1", "5.2", "5.3", "5.4", "5.5", "5.6"]})
    );
    for unknown in ["5.7", "6.0", "2.6", "1.0", "five"] {
        let reply = server
            .post_as(unknown, "/recipe/session/verify", &json!({}))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{unknown}");
        assert_eq!(reply.text, format!("cdi-version {unknown} not supported\n"));
    }
    // The core's older versions are served on create, verify and
    // regenerate only (tests/legacy_tokens.rs); never listed, never refresh.
    for legacy in ["4.0", "3.0", "2.18"] {
        let reply = server
            .post_as(legacy, "/recipe/session/refresh", &json!({}))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{legacy}");
        assert_eq!(reply.text, format!("cdi-version {legacy} not supported\n"));
    }
}

#[tokio::test]
async fn below_5_6_refresh_hands_out_a_child_verify_promotes_it_and_the_parent_is_then_theft() {
    let server = TestServer::start().await;
    for v in CHILD_VERSIONS {
        let created = server.create("public", &format!("user-{v}")).await;
        let handle = created["session"]["handle"].as_str().unwrap().to_owned();
        let parent = token(&created, "refreshToken");
        assert_eq!(
            claims(&token(&created, "accessToken"))["parentRefreshTokenHash1"],
            Value::Null
        );

        let refreshed = server.refresh_as(v, &parent).await;
        assert_eq!(refreshed["status"], "OK", "{v}: {refreshed}");
        let child = token(&refreshed, "refreshToken");
        let child_access = token(&refreshed, "accessToken");
        assert_eq!(
            claims(&child_access)["parentRefreshTokenHash1"],
            json!(hash1(&parent)),
            "{v}"
        );
        assert_eq!(
            claims(&child_access)["refreshTokenHash1"],
            json!(hash1(&child)),
            "{v}"
        );

        let verified = server.verify_as(v, &child_access, false).await;
        assert_eq!(verified["status"], "OK", "{v}: {verified}");
        assert_eq!(verified["session"]["handle"], handle.as_str());
        let promoted = token(&verified, "accessToken");
        assert_eq!(
            claims(&promoted)["parentRefreshTokenHash1"],
            Value::Null,
            "{v}"
        );
        assert_eq!(
            claims(&promoted)["refreshTokenHash1"],
            json!(hash1(&child)),
            "{v}"
        );
        assert!(verified["accessToken"]["expiry"].as_u64().unwrap() > 0);

        // The promoted token carries no parent: the SDK would not even ask,
        // and when asked, verify answers no new token.
        let again = server.verify_as(v, &promoted, false).await;
        assert_eq!(again["status"], "OK");
        assert!(again.get("accessToken").is_none(), "{v}: {again}");

        let theft = server.refresh_as(v, &parent).await;
        assert_eq!(
            theft,
            json!({
                "status": "TOKEN_THEFT_DETECTED",
                "session": {"handle": handle, "userId": format!("user-{v}"), "recipeUserId": format!("user-{v}")},
            }),
            "{v}"
        );
        assert_eq!(
            server.refresh_as(v, &child).await["status"],
            "UNAUTHORISED",
            "{v}"
        );
    }
}

#[tokio::test]
async fn below_5_6_the_parent_before_promotion_is_another_child_and_the_losing_sibling_is_theft() {
    let server = TestServer::start().await;
    let created = server.create("public", "user-1").await;
    let parent = token(&created, "refreshToken");
    let first = server.refresh_as("5.4", &parent).await;
    let second = server.refresh_as("5.4", &parent).await;
    assert_eq!(first["status"], "OK");
    assert_eq!(
        second["status"], "OK",
        "the parent is current until a child is promoted"
    );
    assert_ne!(
        token(&first, "refreshToken"),
        token(&second, "refreshToken")
    );

    // A refresh with the first child promotes it (no verify in between).
    let next = server
        .refresh_as("5.4", &token(&first, "refreshToken"))
        .await;
    assert_eq!(next["status"], "OK");
    assert_eq!(
        claims(&token(&next, "accessToken"))["parentRefreshTokenHash1"],
        json!(hash1(&token(&first, "refreshToken")))
    );
    // The losing sibling's access token is still a valid token (no new one) ...
    let sibling = server
        .verify_as("5.4", &token(&second, "accessToken"), false)
        .await;
    assert_eq!(sibling["status"], "OK");
    assert!(sibling.get("accessToken").is_none(), "{sibling}");
    // ... and its refresh token is theft.
    let theft = server
        .refresh_as("5.4", &token(&second, "refreshToken"))
        .await;
    assert_eq!(theft["status"], "TOKEN_THEFT_DETECTED");
}

#[tokio::test]
async fn at_5_6_and_without_a_header_refresh_rotates_and_verify_never_returns_a_token() {
    let server = TestServer::with(Options {
        refresh_grace_period: Duration::from_secs(30),
        ..Options::default()
    })
    .await;
    for headerless in [false, true] {
        let created = server.create("public", "user-1").await;
        let first = token(&created, "refreshToken");
        let body =
            json!({"refreshToken": first, "enableAntiCsrf": false, "useDynamicSigningKey": true});
        let refreshed = if headerless {
            let reply = server
                .send(
                    server
                        .client
                        .post(server.url("/recipe/session/refresh"))
                        .header("api-key", common::API_KEY)
                        .json(&body),
                )
                .await;
            reply.ok_json()
        } else {
            server.refresh_as("5.6", &first).await
        };
        assert_eq!(refreshed["status"], "OK");
        let access = token(&refreshed, "accessToken");
        assert_eq!(claims(&access)["parentRefreshTokenHash1"], Value::Null);
        let verified = server.verify_as("5.6", &access, true).await;
        assert_eq!(verified["status"], "OK");
        assert!(verified.get("accessToken").is_none(), "{verified}");
        // Inside the grace window the previous token gets the same current one.
        let retry = server.refresh_as("5.6", &first).await;
        assert_eq!(
            token(&retry, "refreshToken"),
            token(&refreshed, "refreshToken")
        );
    }
}

#[tokio::test]
async fn below_5_6_a_database_check_returns_a_token_with_the_stored_payload_and_5_6_does_not() {
    let server = TestServer::start().await;
    let created = server
        .create_with("public", "user-1", json!({"v": 1}), json!({}), false)
        .await;
    let handle = created["session"]["handle"].as_str().unwrap();
    let access = token(&created, "accessToken");
    let same = server.verify_as("5.4", &access, true).await;
    assert!(same.get("accessToken").is_none(), "{same}");
    let put = server
        .put(
            "/recipe/jwt/data",
            &json!({"sessionHandle": handle, "userDataInJWT": {"v": 2}}),
        )
        .await;
    assert_eq!(put.ok_json()["status"], "OK");

    let stale = server.verify_as("5.4", &access, true).await;
    assert_eq!(stale["session"]["userDataInJWT"], json!({"v": 2}));
    assert_eq!(claims(&token(&stale, "accessToken"))["v"], 2);
    let at_5_6 = server.verify_as("5.6", &access, true).await;
    assert_eq!(at_5_6["status"], "OK");
    assert!(at_5_6.get("accessToken").is_none(), "{at_5_6}");
    assert_eq!(at_5_6["session"]["userDataInJWT"], json!({"v": 1}));
}

#[tokio::test]
async fn regenerate_keeps_the_parent_claim_of_a_child_token_as_the_core_does() {
    let server = TestServer::start().await;
    let created = server.create("public", "user-1").await;
    let parent = token(&created, "refreshToken");
    let child = server.refresh_as("5.4", &parent).await;
    let regenerated = server
        .post_as(
            "5.4",
            "/recipe/session/regenerate",
            &json!({"accessToken": token(&child, "accessToken"), "userDataInJWT": {"plan": "gold"}}),
        )
        .await
        .ok_json();
    let new = token(&regenerated, "accessToken");
    assert_eq!(
        claims(&new)["parentRefreshTokenHash1"],
        json!(hash1(&parent))
    );
    assert_eq!(claims(&new)["plan"], "gold");
    // The regenerated token still promotes the child.
    let verified = server.verify_as("5.4", &new, false).await;
    assert_eq!(claims(&token(&verified, "accessToken"))["plan"], "gold");
    assert_eq!(
        server.refresh_as("5.4", &parent).await["status"],
        "TOKEN_THEFT_DETECTED"
    );
}

#[tokio::test]
async fn an_sdk_moving_from_5_4_to_5_6_keeps_its_session_and_its_unpromoted_child_rotates() {
    let server = TestServer::start().await;
    let created = server.create("public", "user-1").await;
    let parent = token(&created, "refreshToken");
    let child = token(&server.refresh_as("5.4", &parent).await, "refreshToken");
    let rotated = server.refresh_as("5.6", &child).await;
    assert_eq!(rotated["status"], "OK", "{rotated}");
    assert_eq!(
        claims(&token(&rotated, "accessToken"))["parentRefreshTokenHash1"],
        Value::Null
    );
    assert_eq!(
        server.refresh_as("5.6", &parent).await["status"],
        "TOKEN_THEFT_DETECTED"
    );
}

#[tokio::test]
async fn below_5_6_anti_csrf_holds_for_children_and_their_promotion() {
    let server = TestServer::start().await;
    let created = server
        .create_with("public", "user-1", json!({}), json!({}), true)
        .await;
    let anti_csrf = created["antiCsrfToken"].as_str().unwrap().to_owned();
    let refresh_body = |csrf: Option<&str>| {
        let mut b = json!({"refreshToken": token(&created, "refreshToken"), "enableAntiCsrf": true, "useDynamicSigningKey": true});
        if let Some(c) = csrf {
            b["antiCsrfToken"] = json!(c);
        }
        b
    };
    let refused = server
        .post_as("5.4", "/recipe/session/refresh", &refresh_body(None))
        .await
        .ok_json();
    assert_eq!(refused["status"], "UNAUTHORISED");
    let child = server
        .post_as(
            "5.4",
            "/recipe/session/refresh",
            &refresh_body(Some(&anti_csrf)),
        )
        .await
        .ok_json();
    assert_eq!(child["status"], "OK");
    let child_csrf = child["antiCsrfToken"].as_str().unwrap();
    let verify = |csrf: &str| {
        json!({
            "accessToken": token(&child, "accessToken"),
            "antiCsrfToken": csrf,
            "doAntiCsrfCheck": true,
            "enableAntiCsrf": true,
            "checkDatabase": false,
        })
    };
    let wrong = server
        .post_as("5.4", "/recipe/session/verify", &verify("wrong"))
        .await
        .ok_json();
    assert_eq!(
        wrong["status"], "TRY_REFRESH_TOKEN",
        "no promotion without the anti-CSRF token"
    );
    let ok = server
        .post_as("5.4", "/recipe/session/verify", &verify(child_csrf))
        .await
        .ok_json();
    assert_eq!(ok["status"], "OK");
    assert_eq!(
        claims(&token(&ok, "accessToken"))["antiCsrfToken"],
        json!(child_csrf)
    );
}

#[tokio::test]
async fn at_5_6_a_database_check_reports_a_payload_update_and_refuses_a_rotated_out_branch() {
    let server = TestServer::start().await;
    let created = server
        .create_with("public", "user-1", json!({"v": 1}), json!({}), false)
        .await;
    let handle = created["session"]["handle"].as_str().unwrap();
    let access = token(&created, "accessToken");
    let fresh = server.verify_as("5.6", &access, true).await;
    assert_eq!(fresh["payloadUpdateAvailable"], false, "{fresh}");
    let unchecked = server.verify_as("5.6", &access, false).await;
    assert!(
        unchecked.get("payloadUpdateAvailable").is_none(),
        "{unchecked}"
    );
    assert!(
        server
            .verify_as("5.4", &access, true)
            .await
            .get("payloadUpdateAvailable")
            .is_none()
    );
    server
        .put(
            "/recipe/jwt/data",
            &json!({"sessionHandle": handle, "userDataInJWT": {"v": 2}}),
        )
        .await;
    let stale = server.verify_as("5.6", &access, true).await;
    assert_eq!(stale["payloadUpdateAvailable"], true, "{stale}");

    let r1 = server
        .refresh_as("5.6", &token(&created, "refreshToken"))
        .await;
    assert_eq!(server.verify_as("5.6", &access, true).await["status"], "OK");
    server.refresh_as("5.6", &token(&r1, "refreshToken")).await;
    assert_eq!(
        server.verify_as("5.6", &access, true).await,
        json!({"status": "UNAUTHORISED", "message": "rotated-out token branch; refresh required"})
    );
}
