//! Cookies, headers and statuses on the wire (FDI §1–4, §6, §8, §9), and
//! revocation.
// Cases are plain async fns run by `both!`: unwrap as in tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_adapter_tests::*;
use tessera_http::{ClaimValidator, Fdi, TokenTransferPolicy};

both!(session_cookies_are_httponly_samesite_lax_secure_with_the_refresh_path);
async fn session_cookies_are_httponly_samesite_lax_secure_with_the_refresh_path(adapter: Adapter) {
    let app = start(adapter).await;
    let login = app.login_cookie("alice").await;
    let access = set_cookie(login.headers(), "sAccessToken").unwrap();
    let refresh = set_cookie(login.headers(), "sRefreshToken").unwrap();
    for c in [&access, &refresh] {
        assert!(c.contains("; HttpOnly"), "{c}");
        assert!(c.contains("; SameSite=Lax"), "{c}");
        assert!(c.contains("; Secure"), "{c}");
        assert!(c.contains("; Expires="), "{c}");
        assert!(!c.contains("Domain="), "host-only by default: {c}");
    }
    assert!(
        access.contains("; Path=/;") || access.ends_with("; Path=/"),
        "{access}"
    );
    assert!(
        refresh.contains("; Path=/auth/session/refresh"),
        "{refresh}"
    );
}

both!(cookie_attributes_follow_the_layer_configuration);
async fn cookie_attributes_follow_the_layer_configuration(adapter: Adapter) {
    let app = start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| {
                l.cookie_secure(false)
                    .cookie_domain("127.0.0.1")
                    .cookie_same_site(tessera_http::SameSite::Strict)
                    .api_base_path("/api/auth/")
            }),
            ..Setup::default()
        },
    )
    .await;
    let login = app.login_cookie("bob").await;
    let refresh = set_cookie(login.headers(), "sRefreshToken").unwrap();
    assert!(!refresh.contains("Secure"), "{refresh}");
    assert!(refresh.contains("SameSite=Strict"), "{refresh}");
    assert!(refresh.contains("Domain=127.0.0.1"), "{refresh}");
    assert!(
        refresh.contains("Path=/api/auth/session/refresh"),
        "{refresh}"
    );
}

both!(front_token_decodes_to_ate_uid_and_the_full_payload);
async fn front_token_decodes_to_ate_uid_and_the_full_payload(adapter: Adapter) {
    let app = start(adapter).await;
    let tokens = app.login_header("carol").await;
    let front = decode_front_token(&tokens.front);
    assert_eq!(front["uid"], "carol");
    let ate = front["ate"].as_u64().unwrap();
    let up = &front["up"];
    assert_eq!(up["exp"].as_u64().unwrap() * 1000, ate);
    assert_eq!(up["sub"], "carol");
    assert_eq!(up["role"], "reader");
    assert!(up["iat"].is_u64());
    assert!(up["sessionHandle"].is_string());
    assert_eq!(
        front.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["ate", "uid", "up"]
    );
}

