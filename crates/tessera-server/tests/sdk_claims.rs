//! Access-token payloads as the backend SDKs send them back, and the empty
//! user id, over real HTTP — read as SuperTokens core 12.x reads them.
//!
//! supertokens-python up to 0.31.3 (and supertokens-node up to 20.x) merges
//! a claim into the *whole* current payload and removes only the claims it
//! knows as protected. `tessera serve` issues the core's claims — no `stt`
//! — so such a payload round-trips unchanged; a `stt` an SDK does send is
//! an ordinary user claim, as to the core (the SDKs read it as their
//! token-type marker). The claims the core protects are refused with the
//! core's `400` text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

/// The claims supertokens-python 0.31.3 removes before it sends a payload
/// (`protected_props`); 0.31.4 adds `stt`.
const SDK_0_31_3_PROTECTED: [&str; 9] = [
    "sub",
    "iat",
    "exp",
    "sessionHandle",
    "parentRefreshTokenHash1",
    "refreshTokenHash1",
    "antiCsrfToken",
    "rsub",
    "tId",
];

fn payload_text(token: &str) -> String {
    use base64::Engine as _;
    let part = token.split('.').nth(1).expect("payload part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    String::from_utf8(bytes).expect("utf-8")
}

fn payload(token: &str) -> Map<String, Value> {
    serde_json::from_str(&payload_text(token)).expect("json object")
}

/// What supertokens-python 0.31.3's `merge_into_access_token_payload`
/// sends: the token's whole payload, minus its protected list, plus the
/// update.
fn sdk_0_31_3_merge(token: &str, update: &Value) -> Value {
    let mut merged = payload(token);
    for (k, v) in update.as_object().expect("object") {
        merged.insert(k.clone(), v.clone());
    }
    for k in SDK_0_31_3_PROTECTED {
        merged.remove(k);
    }
    Value::Object(merged)
}

/// `"claim":` occurs exactly once in the signed payload and has this value.
fn claim_once(token: &str, claim: &str, value: &Value) {
    let text = payload_text(token);
    assert_eq!(
        text.matches(&format!("\"{claim}\":")).count(),
        1,
        "{claim} in {text}"
    );
    assert_eq!(&payload(token)[claim], value, "{claim}");
}

fn token_of(reply: &Value) -> String {
    reply["accessToken"]["token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// No `"claim":` anywhere in the signed payload.
fn claim_absent(token: &str, claim: &str) {
    let text = payload_text(token);
    assert!(
        !text.contains(&format!("\"{claim}\":")),
        "{claim} in {text}"
    );
}

#[tokio::test]
async fn regenerate_round_trips_the_payload_sdk_0_31_3_echoes() {
    let server = TestServer::start().await;
    let created = server
        .create_with(
            "public",
            "user-1",
            json!({"iss": "http://api.test/auth", "role": "reader"}),
            json!({}),
            false,
        )
        .await;
    let mut token = token_of(&created);
    claim_absent(&token, "stt");
    // Two claims merged one after the other, each from the newest token.
    for (i, update) in [
        json!({"st-custom": {"v": 1, "t": 10}}),
        json!({"st-other": [1, 2]}),
    ]
    .iter()
    .enumerate()
    {
        let sent = sdk_0_31_3_merge(&token, update);
        let reply = server
            .post(
                "/recipe/session/regenerate",
                &json!({"accessToken": token, "userDataInJWT": sent}),
            )
            .await
            .ok_json();
        assert_eq!(reply["status"], "OK", "{reply}");
        assert_eq!(reply["session"]["userDataInJWT"], sent, "merge {i}");
        token = token_of(&reply);
        claim_absent(&token, "stt");
        claim_once(&token, "sub", &json!("user-1"));
        claim_once(&token, "sessionHandle", &created["session"]["handle"]);
        assert_eq!(payload(&token)["role"], "reader");
    }
    let verified = server.verify(&token, true).await;
    assert_eq!(verified["status"], "OK", "{verified}");
    assert_eq!(
        verified["session"]["userDataInJWT"]["st-other"],
        json!([1, 2])
    );
    assert_eq!(
        verified["session"]["userDataInJWT"]["st-custom"],
        json!({"v": 1, "t": 10})
    );
    // The stored payload goes out with the next token too.
    let refreshed = server
        .refresh(created["refreshToken"]["token"].as_str().unwrap())
        .await;
    let next = token_of(&refreshed);
    claim_absent(&next, "stt");
    assert_eq!(payload(&next)["st-custom"], json!({"v": 1, "t": 10}));
}

#[tokio::test]
async fn create_accepts_a_payload_echoed_from_a_token() {
    let server = TestServer::start().await;
    let first = server.create("public", "user-1").await;
    let sent = sdk_0_31_3_merge(&token_of(&first), &json!({"role": "admin"}));
    let body = json!({
        "userId": "user-2",
        "userDataInJWT": sent,
        "userDataInDatabase": {},
        "useDynamicSigningKey": true,
        "enableAntiCsrf": false,
    });
    let created = server.post("/public/recipe/session", &body).await.ok_json();
    assert_eq!(created["status"], "OK", "{created}");
    assert_eq!(
        created["session"]["userDataInJWT"],
        json!({"iss": "http://api.test/auth", "role": "admin"})
    );
    let token = token_of(&created);
    claim_absent(&token, "stt");
    claim_once(&token, "sub", &json!("user-2"));
    assert_eq!(server.verify(&token, false).await["status"], "OK");
}

#[tokio::test]
async fn jwt_data_update_round_trips_and_the_next_token_carries_it() {
    let server = TestServer::start().await;
    let created = server.create("public", "user-1").await;
    let handle = created["session"]["handle"].as_str().unwrap();
    let sent = sdk_0_31_3_merge(&token_of(&created), &json!({"plan": "pro"}));
    let reply = server
        .put(
            "/recipe/jwt/data",
            &json!({"sessionHandle": handle, "userDataInJWT": sent}),
        )
        .await
        .ok_json();
    assert_eq!(reply["status"], "OK", "{reply}");
    let refreshed = server
        .refresh(created["refreshToken"]["token"].as_str().unwrap())
        .await;
    let token = token_of(&refreshed);
    claim_absent(&token, "stt");
    assert_eq!(payload(&token)["plan"], "pro");
}

/// As the core: `stt` is not a claim it protects or sets, so a payload's
/// `stt` reaches the token as sent, once (supertokens-python 0.31.4's own
/// `test_core_signed_token_with_a_non_session_token_type_is_rejected`
/// relies on it, then refuses such a token itself).
#[tokio::test]
async fn a_user_stt_is_an_ordinary_claim_as_in_the_core() {
    let server = TestServer::start().await;
    let created = server
        .create_with(
            "public",
            "user-1",
            json!({"stt": 1, "custom": "v"}),
            json!({}),
            false,
        )
        .await;
    let token = token_of(&created);
    claim_once(&token, "stt", &json!(1));
    assert_eq!(
        created["session"]["userDataInJWT"],
        json!({"stt": 1, "custom": "v"})
    );
    let verified = server.verify(&token, false).await;
    assert_eq!(verified["session"]["userDataInJWT"]["stt"], 1, "{verified}");
}

#[tokio::test]
async fn claims_the_core_protects_are_refused_with_the_cores_answer() {
    let server = TestServer::start().await;
    let created = server
        .create_with("public", "user-1", json!({"a": 1}), json!({}), true)
        .await;
    let token = token_of(&created);
    let handle = created["session"]["handle"].as_str().unwrap();
    let own = payload(&token);
    for claim in SDK_0_31_3_PROTECTED {
        // The token's own value, as a payload copied from it would hold.
        let echoed = json!({"a": 2, claim: own[claim].clone()});
        let create = server
            .post(
                "/public/recipe/session",
                &json!({
                    "userId": "user-2",
                    "userDataInJWT": echoed,
                    "userDataInDatabase": {},
                    "useDynamicSigningKey": true,
                    "enableAntiCsrf": false,
                }),
            )
            .await;
        let regenerate = server
            .post(
                "/recipe/session/regenerate",
                &json!({"accessToken": token, "userDataInJWT": echoed}),
            )
            .await;
        let jwt_data = server
            .put(
                "/recipe/jwt/data",
                &json!({"sessionHandle": handle, "userDataInJWT": echoed}),
            )
            .await;
        for (what, reply) in [
            ("create", create),
            ("regenerate", regenerate),
            ("jwt data", jwt_data),
        ] {
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what} {claim}");
            assert_eq!(
                reply.text, "The user payload contains protected field\n",
                "{what} {claim}"
            );
        }
    }
    // Nothing changed: no session for user-2, the payload is the old one.
    let user2 = server
        .get("/recipe/session/user", &[("userId", "user-2")])
        .await
        .ok_json();
    assert_eq!(user2["sessionHandles"], json!([]));
    let verified = server.verify(&token, true).await;
    assert_eq!(verified["session"]["userDataInJWT"], json!({"a": 1}));
}

#[tokio::test]
async fn empty_user_id_creates_a_session_that_verifies_refreshes_and_lists() {
    let server = TestServer::start().await;
    let created = server.create("public", "").await;
    assert_eq!(created["session"]["userId"], "");
    assert_eq!(created["session"]["recipeUserId"], "");
    let handle = created["session"]["handle"].clone();
    let token = token_of(&created);
    claim_once(&token, "sub", &json!(""));
    let verified = server.verify(&token, true).await;
    assert_eq!(verified["status"], "OK", "{verified}");
    assert_eq!(verified["session"]["userId"], "");
    let refreshed = server
        .refresh(created["refreshToken"]["token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed["status"], "OK", "{refreshed}");
    assert_eq!(refreshed["session"]["userId"], "");
    assert_eq!(
        server.verify(&token_of(&refreshed), false).await["status"],
        "OK"
    );
    let listed = server
        .get("/recipe/session/user", &[("userId", "")])
        .await
        .ok_json();
    assert_eq!(listed["sessionHandles"], json!([handle]));
    let info = server
        .get(
            "/recipe/session",
            &[("sessionHandle", handle.as_str().unwrap())],
        )
        .await
        .ok_json();
    assert_eq!(info["userId"], "");
    let removed = server
        .post("/recipe/session/remove", &json!({"userId": ""}))
        .await
        .ok_json();
    assert_eq!(removed["sessionHandlesRevoked"], json!([handle]));
}

#[tokio::test]
async fn user_ids_with_control_characters_or_over_256_bytes_stay_refused() {
    let server = TestServer::start().await;
    let long = "x".repeat(257);
    for bad in ["a\nb", "\0", long.as_str()] {
        let reply = server
            .post(
                "/public/recipe/session",
                &json!({
                    "userId": bad,
                    "userDataInJWT": {},
                    "userDataInDatabase": {},
                    "useDynamicSigningKey": true,
                    "enableAntiCsrf": false,
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad:?}");
    }
}
