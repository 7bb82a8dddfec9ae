//! `POST /auth/session/refresh` (FDI §7): both transfer methods, expiry,
//! theft and the grace window, legacy and duplicate cookies.
// Cases are plain async fns run by `both!`: unwrap as in tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::json;
use tessera_adapter_tests::*;
use tessera_http::Fdi;

both!(refresh_in_cookie_mode_rotates_both_cookies_and_sends_a_front_token);
async fn refresh_in_cookie_mode_rotates_both_cookies_and_sends_a_front_token(adapter: Adapter) {
    let app = start(adapter).await;
    let login = app.login_cookie("alice").await;
    let old_access = cookie_value(&set_cookie(login.headers(), "sAccessToken").unwrap());
    let old_refresh = cookie_value(&set_cookie(login.headers(), "sRefreshToken").unwrap());
    // The refresh cookie only travels to the refresh path.
    assert!(!app.jar_cookies("/me").contains("sRefreshToken"));
    assert!(
        app.jar_cookies("/auth/session/refresh")
            .contains("sRefreshToken")
    );

    app.clock.advance(Duration::from_secs(5));
    let res = app
        .client
        .post(app.url("/auth/session/refresh"))
        .header("rid", "session")
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(body(res).await, json!({}));
    let new_access = cookie_value(&set_cookie(&h, "sAccessToken").unwrap());
    let new_refresh = cookie_value(&set_cookie(&h, "sRefreshToken").unwrap());
    assert_ne!(new_access, old_access);
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(
        decode_front_token(h["front-token"].to_str().unwrap())["uid"],
        "alice"
    );
    assert!(h.get("st-access-token").is_none());

    let me = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(body(me).await["userId"], "alice");
}

both!(refresh_in_header_mode_returns_the_new_tokens_in_headers);
async fn refresh_in_header_mode_returns_the_new_tokens_in_headers(adapter: Adapter) {
    let app = start(adapter).await;
    let tokens = app.login_header("bob").await;
    app.clock.advance(Duration::from_secs(5));
    let res = app.refresh_header(&tokens.refresh).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("set-cookie").is_none());
    let new = header_tokens(res.headers());
    assert_ne!(new.access, tokens.access);
    assert_ne!(new.refresh, tokens.refresh);
    assert!(res.headers().get("anti-csrf").is_none());

    let me = app
        .bare_client()
        .get(app.url("/me"))
        .bearer_auth(&new.access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(body(me).await["method"], "header");
}