both!(token_responses_are_no_store_and_expose_the_token_headers);
async fn token_responses_are_no_store_and_expose_the_token_headers(adapter: Adapter) {
    let app = start(adapter).await;
    let res = app
        .bare_client()
        .post(app.url("/login/dave"))
        .send()
        .await
        .unwrap();
    let h = res.headers();
    assert_eq!(h["cache-control"], "no-store");
    let exposed: Vec<&str> = h["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .split(',')
        .collect();
    for name in ["front-token", "st-access-token", "st-refresh-token"] {
        assert!(exposed.contains(&name), "{exposed:?}");
    }

    let cookie_login = app.login_cookie("dave").await;
    assert_eq!(cookie_login.headers()["cache-control"], "no-store");
    assert_eq!(
        cookie_login.headers()["access-control-expose-headers"],
        "front-token"
    );

    // A response without token changes is left alone.
    let me = app.client.get(app.url("/me")).send().await.unwrap();
    assert!(me.headers().get("cache-control").is_none());
    assert!(me.headers().get("front-token").is_none());
}

both!(creation_uses_cookies_only_when_st_auth_mode_says_cookie);
async fn creation_uses_cookies_only_when_st_auth_mode_says_cookie(adapter: Adapter) {
    let app = start(adapter).await;
    for (mode, cookie) in [
        (Some("cookie"), true),
        (Some("COOKIE"), true),
        (Some("header"), false),
        (None, false),
    ] {
        let mut req = app.bare_client().post(app.url("/login/erin"));
        if let Some(m) = mode {
            req = req.header("st-auth-mode", m);
        }
        let res = req.send().await.unwrap();
        assert_eq!(
            set_cookie(res.headers(), "sAccessToken").is_some(),
            cookie,
            "{mode:?}"
        );
        assert_eq!(
            res.headers().get("st-access-token").is_some(),
            !cookie,
            "{mode:?}"
        );
        assert!(res.headers().get("front-token").is_some());
    }
}

both!(creation_in_cookie_mode_clears_a_header_session_of_the_same_client);
async fn creation_in_cookie_mode_clears_a_header_session_of_the_same_client(adapter: Adapter) {
    let app = start(adapter).await;
    let old = app.login_header("frank").await;
    let res = app
        .bare_client()
        .post(app.url("/login/frank"))
        .header("st-auth-mode", "cookie")
        .bearer_auth(&old.access)
        .send()
        .await
        .unwrap();
    let h = res.headers();
    assert_eq!(h["st-access-token"], "");
    assert_eq!(h["st-refresh-token"], "");
    assert!(!is_clearing(&set_cookie(h, "sAccessToken").unwrap()));
    assert_ne!(h["front-token"], "remove");
}

both!(token_transfer_policy_can_force_cookies);
async fn token_transfer_policy_can_force_cookies(adapter: Adapter) {
    let app = start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| l.token_transfer_policy(TokenTransferPolicy::Cookie)),
            ..Setup::default()
        },
    )
    .await;
    let res = app
        .bare_client()
        .post(app.url("/login/gina"))
        .send()
        .await
        .unwrap();
    assert!(set_cookie(res.headers(), "sAccessToken").is_some());
    assert!(res.headers().get("st-access-token").is_none());
}

