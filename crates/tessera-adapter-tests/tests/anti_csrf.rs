//! Anti-CSRF (FDI §5): `ViaToken` (the engine's check of the `anti-csrf`
//! header) and `ViaCustomHeader` (the `rid` header), for verification and
//! refresh.
// Cases are plain async fns run by `both!`: unwrap as in tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use tessera::AntiCsrfMode;
use tessera_adapter_tests::*;
use tessera_http::{Fdi, SameSite};

fn with_mode(mode: AntiCsrfMode) -> Setup {
    Setup {
        anti_csrf: mode,
        ..Setup::default()
    }
}

both!(via_token_issues_an_anti_csrf_token_in_cookie_mode_and_exposes_it);
async fn via_token_issues_an_anti_csrf_token_in_cookie_mode_and_exposes_it(adapter: Adapter) {
    let app = start_with(adapter, with_mode(AntiCsrfMode::ViaToken)).await;
    let login = app.login_cookie("alice").await;
    let h = login.headers();
    assert!(!h["anti-csrf"].is_empty());
    let exposed = h["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.split(',').any(|n| n == "anti-csrf"), "{exposed}");
    let up = &decode_front_token(h["front-token"].to_str().unwrap())["up"];
    assert_eq!(up["antiCsrfToken"], h["anti-csrf"].to_str().unwrap());
}

both!(via_token_post_without_the_anti_csrf_header_is_401_try_refresh_token);
async fn via_token_post_without_the_anti_csrf_header_is_401_try_refresh_token(adapter: Adapter) {
    let app = start_with(adapter, with_mode(AntiCsrfMode::ViaToken)).await;
    let login = app.login_cookie("alice").await;
    let csrf = login.headers()["anti-csrf"].to_str().unwrap().to_owned();

    let missing = app.client.post(app.url("/me")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(missing.headers().get("front-token").is_none());
    assert_eq!(
        body(missing).await,
        json!({ "message": "try refresh token" })
    );

    let wrong = app
        .client
        .post(app.url("/me"))
        .header("anti-csrf", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let right = app
        .client
        .post(app.url("/me"))
        .header("anti-csrf", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

both!(via_token_get_is_not_checked_but_head_is);
async fn via_token_get_is_not_checked_but_head_is(adapter: Adapter) {
    let app = start_with(adapter, with_mode(AntiCsrfMode::ViaToken)).await;
    app.login_cookie("bob").await;
    let get = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(get.status(), 200);
    let head = app.client.head(app.url("/me")).send().await.unwrap();
    assert_eq!(head.status(), 401);
}

both!(via_token_is_never_used_for_header_mode_sessions);
async fn via_token_is_never_used_for_header_mode_sessions(adapter: Adapter) {
    let app = start_with(adapter, with_mode(AntiCsrfMode::ViaToken)).await;
    let res = app
        .bare_client()
        .post(app.url("/login/carol"))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("anti-csrf").is_none());
    let tokens = header_tokens(res.headers());
    assert!(decode_front_token(&tokens.front)["up"]["antiCsrfToken"].is_null());
    let post = app
        .bare_client()
        .post(app.url("/me"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    let refresh = app.refresh_header(&tokens.refresh).await;
    assert_eq!(refresh.status(), 200);
}

both!(via_token_cookie_refresh_needs_the_anti_csrf_header);
async fn via_token_cookie_refresh_needs_the_anti_csrf_header(adapter: Adapter) {
    let app = start_with(adapter, with_mode(AntiCsrfMode::ViaToken)).await;
    let login = app.login_cookie("dave").await;
    let csrf = login.headers()["anti-csrf"].to_str().unwrap().to_owned();
    let refresh_cookie = cookie_value(&set_cookie(login.headers(), "sRefreshToken").unwrap());

    let without = app
        .bare_client()
        .post(app.url("/auth/session/refresh"))
        .header("cookie", format!("sRefreshToken={refresh_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 401);
    assert_eq!(without.headers()["front-token"], "remove");
    assert_eq!(body(without).await, json!({ "message": "unauthorised" }));

    let with = app
        .client
        .post(app.url("/auth/session/refresh"))
        .header("anti-csrf", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    assert_eq!(with.headers()["anti-csrf"], csrf.as_str());
}

both!(via_custom_header_post_without_rid_is_401_try_refresh_token);
async fn via_custom_header_post_without_rid_is_401_try_refresh_token(adapter: Adapter) {
    let app = start_with(adapter, with_mode(AntiCsrfMode::ViaCustomHeader)).await;
    app.login_cookie("erin").await;

    let without = app.client.post(app.url("/me")).send().await.unwrap();
    assert_eq!(without.status(), 401);
    assert!(without.headers().get("front-token").is_none());
    assert_eq!(
        body(without).await,
        json!({ "message": "try refresh token" })
    );

    // Any value will do, `anti-csrf` included (what the website sends).
    let with = app
        .client
        .post(app.url("/me"))
        .header("rid", "anti-csrf")
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);

    let get = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(get.status(), 200);
}

both!(via_custom_header_cookie_refresh_without_rid_is_401_unauthorised_and_clears);
async fn via_custom_header_cookie_refresh_without_rid_is_401_unauthorised_and_clears(
    adapter: Adapter,
) {
    let app = start_with(adapter, with_mode(AntiCsrfMode::ViaCustomHeader)).await;
    app.login_cookie("frank").await;
    let res = app
        .client
        .post(app.url("/auth/session/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["front-token"], "remove");
    assert!(is_clearing(
        &set_cookie(res.headers(), "sRefreshToken").unwrap()
    ));
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
}

both!(via_custom_header_does_not_apply_to_header_mode);
async fn via_custom_header_does_not_apply_to_header_mode(adapter: Adapter) {
    let app = start_with(adapter, with_mode(AntiCsrfMode::ViaCustomHeader)).await;
    let tokens = app.login_header("gina").await;
    let post = app
        .bare_client()
        .post(app.url("/me"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    let refresh = app.refresh_header(&tokens.refresh).await;
    assert_eq!(refresh.status(), 200);
}

both!(same_site_none_cookies_default_to_the_custom_header_check);
async fn same_site_none_cookies_default_to_the_custom_header_check(adapter: Adapter) {
    let app = start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| l.cookie_same_site(SameSite::None)),
            ..Setup::default()
        },
    )
    .await;
    let login = app.login_cookie("hank").await;
    assert!(
        set_cookie(login.headers(), "sAccessToken")
            .unwrap()
            .contains("SameSite=None")
    );
    let without = app.client.post(app.url("/me")).send().await.unwrap();
    assert_eq!(without.status(), 401);
    let with = app
        .client
        .post(app.url("/me"))
        .header("rid", "session")
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
}

both!(no_anti_csrf_mode_accepts_a_cookie_post_without_headers);
async fn no_anti_csrf_mode_accepts_a_cookie_post_without_headers(adapter: Adapter) {
    let app = start(adapter).await;
    app.login_cookie("ivy").await;
    let res = app.client.post(app.url("/me")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