both!(refresh_without_any_token_is_401_unauthorised_and_clears_both_methods);
async fn refresh_without_any_token_is_401_unauthorised_and_clears_both_methods(adapter: Adapter) {
    let app = start(adapter).await;
    let res = app
        .bare_client()
        .post(app.url("/auth/session/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let h = res.headers().clone();
    assert_eq!(h["front-token"], "remove");
    assert_eq!(h["st-access-token"], "");
    assert_eq!(h["st-refresh-token"], "");
    assert!(is_clearing(&set_cookie(&h, "sAccessToken").unwrap()));
    assert!(is_clearing(&set_cookie(&h, "sRefreshToken").unwrap()));
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
}

both!(expired_access_token_is_401_try_refresh_token_and_a_refresh_recovers);
async fn expired_access_token_is_401_try_refresh_token_and_a_refresh_recovers(adapter: Adapter) {
    let app = start_with(
        adapter,
        Setup {
            access_token_validity: Duration::from_secs(60),
            ..Setup::default()
        },
    )
    .await;
    app.login_cookie("carol").await;
    app.clock.advance(Duration::from_secs(61));

    let res = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // Nothing is cleared: the client is expected to refresh.
    assert!(res.headers().get("front-token").is_none());
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(body(res).await, json!({ "message": "try refresh token" }));

    let refreshed = app
        .client
        .post(app.url("/auth/session/refresh"))
        .header("rid", "session")
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let me = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
}

both!(optional_session_is_none_without_token_but_expired_token_is_still_an_error);
async fn optional_session_is_none_without_token_but_expired_token_is_still_an_error(
    adapter: Adapter,
) {
    let app = start_with(
        adapter,
        Setup {
            access_token_validity: Duration::from_secs(60),
            ..Setup::default()
        },
    )
    .await;
    let none = app.client.get(app.url("/maybe")).send().await.unwrap();
    assert_eq!(body(none).await, json!({ "userId": null }));

    app.login_cookie("dave").await;
    let some = app.client.get(app.url("/maybe")).send().await.unwrap();
    assert_eq!(body(some).await, json!({ "userId": "dave" }));

    app.clock.advance(Duration::from_secs(61));
    let expired = app.client.get(app.url("/maybe")).send().await.unwrap();
    assert_eq!(expired.status(), 401);
    assert_eq!(
        body(expired).await,
        json!({ "message": "try refresh token" })
    );
}

both!(replaying_a_retired_refresh_token_after_the_grace_window_is_theft_and_revokes_the_session);
async fn replaying_a_retired_refresh_token_after_the_grace_window_is_theft_and_revokes_the_session(
    adapter: Adapter,
) {
    let app = start(adapter).await;
    let first = app.login_header("mallory-victim").await;
    let handle = decode_front_token(&first.front)["up"]["sessionHandle"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated = app.refresh_header(&first.refresh).await;
    assert_eq!(rotated.status(), 200);
    let second = header_tokens(rotated.headers());

    app.clock.advance(Duration::from_secs(31));
    let replay = app.refresh_header(&first.refresh).await;
    assert_eq!(replay.status(), 401);
    let h = replay.headers().clone();
    assert_eq!(
        body(replay).await,
        json!({ "message": "token theft detected" })
    );
    // Both methods cleared.
    assert_eq!(h["front-token"], "remove");
    assert_eq!(h["st-refresh-token"], "");
    assert!(is_clearing(&set_cookie(&h, "sRefreshToken").unwrap()));

    // The session is gone: even the legitimate current token is refused.
    assert!(
        app.manager
            .get_session_information(&handle)
            .await
            .unwrap()
            .is_none()
    );
    let legit = app.refresh_header(&second.refresh).await;
    assert_eq!(legit.status(), 401);
    assert_eq!(body(legit).await, json!({ "message": "unauthorised" }));
}

both!(replaying_the_previous_refresh_token_within_the_grace_window_is_a_normal_refresh);
async fn replaying_the_previous_refresh_token_within_the_grace_window_is_a_normal_refresh(
    adapter: Adapter,
) {
    let app = start(adapter).await;
    let first = app.login_header("erin").await;
    let rotated = app.refresh_header(&first.refresh).await;
    assert_eq!(rotated.status(), 200);
    let second = header_tokens(rotated.headers());

    // Another tab, or a retry after a lost response, 10 s later.
    app.clock.advance(Duration::from_secs(10));
    let retry = app.refresh_header(&first.refresh).await;
    assert_eq!(retry.status(), 200);
    let retried = header_tokens(retry.headers());
    // Every such caller ends with the same current refresh token.
    assert_eq!(retried.refresh, second.refresh);
    assert_eq!(decode_front_token(&retried.front)["uid"], "erin");
}

both!(theft_is_detected_in_cookie_mode_too_and_the_cookies_are_cleared);
async fn theft_is_detected_in_cookie_mode_too_and_the_cookies_are_cleared(adapter: Adapter) {
    let app = start(adapter).await;
    let login = app.login_cookie("frank").await;
    let original = cookie_value(&set_cookie(login.headers(), "sRefreshToken").unwrap());
    let res = app
        .client
        .post(app.url("/auth/session/refresh"))
        .header("rid", "session")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    app.clock.advance(Duration::from_secs(31));
    let replay = app
        .bare_client()
        .post(app.url("/auth/session/refresh"))
        .header("cookie", format!("sRefreshToken={original}"))
        .header("rid", "session")
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    assert!(is_clearing(
        &set_cookie(replay.headers(), "sAccessToken").unwrap()
    ));
    assert!(is_clearing(
        &set_cookie(replay.headers(), "sRefreshToken").unwrap()
    ));
    assert_eq!(
        body(replay).await,
        json!({ "message": "token theft detected" })
    );
}

both!(refresh_with_both_methods_uses_the_header_and_clears_the_cookies_first);
async fn refresh_with_both_methods_uses_the_header_and_clears_the_cookies_first(adapter: Adapter) {
    let app = start(adapter).await;
    let cookie_login = app.login_cookie("gina").await;
    let cookie_refresh =
        cookie_value(&set_cookie(cookie_login.headers(), "sRefreshToken").unwrap());
    let header_login = app.login_header("gina").await;

    let res = app
        .bare_client()
        .post(app.url("/auth/session/refresh"))
        .header("cookie", format!("sRefreshToken={cookie_refresh}"))
        .bearer_auth(&header_login.refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    // The new tokens came in headers, with a real front token (the clear
    // ran first, so `remove` did not win).
    let new = header_tokens(h);
    assert_ne!(new.front, "remove");
    assert_eq!(decode_front_token(&new.front)["uid"], "gina");
    assert!(is_clearing(&set_cookie(h, "sAccessToken").unwrap()));
    assert!(is_clearing(&set_cookie(h, "sRefreshToken").unwrap()));
}

both!(a_legacy_id_refresh_token_cookie_asks_for_a_refresh_which_clears_it);
async fn a_legacy_id_refresh_token_cookie_asks_for_a_refresh_which_clears_it(adapter: Adapter) {
    let app = start(adapter).await;
    let tokens = app.login_header("hank").await;
    let verify = app
        .bare_client()
        .get(app.url("/me"))
        .bearer_auth(&tokens.access)
        .header("cookie", "sIdRefreshToken=legacy")
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 401);
    assert_eq!(
        body(verify).await,
        json!({ "message": "try refresh token" })
    );

    let res = app
        .bare_client()
        .post(app.url("/auth/session/refresh"))
        .bearer_auth(&tokens.refresh)
        .header("cookie", "sIdRefreshToken=legacy")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let legacy = set_cookie(res.headers(), "sIdRefreshToken").unwrap();
    assert!(is_clearing(&legacy));
    assert!(legacy.contains("Path=/;") || legacy.ends_with("Path=/"));
}

both!(duplicate_access_token_cookies_are_401_try_refresh_token);
async fn duplicate_access_token_cookies_are_401_try_refresh_token(adapter: Adapter) {
    let app = start(adapter).await;
    let login = app.login_cookie("ivy").await;
    let access = cookie_value(&set_cookie(login.headers(), "sAccessToken").unwrap());
    let res = app
        .bare_client()
        .get(app.url("/me"))
        .header(
            "cookie",
            format!("sAccessToken={access}; sAccessToken={access}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await, json!({ "message": "try refresh token" }));
}

both!(duplicate_cookies_at_refresh_are_cleared_on_the_older_cookie_domain);
async fn duplicate_cookies_at_refresh_are_cleared_on_the_older_cookie_domain(adapter: Adapter) {
    let app = start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| l.older_cookie_domain("old.example.com")),
            ..Setup::default()
        },
    )
    .await;
    let res = app
        .bare_client()
        .post(app.url("/auth/session/refresh"))
        .header("cookie", "sRefreshToken=a; sRefreshToken=b")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("front-token").is_none());
    let cleared = set_cookie(res.headers(), "sRefreshToken").unwrap();
    assert!(is_clearing(&cleared));
    assert!(cleared.contains("Domain=old.example.com"));
    assert!(cleared.contains("Path=/auth/session/refresh"));
    assert!(
        body(res).await["message"]
            .as_str()
            .unwrap()
            .contains("multiple session cookies")
    );
}

both!(duplicate_cookies_at_refresh_without_an_older_cookie_domain_are_a_500);
async fn duplicate_cookies_at_refresh_without_an_older_cookie_domain_are_a_500(adapter: Adapter) {
    let app = start(adapter).await;
    let res = app
        .bare_client()
        .post(app.url("/auth/session/refresh"))
        .header(
            "cookie",
            "sRefreshToken=first-value; sRefreshToken=second-value",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    // SuperTokens' text, which supertokens-website's tests look for.
    let message = body(res).await["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("The request contains multiple session cookies."),
        "{message}"
    );
    assert!(message.contains("older_cookie_domain"), "{message}");
    // No cookie value is echoed.
    assert!(!message.contains("value"), "{message}");
}

both!(a_forged_refresh_token_is_401_unauthorised_and_clears);
async fn a_forged_refresh_token_is_401_unauthorised_and_clears(adapter: Adapter) {
    let app = start(adapter).await;
    let res = app.refresh_header("not-a-real-refresh-token").await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["front-token"], "remove");
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
}

both!(a_tenant_prefixed_refresh_route_refreshes_with_the_cookie_it_is_sent);
async fn a_tenant_prefixed_refresh_route_refreshes_with_the_cookie_it_is_sent(adapter: Adapter) {
    let app = start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| l.tenant_refresh_routes(true)),
            ..Setup::default()
        },
    )
    .await;
    let login = app.login_cookie("tenant-user").await;
    let refresh_cookie = set_cookie(login.headers(), "sRefreshToken").unwrap();
    assert!(refresh_cookie.contains("Path=/auth;"), "{refresh_cookie}");
    // The browser sends the refresh cookie to the tenant route …
    assert!(
        app.jar_cookies("/auth/acme/session/refresh")
            .contains("sRefreshToken")
    );
    let res = app
        .client
        .post(app.url("/auth/acme/session/refresh"))
        .header("rid", "session")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(set_cookie(res.headers(), "sRefreshToken").is_some());
    // … and the plain route still works.
    let res = app
        .client
        .post(app.url("/auth/session/refresh"))
        .header("rid", "session")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

