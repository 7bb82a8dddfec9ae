//! The seed handler end to end, and the database-call costs of the six
//! `Session` methods.
// Cases are plain async fns run by `both!`: unwrap as in tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use tessera_adapter_tests::*;

both!(seed_handler_changes_data_and_payload_then_revokes_and_the_next_call_is_401);
async fn seed_handler_changes_data_and_payload_then_revokes_and_the_next_call_is_401(
    adapter: Adapter,
) {
    let app = start(adapter).await;
    let login = body(app.login_cookie("alice").await).await;
    let handle = login["handle"].as_str().unwrap().to_owned();

    let res = app
        .client
        .post(app.url("/test"))
        .header("rid", "anti-csrf")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert_eq!(body(res).await, json!({ "status": "ok", "user": "alice" }));

    // Data and payload were changed in the database, in the seed's order.
    assert_eq!(
        app.data_writes(),
        vec![json!({ "cart": [1, 2], "newKey": "newVal" })]
    );
    assert_eq!(
        app.payload_writes(),
        vec![json!({ "role": "reader", "newKey": "newVal" })]
    );
    // The session is gone, and the response clears the cookies (the
    // revoke came after the payload update, so it wins).
    assert!(
        app.manager
            .get_session_information(&handle)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(headers["front-token"], "remove");
    assert!(is_clearing(&set_cookie(&headers, "sAccessToken").unwrap()));
    assert!(is_clearing(&set_cookie(&headers, "sRefreshToken").unwrap()));
    assert_eq!(app.jar_cookies("/"), "");

    let next = app
        .client
        .post(app.url("/test"))
        .header("rid", "anti-csrf")
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 401);
    assert_eq!(body(next).await, json!({ "message": "unauthorised" }));
}

both!(seed_handler_works_in_header_mode_and_clears_the_header_tokens);
async fn seed_handler_works_in_header_mode_and_clears_the_header_tokens(adapter: Adapter) {
    let app = start(adapter).await;
    let tokens = app.login_header("bob").await;
    let res = app
        .bare_client()
        .post(app.url("/test"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["st-access-token"], "");
    assert_eq!(res.headers()["st-refresh-token"], "");
    assert_eq!(res.headers()["front-token"], "remove");
    assert!(res.headers().get("set-cookie").is_none());

    // Blacklisting is off: the access token itself stays valid until it
    // expires, but the session is gone, so data calls fail and clear.
    let again = app
        .bare_client()
        .post(app.url("/test"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
    assert_eq!(again.headers()["front-token"], "remove");
    assert_eq!(body(again).await, json!({ "message": "unauthorised" }));
}

#[allow(clippy::unwrap_used)]
/// Sends one request to `/one/{op}` with a fresh header-mode session and
/// returns the session-table calls it made (extraction included).
async fn calls_of(app: &TestApp, op: &str) -> usize {
    let tokens = app.login_header("counted").await;
    let before = app.session_calls();
    let res = app
        .bare_client()
        .post(app.url(&format!("/one/{op}")))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{op}");
    app.session_calls() - before
}

both!(session_methods_cost_0_0_1_1_1_1_database_calls);
async fn session_methods_cost_0_0_1_1_1_1_database_calls(adapter: Adapter) {
    let app = start(adapter).await;
    assert_eq!(calls_of(&app, "get_user_id").await, 0);
    assert_eq!(calls_of(&app, "get_jwt_payload").await, 0);
    assert_eq!(calls_of(&app, "update_jwt_payload").await, 1);
    assert_eq!(calls_of(&app, "get_session_data").await, 1);
    assert_eq!(calls_of(&app, "update_session_data").await, 1);
    assert_eq!(calls_of(&app, "revoke_session").await, 1);
}

both!(verifying_a_session_reads_no_store_with_blacklisting_off);
async fn verifying_a_session_reads_no_store_with_blacklisting_off(adapter: Adapter) {
    let app = start(adapter).await;
    let tokens = app.login_header("carol").await;
    let before = app.session_calls();
    for _ in 0..3 {
        let res = app
            .bare_client()
            .get(app.url("/me"))
            .bearer_auth(&tokens.access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(app.session_calls(), before);
}
