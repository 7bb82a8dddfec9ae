//! `Config::core_token_versions`: SuperTokens core's older access-token
//! formats and version-less JWT-recipe tokens are access tokens only when
//! the flag is on (as `tessera serve` sets it); with the default off, a JWT
//! our own key signed without `version: 5` never passes, whatever claims
//! it carries, and no old format is issued. Memory store: the rule is in
//! the token code, not the store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Map, Value, json};
use tessera::{Error, NewSession, SessionManager, TokenVersion, VerifyOptions};

async fn manager(core_versions: bool) -> SessionManager {
    SessionManager::builder()
        .database_url("memory:")
        .background_tasks(false)
        .session_token_type_claim(!core_versions)
        .core_token_versions(core_versions)
        .build()
        .await
        .unwrap()
}

fn payload_of(token: &str) -> Map<String, Value> {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

const CHECK_DB: VerifyOptions = VerifyOptions {
    anti_csrf_check: false,
    enable_anti_csrf: None,
    check_database: true,
};

/// A JWT-recipe token (`sign_jwt`: no `version` in its header) carrying
/// every claim of a live session's access token.
async fn session_claims_as_jwt(m: &SessionManager) -> (String, String) {
    let created = m
        .create_new_session("u1", json!({}), json!({}))
        .await
        .unwrap();
    let mut claims = payload_of(&created.access_token.token);
    claims.remove("exp");
    claims.remove("iat");
    let jwt = m
        .sign_jwt(&claims, Duration::from_secs(600), true, None)
        .await
        .unwrap();
    (jwt, created.claims.session_handle.clone())
}

#[tokio::test]
async fn off_by_default_a_version_less_jwt_with_every_session_claim_is_no_access_token() {
    // The engine's default keeps `stt`; with the claim copied too, the
    // header alone must refuse it.
    let m = manager(false).await;
    let (jwt, _) = session_claims_as_jwt(&m).await;
    match m.get_session(&jwt, None, CHECK_DB).await {
        Err(Error::Unauthorised { .. }) => {}
        other => panic!("{other:?}"),
    }
    // Without `stt` (as serve's claims), still refused while the flag is off.
    let m = SessionManager::builder()
        .database_url("memory:")
        .background_tasks(false)
        .session_token_type_claim(false)
        .build()
        .await
        .unwrap();
    let (jwt, _) = session_claims_as_jwt(&m).await;
    assert!(m.get_session(&jwt, None, CHECK_DB).await.is_err());
    // And no old format is issued.
    for version in [TokenVersion::V2, TokenVersion::V3, TokenVersion::V4] {
        match m
            .create_session_versioned(NewSession::new("u2"), version)
            .await
        {
            Err(Error::InvalidInput(_)) => {}
            other => panic!("{version:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn on_a_version_less_jwt_with_every_session_claim_verifies_and_one_without_does_not() {
    let m = manager(true).await;
    let (jwt, handle) = session_claims_as_jwt(&m).await;
    let claims = m.get_session(&jwt, None, CHECK_DB).await.unwrap();
    assert_eq!(claims.session_handle, handle);
    assert_eq!(claims.version, TokenVersion::V5);
    let bare = m
        .sign_jwt(
            json!({"sub": "u1"}).as_object().unwrap(),
            Duration::from_secs(60),
            true,
            None,
        )
        .await
        .unwrap();
    assert!(m.get_session(&bare, None, CHECK_DB).await.is_err());
    // Longer-lived than an access token may be: refused.
    let created = m
        .create_new_session("u3", json!({}), json!({}))
        .await
        .unwrap();
    let mut long = payload_of(&created.access_token.token);
    long.remove("exp");
    long.remove("iat");
    let long = m
        .sign_jwt(&long, Duration::from_secs(10 * 3600), true, None)
        .await
        .unwrap();
    assert!(m.get_session(&long, None, CHECK_DB).await.is_err());
    // The session gone, the database check refuses the JWT.
    assert!(m.revoke_session(&handle).await.unwrap());
    assert!(m.get_session(&jwt, None, CHECK_DB).await.is_err());
}

#[tokio::test]
async fn on_old_formats_round_trip_and_keep_their_format_through_regenerate() {
    let m = manager(true).await;
    for version in [
        TokenVersion::V2,
        TokenVersion::V3,
        TokenVersion::V4,
        TokenVersion::V5,
    ] {
        let created = m
            .create_session_versioned(
                NewSession::new("u").jwt_payload(json!({"role": "r"})),
                version,
            )
            .await
            .unwrap();
        assert_eq!(created.claims.version, version);
        let verified = m
            .get_session(&created.access_token.token, None, CHECK_DB)
            .await
            .unwrap();
        assert_eq!(verified.version, version);
        assert_eq!(verified.user_payload, json!({"role": "r"}));
        let regenerated = m
            .regenerate_access_token(&created.access_token.token, json!({"role": "s"}))
            .await
            .unwrap()
            .unwrap();
        let token = regenerated.access_token.unwrap().token;
        let again = m.get_session(&token, None, CHECK_DB).await.unwrap();
        assert_eq!(again.version, version);
        assert_eq!(again.user_payload, json!({"role": "s"}));
    }
    // v2 nests the payload, so `sub` is a user key there, and a refresh
    // (v5) of such a session is refused rather than overwritten.
    let created = m
        .create_session_versioned(
            NewSession::new("u").jwt_payload(json!({"sub": "x"})),
            TokenVersion::V2,
        )
        .await
        .unwrap();
    let refreshed = m.refresh_session(&created.refresh_token.token, None).await;
    assert!(
        matches!(refreshed, Err(Error::InvalidInput(_))),
        "{refreshed:?}"
    );
}