both!(a_header_token_wins_over_the_cookie_and_a_foreign_bearer_falls_through);
async fn a_header_token_wins_over_the_cookie_and_a_foreign_bearer_falls_through(adapter: Adapter) {
    let app = start(adapter).await;
    app.login_cookie("cookie-user").await;
    let header = app.login_header("header-user").await;

    let both = app
        .client
        .get(app.url("/me"))
        .bearer_auth(&header.access)
        .send()
        .await
        .unwrap();
    assert_eq!(body(both).await["userId"], "header-user");

    let foreign = app
        .client
        .get(app.url("/me"))
        .bearer_auth("some-opaque-oauth-token")
        .send()
        .await
        .unwrap();
    let me = body(foreign).await;
    assert_eq!(me["userId"], "cookie-user");
    assert_eq!(me["method"], "cookie");

    // A foreign JWT (another issuer's, HS256, no session claims) is ignored too.
    let foreign_jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvYXV0aC11c2VyIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJl";
    let jwt = app
        .client
        .get(app.url("/me"))
        .bearer_auth(foreign_jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(jwt.status(), 200);
    assert_eq!(body(jwt).await["userId"], "cookie-user");
}

both!(no_token_is_401_unauthorised_and_clears_nothing);
async fn no_token_is_401_unauthorised_and_clears_nothing(adapter: Adapter) {
    let app = start(adapter).await;
    let res = app.bare_client().get(app.url("/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("front-token").is_none());
    assert!(res.headers().get("set-cookie").is_none());
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
}

both!(a_cookie_that_is_not_utf8_hides_neither_the_session_nor_a_duplicate);
async fn a_cookie_that_is_not_utf8_hides_neither_the_session_nor_a_duplicate(adapter: Adapter) {
    // Both adapters read the `Cookie` header as bytes: another cookie with
    // bytes that are not UTF-8 (Latin-1 from an old site on the same
    // domain) is skipped, the session cookie beside it still counts.
    let app = start(adapter).await;
    let login = app.login_cookie("ines").await;
    let access = cookie_value(&set_cookie(login.headers(), "sAccessToken").unwrap());
    let with_latin1 = |cookies: String| {
        let mut bytes = b"legacy=caf\xe9; ".to_vec();
        bytes.extend_from_slice(cookies.as_bytes());
        reqwest::header::HeaderValue::from_bytes(&bytes).unwrap()
    };
    let res = app
        .bare_client()
        .get(app.url("/me"))
        .header("cookie", with_latin1(format!("sAccessToken={access}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(body(res).await["userId"], "ines");
    // The same byte in the header of a second access-token cookie: two
    // access tokens were sent, which is ambiguous (try refresh), not one.
    let res = app
        .bare_client()
        .get(app.url("/me"))
        .header("cookie", format!("sAccessToken={access}"))
        .header("cookie", with_latin1(format!("sAccessToken={access}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await, json!({ "message": "try refresh token" }));
    // A non-UTF-8 access-token value is no token at all.
    let res = app
        .bare_client()
        .get(app.url("/me"))
        .header(
            "cookie",
            reqwest::header::HeaderValue::from_bytes(b"sAccessToken=\xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
}

both!(a_forged_access_token_is_refused);
async fn a_forged_access_token_is_refused(adapter: Adapter) {
    let app = start(adapter).await;
    let tokens = app.login_header("hank").await;
    // Change one character in the middle of the signature: the token is
    // still well-formed, but the signature no longer matches.
    let dot = tokens.access.rfind('.').unwrap();
    let i = dot + 20;
    let c = tokens.access.as_bytes()[i];
    let mut forged = tokens.access.clone();
    forged.replace_range(i..=i, if c == b'A' { "B" } else { "A" });
    let res = app
        .bare_client()
        .get(app.url("/me"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
}

both!(update_jwt_payload_sends_a_new_access_token_and_front_token_on_this_response);
async fn update_jwt_payload_sends_a_new_access_token_and_front_token_on_this_response(
    adapter: Adapter,
) {
    let app = start(adapter).await;
    let tokens = app.login_header("ivy").await;
    let res = app
        .bare_client()
        .post(app.url("/payload"))
        .bearer_auth(&tokens.access)
        .json(&json!({ "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    let out = body(res).await;
    assert_eq!(out["payload"], json!({ "role": "admin" }));
    let new_access = h["st-access-token"].to_str().unwrap();
    assert_ne!(new_access, tokens.access);
    assert_eq!(out["accessToken"], new_access);
    assert!(h.get("st-refresh-token").is_none());
    let front = decode_front_token(h["front-token"].to_str().unwrap());
    assert_eq!(front["up"]["role"], "admin");
    // The expiry is unchanged.
    assert_eq!(front["ate"], decode_front_token(&tokens.front)["ate"]);

    let me = app
        .bare_client()
        .get(app.url("/me"))
        .bearer_auth(new_access)
        .send()
        .await
        .unwrap();
    assert_eq!(body(me).await["payload"], json!({ "role": "admin" }));
}

both!(a_protected_claim_in_the_payload_is_400);
async fn a_protected_claim_in_the_payload_is_400(adapter: Adapter) {
    let app = start(adapter).await;
    let tokens = app.login_header("jack").await;
    let res = app
        .bare_client()
        .post(app.url("/payload"))
        .bearer_auth(&tokens.access)
        .json(&json!({ "sub": "someone-else" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(body(res).await["message"].is_string());
}

both!(a_session_revoked_during_the_request_makes_data_updates_401_and_clear);
async fn a_session_revoked_during_the_request_makes_data_updates_401_and_clear(adapter: Adapter) {
    let app = start(adapter).await;
    let tokens = app.login_header("kate").await;
    let handle = decode_front_token(&tokens.front)["up"]["sessionHandle"]
        .as_str()
        .unwrap()
        .to_owned();
    app.manager.revoke_session(&handle).await.unwrap();
    let res = app
        .bare_client()
        .post(app.url("/data"))
        .bearer_auth(&tokens.access)
        .json(&json!({ "x": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["front-token"], "remove");
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
}

both!(with_blacklisting_a_revoked_sessions_unexpired_access_token_is_refused_at_once);
async fn with_blacklisting_a_revoked_sessions_unexpired_access_token_is_refused_at_once(
    adapter: Adapter,
) {
    let app = start_with(
        adapter,
        Setup {
            blacklisting: true,
            ..Setup::default()
        },
    )
    .await;
    let login = body(app.login_cookie("liam").await).await;
    let handle = login["handle"].as_str().unwrap();
    let ok = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(ok.status(), 200);

    let revoke = app
        .bare_client()
        .post(app.url(&format!("/admin/revoke/{handle}")))
        .send()
        .await
        .unwrap();
    assert_eq!(body(revoke).await, json!({ "revoked": true }));

    let refused = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["front-token"], "remove");
    assert_eq!(body(refused).await, json!({ "message": "unauthorised" }));
}

both!(without_blacklisting_a_database_checked_route_refuses_a_revoked_session);
async fn without_blacklisting_a_database_checked_route_refuses_a_revoked_session(adapter: Adapter) {
    let app = start(adapter).await;
    let login = body(app.login_cookie("mia").await).await;
    let handle = login["handle"].as_str().unwrap();
    app.manager.revoke_session(handle).await.unwrap();

    let unchecked = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(unchecked.status(), 200, "the JWT alone is still valid");
    let checked = app.client.post(app.url("/checked")).send().await.unwrap();
    assert_eq!(checked.status(), 401);
    assert_eq!(body(checked).await, json!({ "message": "unauthorised" }));
}

both!(revoking_the_own_session_clears_only_the_method_in_use);
async fn revoking_the_own_session_clears_only_the_method_in_use(adapter: Adapter) {
    let app = start(adapter).await;
    app.login_cookie("nina").await;
    let res = app.client.post(app.url("/revoke")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(is_clearing(
        &set_cookie(res.headers(), "sAccessToken").unwrap()
    ));
    assert!(res.headers().get("st-access-token").is_none());
    assert_eq!(res.headers()["front-token"], "remove");
}

both!(signout_revokes_the_session_and_clears_the_method_in_use);
async fn signout_revokes_the_session_and_clears_the_method_in_use(adapter: Adapter) {
    let app = start(adapter).await;
    let login = body(app.login_cookie("oscar").await).await;
    let handle = login["handle"].as_str().unwrap();
    let res = app
        .client
        .post(app.url("/auth/signout"))
        .header("rid", "session")
        .header("fdi-version", "4.1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(body(res).await, json!({ "status": "OK" }));
    assert_eq!(h["front-token"], "remove");
    assert!(is_clearing(&set_cookie(&h, "sAccessToken").unwrap()));
    assert!(is_clearing(&set_cookie(&h, "sRefreshToken").unwrap()));
    assert!(h.get("st-access-token").is_none());
    assert!(
        app.manager
            .get_session_information(handle)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(app.jar_cookies("/"), "");
}

both!(signout_without_a_session_is_401_and_clears_nothing);
async fn signout_without_a_session_is_401_and_clears_nothing(adapter: Adapter) {
    let app = start(adapter).await;
    let res = app
        .bare_client()
        .post(app.url("/auth/signout"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("front-token").is_none());
    assert_eq!(body(res).await, json!({ "message": "unauthorised" }));
}

#[derive(Debug)]
struct MustBeAdmin;

impl ClaimValidator for MustBeAdmin {
    fn id(&self) -> &str {
        "role"
    }
    fn validate(&self, payload: &Value) -> Result<(), Option<Value>> {
        if payload["role"] == "admin" {
            Ok(())
        } else {
            Err(Some(
                json!({ "message": "wrong value", "expectedValue": "admin" }),
            ))
        }
    }
}

both!(a_failed_claim_is_403_invalid_claim_and_signout_skips_claims);
async fn a_failed_claim_is_403_invalid_claim_and_signout_skips_claims(adapter: Adapter) {
    let app = start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| l.claim_validator(MustBeAdmin)),
            ..Setup::default()
        },
    )
    .await;
    let tokens = app.login_header("pat").await;
    let res = app
        .bare_client()
        .get(app.url("/me"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("front-token").is_none());
    assert_eq!(
        body(res).await,
        json!({
            "message": "invalid claim",
            "claimValidationErrors": [
                { "id": "role", "reason": { "message": "wrong value", "expectedValue": "admin" } }
            ]
        })
    );
    let signout = app
        .bare_client()
        .post(app.url("/auth/signout"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(signout.status(), 200);
}

both!(status_codes_are_configurable);
async fn status_codes_are_configurable(adapter: Adapter) {
    let app = start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| l.status_codes(440, 403).unwrap()),
            ..Setup::default()
        },
    )
    .await;
    let res = app.bare_client().get(app.url("/me")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 440);
    assert!(
        Fdi::new(app.manager.clone())
            .status_codes(401, 401)
            .is_err()
    );
}

both!(a_route_without_the_layer_is_a_500_not_a_panic);
async fn a_route_without_the_layer_is_a_500_not_a_panic(adapter: Adapter) {
    let addr = match adapter {
        Adapter::Axum => {
            async fn me(session: tessera_axum::Session) -> Json<Value> {
                Json(json!({ "userId": session.get_user_id() }))
            }
            let app: Router = Router::new().route("/me", get(me));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            addr
        }
        Adapter::Actix => unlayered_actix_app(),
    };
    let res = reqwest::get(format!("http://{addr}/me")).await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(body(res).await, json!({ "message": "internal error" }));
}

both!(options_requests_need_no_session);
async fn options_requests_need_no_session(adapter: Adapter) {
    let app = start(adapter).await;
    let res = app
        .bare_client()
        .request(reqwest::Method::OPTIONS, app.url("/maybe"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 401);
}

both!(the_access_token_can_also_be_exposed_as_a_header_in_cookie_mode);
async fn the_access_token_can_also_be_exposed_as_a_header_in_cookie_mode(adapter: Adapter) {
    let app = start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| l.expose_access_token_in_cookie_mode(true)),
            ..Setup::default()
        },
    )
    .await;
    let login = app.login_cookie("quinn").await;
    let h = login.headers();
    let cookie = cookie_value(&set_cookie(h, "sAccessToken").unwrap());
    assert_eq!(h["st-access-token"].to_str().unwrap(), cookie);
    assert!(h.get("st-refresh-token").is_none());
}

#[tokio::test]
async fn cors_preflight_allows_the_sdk_headers_with_credentials_for_the_given_origin() {
    // The two adapters' CORS helpers, each over its ecosystem's middleware,
    // answer the SDK's preflight alike.
    use tower::ServiceExt as _;
    let app: axum::Router = axum::Router::new()
        .route("/me", get(|| async { "ok" }))
        .layer(tessera_axum::cors(&["http://localhost:3000"]));
    let req = http::Request::builder()
        .method("OPTIONS")
        .uri("/me")
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "rid,fdi-version,anti-csrf,st-auth-mode,authorization,content-type",
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "http://localhost:3000");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for name in [
        "rid",
        "fdi-version",
        "anti-csrf",
        "st-auth-mode",
        "authorization",
        "content-type",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    let other = http::Request::builder()
        .method("OPTIONS")
        .uri("/me")
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.oneshot(other).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let srv = actix_web::test::init_service(
        actix_web::App::new()
            .route("/me", actix_web::web::get().to(|| async { "ok" }))
            .wrap(tessera_actix::cors(&["http://localhost:3000"])),
    )
    .await;
    let req = actix_web::test::TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/me")
        .insert_header(("origin", "http://localhost:3000"))
        .insert_header(("access-control-request-method", "POST"))
        .insert_header(("access-control-request-headers", "rid,st-auth-mode"))
        .to_request();
    let res = actix_web::test::call_service(&srv, req).await;
    let h = res.headers();
    assert_eq!(
        h.get("access-control-allow-origin").unwrap(),
        "http://localhost:3000"
    );
    assert_eq!(h.get("access-control-allow-credentials").unwrap(), "true");
}

both!(cookie_for_browsers_gives_a_form_login_cookies_and_other_clients_headers);
async fn cookie_for_browsers_gives_a_form_login_cookies_and_other_clients_headers(
    adapter: Adapter,
) {
    let app = start_with(
        adapter,
        Setup {
            layer: Box::new(|l: Fdi| {
                l.token_transfer_policy(TokenTransferPolicy::CookieForBrowsers)
            }),
            ..Setup::default()
        },
    )
    .await;
    // A browser's form post: fetch metadata, no st-auth-mode.
    let browser = app
        .bare_client()
        .post(app.url("/login/ursula"))
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), 200);
    assert!(set_cookie(browser.headers(), "sAccessToken").is_some());
    assert!(browser.headers().get("st-access-token").is_none());
    // curl or a mobile app: headers.
    let plain = app
        .bare_client()
        .post(app.url("/login/ursula"))
        .send()
        .await
        .unwrap();
    assert!(set_cookie(plain.headers(), "sAccessToken").is_none());
    assert!(plain.headers().get("st-access-token").is_some());
    // The SDK says what it wants, and that wins even in a browser.
    let sdk = app
        .bare_client()
        .post(app.url("/login/ursula"))
        .header("sec-fetch-mode", "cors")
        .header("st-auth-mode", "header")
        .send()
        .await
        .unwrap();
    assert!(set_cookie(sdk.headers(), "sAccessToken").is_none());
    assert!(sdk.headers().get("st-access-token").is_some());
}
