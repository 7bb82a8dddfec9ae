//! An app on either adapter with EdDSA or ES256 signing keys
//! (`SessionManager::builder().signing_algorithm(..)`), end to end over
//! HTTP: login, verified requests, payload re-signing, refresh, a forged
//! token, and JWKS in the key type's shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera::SigningAlgorithm;
use tessera_adapter_tests::*;

fn alg_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["alg"].as_str().unwrap().to_owned()
}

async fn app_signing(adapter: Adapter, algorithm: SigningAlgorithm) -> TestApp {
    start_with(
        adapter,
        Setup {
            signing_algorithm: algorithm,
            ..Setup::default()
        },
    )
    .await
}

both!(an_eddsa_app_logs_in_verifies_refreshes_and_refuses_a_forgery_over_cookies);
async fn an_eddsa_app_logs_in_verifies_refreshes_and_refuses_a_forgery_over_cookies(
    adapter: Adapter,
) {
    let app = app_signing(adapter, SigningAlgorithm::EdDsa).await;
    let login = app.login_cookie("alice").await;
    let access = cookie_value(&set_cookie(login.headers(), "sAccessToken").unwrap());
    assert_eq!(alg_of(&access), "EdDSA");
    assert!(
        app.manager
            .jwks()
            .keys
            .iter()
            .all(|k| k.kty == "OKP" && k.crv == Some("Ed25519"))
    );

    let me = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(body(me).await["userId"], "alice");

    // The payload is re-signed with the same algorithm.
    let res = app
        .client
        .post(app.url("/payload"))
        .json(&json!({"plan": "pro"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let resigned = cookie_value(&set_cookie(res.headers(), "sAccessToken").unwrap());
    assert_eq!(alg_of(&resigned), "EdDSA");

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
    let refreshed = cookie_value(&set_cookie(res.headers(), "sAccessToken").unwrap());
    assert_eq!(alg_of(&refreshed), "EdDSA");
    let me = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);

    // A flipped signature bit: 401 unauthorised, not a server error.
    let (input, sig) = refreshed.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    sig[0] ^= 1;
    let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig));
    let res = app
        .bare_client()
        .get(app.url("/me"))
        .header("cookie", format!("sAccessToken={forged}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await, json!({"message": "unauthorised"}));
}

both!(an_es256_app_works_in_header_mode);
async fn an_es256_app_works_in_header_mode(adapter: Adapter) {
    let app = app_signing(adapter, SigningAlgorithm::Es256).await;
    let tokens = app.login_header("bob").await;
    assert_eq!(alg_of(&tokens.access), "ES256");
    let me = app
        .bare_client()
        .get(app.url("/me"))
        .header("authorization", format!("Bearer {}", tokens.access))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(body(me).await["userId"], "bob");
    app.clock.advance(Duration::from_secs(5));
    let res = app.refresh_header(&tokens.refresh).await;
    assert_eq!(res.status(), 200);
    let new = header_tokens(res.headers());
    assert_eq!(alg_of(&new.access), "ES256");
    let me = app
        .bare_client()
        .get(app.url("/me"))
        .header("authorization", format!("Bearer {}", new.access))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let jwks = app.manager.jwks();
    assert!(jwks.keys.iter().all(|k| k.kty == "EC" && k.alg == "ES256"));
}