both!(without_tenant_refresh_routes_the_refresh_cookie_stays_on_the_refresh_path);
async fn without_tenant_refresh_routes_the_refresh_cookie_stays_on_the_refresh_path(
    adapter: Adapter,
) {
    let app = start(adapter).await;
    app.login_cookie("plain").await;
    assert!(
        !app.jar_cookies("/auth/acme/session/refresh")
            .contains("sRefreshToken")
    );
    let res = app
        .client
        .post(app.url("/auth/acme/session/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// An app on SuperTokens core's CDI 5.4 refresh model.
async fn start_child_promotion(adapter: Adapter) -> TestApp {
    start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| l.refresh_model(tessera::RefreshModel::ChildPromotion)),
            ..Setup::default()
        },
    )
    .await
}

/// `GET /me` in header mode with `access`.
async fn me_header(app: &TestApp, access: &str) -> reqwest::Response {
    app.bare_client()
        .get(app.url("/me"))
        .header("authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap()
}

both!(under_child_promotion_the_first_verify_after_a_refresh_sends_a_new_access_token);
async fn under_child_promotion_the_first_verify_after_a_refresh_sends_a_new_access_token(
    adapter: Adapter,
) {
    let app = start_child_promotion(adapter).await;
    let login = app.login_header("carol").await;
    app.clock.advance(Duration::from_secs(5));
    let res = app.refresh_header(&login.refresh).await;
    assert_eq!(res.status(), 200);
    let child = header_tokens(res.headers());
    assert_ne!(child.refresh, login.refresh);

    // The first verify promotes the child and answers with a new access
    // token and its front-token (the SDK's ACCESS_TOKEN_PAYLOAD_UPDATED).
    let first = me_header(&app, &child.access).await;
    assert_eq!(first.status(), 200);
    let promoted = first.headers()["st-access-token"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(promoted, child.access);
    let front = first.headers()["front-token"].to_str().unwrap().to_owned();
    assert_eq!(decode_front_token(&front)["uid"], "carol");
    assert!(first.headers().get("st-refresh-token").is_none());
    assert_eq!(body(first).await["userId"], "carol");

    // The promoted token verifies as it is.
    let second = me_header(&app, &promoted).await;
    assert_eq!(second.status(), 200);
    assert!(second.headers().get("front-token").is_none());
    assert!(second.headers().get("st-access-token").is_none());

    // The parent of a promoted child is theft (no grace window here).
    let replay = app.refresh_header(&login.refresh).await;
    assert_eq!(replay.status(), 401);
    assert_eq!(
        body(replay).await,
        json!({ "message": "token theft detected" })
    );
}

both!(under_child_promotion_a_cookie_session_gets_the_promoted_token_as_a_cookie);
async fn under_child_promotion_a_cookie_session_gets_the_promoted_token_as_a_cookie(
    adapter: Adapter,
) {
    let app = start_child_promotion(adapter).await;
    app.login_cookie("dave").await;
    app.clock.advance(Duration::from_secs(5));
    let refresh = app
        .client
        .post(app.url("/auth/session/refresh"))
        .header("rid", "session")
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 200);
    let child = cookie_value(&set_cookie(refresh.headers(), "sAccessToken").unwrap());

    let first = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let promoted = cookie_value(&set_cookie(first.headers(), "sAccessToken").unwrap());
    assert_ne!(promoted, child);
    assert!(first.headers().get("front-token").is_some());
    assert!(set_cookie(first.headers(), "sRefreshToken").is_none());

    let second = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(second.status(), 200);
    assert!(set_cookie(second.headers(), "sAccessToken").is_none());
    assert!(second.headers().get("front-token").is_none());
}

both!(by_default_the_first_verify_after_a_refresh_sends_no_token);
async fn by_default_the_first_verify_after_a_refresh_sends_no_token(adapter: Adapter) {
    let app = start(adapter).await;
    let login = app.login_header("erin").await;
    app.clock.advance(Duration::from_secs(5));
    let res = app.refresh_header(&login.refresh).await;
    assert_eq!(res.status(), 200);
    let new = header_tokens(res.headers());
    let first = me_header(&app, &new.access).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("front-token").is_none());
    assert!(first.headers().get("st-access-token").is_none());
}

both!(under_child_promotion_signout_after_a_refresh_clears_and_sends_no_token);
async fn under_child_promotion_signout_after_a_refresh_clears_and_sends_no_token(adapter: Adapter) {
    let app = start_child_promotion(adapter).await;
    app.login_cookie("frank").await;
    app.clock.advance(Duration::from_secs(5));
    let refresh = app
        .client
        .post(app.url("/auth/session/refresh"))
        .header("rid", "session")
        .header("st-auth-mode", "cookie")
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 200);
    // The signout's verify promotes the child; the clearing still wins.
    let res = app
        .client
        .post(app.url("/auth/signout"))
        .header("rid", "session")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["front-token"], "remove");
    assert!(is_clearing(&set_cookie(&h, "sAccessToken").unwrap()));
    assert!(is_clearing(&set_cookie(&h, "sRefreshToken").unwrap()));
    assert_eq!(app.jar_cookies("/"), "");
}
