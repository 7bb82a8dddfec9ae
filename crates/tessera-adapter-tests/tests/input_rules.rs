//! The engine's input rules as both adapters answer them over a real socket:
//! an id with a control character and a payload too large for an access
//! token are `400 {"message": …}` with a short body, never a `500`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use tessera_adapter_tests::*;

async fn assert_400(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), 400, "{what}");
    let body = res.text().await.unwrap();
    assert!(body.len() < 200, "{what}: {body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

both!(ids_with_control_characters_are_400_with_a_json_body);
async fn ids_with_control_characters_are_400_with_a_json_body(adapter: Adapter) {
    let app = start(adapter).await;
    for bad in ["a%00b", "%00", "line%0Abreak", "%1B%5B31m"] {
        let res = app
            .bare_client()
            .post(app.url(&format!("/login/{bad}")))
            .send()
            .await
            .unwrap();
        assert_400(res, bad).await;
        let res = app
            .bare_client()
            .post(app.url(&format!("/admin/revoke/{bad}")))
            .send()
            .await
            .unwrap();
        assert_400(res, bad).await;
    }
    assert!(
        app.manager
            .get_all_session_handles_for_user("a\0b")
            .await
            .is_err()
    );
    assert!(
        app.manager
            .get_all_session_handles_for_user("")
            .await
            .unwrap()
            .is_empty()
    );
}

both!(a_payload_too_large_for_an_access_token_is_400);
async fn a_payload_too_large_for_an_access_token_is_400(adapter: Adapter) {
    let app = start(adapter).await;
    let tokens = app.login_header("u").await;
    let res = app
        .bare_client()
        .post(app.url("/payload"))
        .header("authorization", format!("Bearer {}", tokens.access))
        .json(&json!({ "blob": "x".repeat(11_500) }))
        .send()
        .await
        .unwrap();
    assert_400(res, "payload").await;
    // The stored payload is unchanged: the next refresh carries the old one.
    let res = app.refresh_header(&tokens.refresh).await;
    assert_eq!(res.status(), 200);
    let access = header_tokens(res.headers()).access;
    let res = app
        .bare_client()
        .get(app.url("/me"))
        .header("authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["payload"]["role"], "reader", "{me}");
    assert!(me["payload"].get("blob").is_none(), "{me}");
}
