//! SuperTokens core's older access-token formats, over real HTTP, as the
//! core serves them (`AccessToken.getAccessTokenVersionForCDI`,
//! `JWT.preParseJWTInfo`): create under CDI 2.x issues a v2 token (fixed
//! standard-base64 header, no `kid`, the payload nested under `userData`),
//! under 2.21 a v3 token, under 3.x a v4 token; verify takes them under any
//! version, regenerate keeps their format, a refresh under 5.x moves the
//! session to v5 (refused as `UNAUTHORISED` when the stored payload holds a
//! claim v5 sets). A JWT of the JWT recipe (no `version` in its header)
//! verifies as a v5 access token when it carries every v5 session claim.
//! Only RS256 and this app's keys: a tampered or foreign token never passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

const V2_HEADER: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0=";

fn part(token: &str, i: usize) -> Value {
    let p = token.split('.').nth(i).expect("part");
    let bytes = STANDARD
        .decode(p)
        .or_else(|_| URL_SAFE_NO_PAD.decode(p))
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

async fn create_as(server: &TestServer, cdi: &str, payload: Value) -> Value {
    let body = json!({
        "userId": "user-1",
        "enableAntiCsrf": false,
        "userDataInJWT": payload,
        "userDataInDatabase": {},
    });
    let reply = server.post_as(cdi, "/recipe/session", &body).await;
    let json = reply.ok_json();
    assert_eq!(json["status"], "OK", "{json}");
    json
}

fn access(body: &Value) -> String {
    body["accessToken"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn cdi_2_18_creates_a_v2_token_that_verifies_and_regenerates_as_v2() {
    let server = TestServer::start().await;
    // A v2 payload is nested: `sub` is a user key there, as in the core.
    let created = create_as(&server, "2.18", json!({"sub": "asdf", "role": 1})).await;
    assert!(created["session"].get("tenantId").is_none(), "{created}");
    assert!(
        created["session"].get("recipeUserId").is_none(),
        "{created}"
    );
    let token = access(&created);
    assert!(token.starts_with(V2_HEADER), "{token}");
    let payload = part(&token, 1);
    assert_eq!(payload["userId"], "user-1");
    assert_eq!(payload["userData"], json!({"sub": "asdf", "role": 1}));
    assert_eq!(
        payload["expiryTime"].as_u64().unwrap(),
        created["accessToken"]["expiry"].as_u64().unwrap()
    );
    assert!(payload.get("parentRefreshTokenHash1").is_none());
    assert!(payload.get("antiCsrfToken").is_none());
    // The signature is standard base64 with padding, as the core writes it.
    let sig = token.split('.').nth(2).unwrap();
    assert_eq!(STANDARD.decode(sig).unwrap().len(), 256);

    for cdi in ["5.4", "5.6", "2.18"] {
        for check_database in [false, true] {
            let v = server.verify_as(cdi, &token, check_database).await;
            assert_eq!(v["status"], "OK", "{cdi} {v}");
            assert_eq!(v["session"]["userId"], "user-1");
            assert_eq!(
                v["session"]["userDataInJWT"],
                json!({"sub": "asdf", "role": 1})
            );
            assert!(v.get("accessToken").is_none(), "{v}");
        }
    }

    // Regenerate keeps the format (the SDK merging a claim into a v2 token).
    let regenerated = server
        .post(
            "/recipe/session/regenerate",
            &json!({"accessToken": token, "userDataInJWT": {"appSub": "asdf"}}),
        )
        .await
        .ok_json();
    assert_eq!(regenerated["status"], "OK", "{regenerated}");
    let new_token = access(&regenerated);
    assert!(new_token.starts_with(V2_HEADER));
    assert_eq!(part(&new_token, 1)["userData"], json!({"appSub": "asdf"}));
    assert_eq!(
        part(&new_token, 1)["expiryTime"],
        part(&token, 1)["expiryTime"]
    );

    // A refresh under 5.4 moves the session to a v5 token.
    let refreshed = server
        .refresh_as("5.4", created["refreshToken"]["token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed["status"], "OK", "{refreshed}");
    let v5 = access(&refreshed);
    assert_eq!(part(&v5, 0)["version"], "5");
    assert!(part(&v5, 0)["kid"].as_str().unwrap().starts_with("d-"));
    assert_eq!(part(&v5, 1)["sub"], "user-1");
    assert_eq!(part(&v5, 1)["appSub"], "asdf");
}

#[tokio::test]
async fn once_a_v2_token_exists_the_apps_jwks_lists_several_keys() {
    // supertokens-node verifies a v2 token (no `kid`) by trying each key of
    // a JWKS that has several, as the core's always has (static + dynamic).
    let server = TestServer::start().await;
    server
        .put(
            "/recipe/multitenancy/app/v2",
            &json!({"appId": "fresh", "coreConfig": {}}),
        )
        .await
        .ok_json();
    let body = json!({"userId": "u", "enableAntiCsrf": false,
                      "userDataInJWT": {}, "userDataInDatabase": {}});
    for prefix in ["", "/appid-fresh"] {
        let reply = server
            .post_as("2.18", &format!("{prefix}/recipe/session"), &body)
            .await
            .ok_json();
        assert_eq!(reply["status"], "OK", "{reply}");
        let path = format!("{prefix}/.well-known/jwks.json");
        let jwks = server.get_bare(&path).await.ok_json();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert!(kids.iter().any(|k| k.starts_with("s-")), "{path}: {kids:?}");
        assert!(kids.iter().any(|k| k.starts_with("d-")), "{path}: {kids:?}");
    }
}

#[tokio::test]
async fn a_v2_session_whose_payload_holds_a_v5_claim_cannot_refresh_and_stores_nothing() {
    let server = TestServer::start().await;
    let created = create_as(&server, "2.18", json!({"sub": "asdf"})).await;
    let refresh = created["refreshToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = server.refresh_as("5.4", &refresh).await;
    assert_eq!(
        reply,
        json!({"status": "UNAUTHORISED", "message": "The user payload contains protected field"})
    );
    // Nothing was promoted: the v2 token still verifies with a database check.
    let v = server.verify_as("5.4", &access(&created), true).await;
    assert_eq!(v["status"], "OK", "{v}");
}

#[tokio::test]
async fn a_revoked_v2_session_fails_the_database_check_but_not_the_local_one() {
    let server = TestServer::start().await;
    let created = create_as(&server, "2.8", json!({})).await;
    let token = access(&created);
    let handle = created["session"]["handle"].as_str().unwrap();
    let removed = server
        .post(
            "/recipe/session/remove",
            &json!({"sessionHandles": [handle]}),
        )
        .await
        .ok_json();
    assert_eq!(removed["status"], "OK");
    assert_eq!(
        server.verify_as("5.4", &token, true).await["status"],
        "UNAUTHORISED"
    );
    assert_eq!(server.verify_as("5.4", &token, false).await["status"], "OK");
}

#[tokio::test]
async fn v2_tokens_are_parsed_strictly() {
    let server = TestServer::start().await;
    let token = access(&create_as(&server, "2.18", json!({"n": 1})).await);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = part(&token, 1);
    let unauthorised = |v: &Value| v["status"] != "OK";

    // A changed payload breaks the signature.
    let mut forged = payload.clone();
    forged["userId"] = json!("someone-else");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        STANDARD.encode(forged.to_string()),
        parts[2]
    );
    assert!(unauthorised(&server.verify_as("5.4", &forged, false).await));
    // The URL-safe spelling of the same signature is not the token.
    let url_safe_sig = URL_SAFE_NO_PAD.encode(STANDARD.decode(&parts[2]).unwrap());
    let respelled = format!("{}.{}.{}", parts[0], parts[1], url_safe_sig);
    if respelled != token {
        assert!(unauthorised(
            &server.verify_as("5.4", &respelled, false).await
        ));
    }
    // The v2 header without its padding is no v2 token.
    parts[0] = V2_HEADER.trim_end_matches('=').to_owned();
    assert!(unauthorised(
        &server.verify_as("5.4", &parts.join("."), false).await
    ));
    // A header saying version 2 in the v5 shape is refused, as the core does.
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","version":"2","kid":"d-x"}"#);
    let other = format!("{header}.{}.{}", parts[1], parts[2]);
    assert!(unauthorised(&server.verify_as("5.4", &other, false).await));
}

#[tokio::test]
async fn cdi_3_0_creates_v4_and_2_21_v3_tokens_with_their_own_protected_claims() {
    let server = TestServer::start().await;
    let v4 = create_as(&server, "3.0", json!({"rsub": "mine"})).await;
    assert!(v4["session"].get("recipeUserId").is_none(), "{v4}");
    assert_eq!(v4["session"]["tenantId"], "public");
    let token = access(&v4);
    let header = part(&token, 0);
    assert_eq!(header["version"], "4");
    assert!(header["kid"].as_str().unwrap().starts_with("d-"));
    let payload = part(&token, 1);
    let mut keys: Vec<&str> = payload
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "antiCsrfToken",
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
    // v4 has no `rsub` of its own: the user's stays a user claim.
    let v = server.verify_as("5.4", &token, true).await;
    assert_eq!(v["status"], "OK", "{v}");
    assert_eq!(v["session"]["userDataInJWT"], json!({"rsub": "mine"}));
    assert_eq!(v["session"]["recipeUserId"], "user-1");

    // `tId` is protected in v4 and a user claim in v3.
    let refused = server
        .post_as(
            "3.0",
            "/recipe/session",
            &json!({"userId": "u", "enableAntiCsrf": false,
                    "userDataInJWT": {"tId": "x"}, "userDataInDatabase": {}}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.text, "The user payload contains protected field\n");
    let v3 = create_as(&server, "2.21", json!({"tId": "x"})).await;
    let token = access(&v3);
    assert_eq!(part(&token, 0)["version"], "3");
    assert!(part(&token, 1).get("rsub").is_none());
    let v = server.verify_as("5.4", &token, false).await;
    assert_eq!(v["status"], "OK", "{v}");
    assert_eq!(v["session"]["tenantId"], "public");
    assert_eq!(v["session"]["userDataInJWT"], json!({"tId": "x"}));
    // Regenerate keeps v3 and its rule (`sub` is protected there).
    let bad = server
        .post(
            "/recipe/session/regenerate",
            &json!({"accessToken": token, "userDataInJWT": {"sub": "x"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let good = server
        .post(
            "/recipe/session/regenerate",
            &json!({"accessToken": token, "userDataInJWT": {"k": 2}}),
        )
        .await
        .ok_json();
    assert_eq!(part(&access(&good), 0)["version"], "3");
}

#[tokio::test]
async fn a_jwt_recipe_token_with_every_v5_session_claim_verifies_as_the_core_verifies_it() {
    let server = TestServer::start().await;
    let created = server.create("public", "testId").await;
    let session_payload = part(&access(&created), 1);
    let mut payload = session_payload.clone();
    let map = payload.as_object_mut().unwrap();
    map.remove("exp");
    map.remove("iat");
    let sign = |payload: Value, use_static: bool| {
        let server = &server;
        async move {
            let reply = server
                .post(
                    "/recipe/jwt",
                    &json!({"algorithm": "RS256", "jwksDomain": "http://api.test/auth",
                            "payload": payload, "validity": 1234,
                            "useStaticSigningKey": use_static}),
                )
                .await
                .ok_json();
            reply["jwt"].as_str().unwrap().to_owned()
        }
    };
    for use_static in [false, true] {
        let jwt = sign(payload.clone(), use_static).await;
        assert!(part(&jwt, 0).get("version").is_none());
        let v = server.verify_as("5.4", &jwt, true).await;
        assert_eq!(v["status"], "OK", "{v}");
        assert_eq!(v["session"]["handle"], created["session"]["handle"]);
        // Same payload as stored: no replacement token.
        assert!(v.get("accessToken").is_none(), "{v}");
    }
    // Without every session claim it is no access token.
    for missing in ["rsub", "tId", "sessionHandle", "antiCsrfToken"] {
        let mut p = payload.clone();
        p.as_object_mut().unwrap().remove(missing);
        let jwt = sign(p, false).await;
        let v = server.verify_as("5.4", &jwt, false).await;
        assert_ne!(v["status"], "OK", "{missing}: {v}");
    }
    // The session gone, the database check refuses it.
    let handle = created["session"]["handle"].as_str().unwrap();
    server
        .post(
            "/recipe/session/remove",
            &json!({"sessionHandles": [handle]}),
        )
        .await
        .ok_json();
    let jwt = sign(payload, false).await;
    assert_eq!(
        server.verify_as("5.4", &jwt, true).await["status"],
        "UNAUTHORISED"
    );
}

#[tokio::test]
async fn another_apps_keys_never_verify_a_legacy_token() {
    let server = TestServer::start().await;
    let made = server
        .put(
            "/recipe/multitenancy/app/v2",
            &json!({"appId": "other", "coreConfig": {}}),
        )
        .await
        .ok_json();
    assert_eq!(made["status"], "OK");
    let token = access(&create_as(&server, "2.18", json!({})).await);
    let v = server
        .post_as(
            "5.4",
            "/appid-other/recipe/session/verify",
            &json!({"accessToken": token, "doAntiCsrfCheck": false,
                    "enableAntiCsrf": false, "checkDatabase": false}),
        )
        .await
        .ok_json();
    assert_ne!(v["status"], "OK", "{v}");
}
