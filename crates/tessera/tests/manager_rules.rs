//! The engine's rules, checked through the public API on the memory store
//! with a clock the tests move (no sleeping).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tessera::store::{MemoryStore, SessionStore};
use tessera::{
    AntiCsrfMode, Error, ManualClock, NewSession, SessionManager, SessionMetadata,
    TryRefreshReason, UnauthorisedReason, VerifyOptions,
};

struct Fixture {
    manager: SessionManager,
    clock: ManualClock,
    store: MemoryStore,
}

async fn fixture_with(
    configure: impl FnOnce(tessera::SessionManagerBuilder) -> tessera::SessionManagerBuilder,
) -> Fixture {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::new();
    let builder = SessionManager::builder()
        .store(store.clone())
        .clock(clock.clone())
        .background_tasks(false);
    let manager = configure(builder).build().await.unwrap();
    Fixture {
        manager,
        clock,
        store,
    }
}

async fn fixture() -> Fixture {
    fixture_with(|b| b).await
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn reassemble(header: &Value, payload: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        sig
    )
}

fn split3(token: &str) -> (Value, Value, String) {
    let parts: Vec<&str> = token.split('.').collect();
    (
        decode_part(parts[0]),
        decode_part(parts[1]),
        parts[2].to_owned(),
    )
}

fn is_unauthorised(e: &Error) -> bool {
    matches!(e, Error::Unauthorised { .. })
}

const NO_CHECKS: VerifyOptions = VerifyOptions {
    anti_csrf_check: false,
    enable_anti_csrf: None,
    check_database: false,
};

#[tokio::test]
async fn access_token_has_supertokens_v5_header_and_claims() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("user-1", json!({"role": "reader"}), json!({"cart": [1, 2]}))
        .await
        .unwrap();
    let (header, payload, _) = split3(&s.access_token.token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["version"], "5");
    assert!(header["kid"].as_str().unwrap().starts_with("d-"));
    assert_eq!(payload["sub"], "user-1");
    assert_eq!(payload["rsub"], "user-1");
    assert_eq!(payload["tId"], "public");
    assert_eq!(payload["role"], "reader");
    assert_eq!(payload["stt"], 0);
    assert_eq!(payload["sessionHandle"], s.handle());
    assert_eq!(payload["parentRefreshTokenHash1"], Value::Null);
    assert_eq!(payload["antiCsrfToken"], Value::Null);
    assert_eq!(
        payload["exp"].as_u64().unwrap() * 1000,
        s.access_token.expiry_ms
    );
    assert_eq!(
        payload["iat"].as_u64().unwrap() * 1000,
        s.access_token.created_ms
    );
    assert!(payload.get("aud").is_none() && payload.get("nbf").is_none());
    // The refreshTokenHash1 claim is the hex SHA-256 of the refresh token.
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.refresh_token.token.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(payload["refreshTokenHash1"], hex);
}

#[tokio::test]
async fn front_token_carries_expiry_user_and_full_payload() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({"a": 1}), json!({}))
        .await
        .unwrap();
    let front: Value =
        serde_json::from_slice(&STANDARD.decode(&s.access_token.front_token).unwrap()).unwrap();
    assert_eq!(front["uid"], "u");
    assert_eq!(front["ate"].as_u64().unwrap(), s.access_token.expiry_ms);
    let (_, payload, _) = split3(&s.access_token.token);
    assert_eq!(front["up"], payload);
}

#[tokio::test]
async fn access_token_lifetime_has_bounded_jitter() {
    let f = fixture_with(|b| b.access_token_validity(Duration::from_secs(1000))).await;
    for _ in 0..20 {
        let s = f
            .manager
            .create_new_session("u", json!({}), json!({}))
            .await
            .unwrap();
        let life = (s.access_token.expiry_ms - s.access_token.created_ms) / 1000;
        assert!((950..=1000).contains(&life), "lifetime {life}");
    }
}

#[tokio::test]
async fn short_access_tokens_keep_most_of_their_validity() {
    // exp counts from the exact time, not from the truncated iat: a 3 s token
    // lives at least 2.85 s less under a second of rounding.
    let f = fixture_with(|b| b.access_token_validity(Duration::from_secs(3))).await;
    for _ in 0..20 {
        let now = f.clock.now_ms_for_test();
        let s = f
            .manager
            .create_new_session("u", json!({}), json!({}))
            .await
            .unwrap();
        let lives_ms = s.access_token.expiry_ms - now;
        assert!((1850..=3000).contains(&lives_ms), "lives {lives_ms} ms");
        f.clock.advance(Duration::from_millis(137));
    }
}

#[tokio::test]
async fn verified_session_returns_user_payload_without_protected_claims() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({"role": "admin"}), json!({}))
        .await
        .unwrap();
    let v = f
        .manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    assert_eq!(v.user_id, "u");
    assert_eq!(v.session_handle, s.handle());
    assert_eq!(v.user_payload, json!({"role": "admin"}));
}

#[tokio::test]
async fn tampered_payload_is_unauthorised() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({"role": "reader"}), json!({}))
        .await
        .unwrap();
    let (header, mut payload, sig) = split3(&s.access_token.token);
    payload["role"] = json!("admin");
    let forged = reassemble(&header, &payload, &sig);
    let e = f
        .manager
        .get_session(&forged, None, NO_CHECKS)
        .await
        .unwrap_err();
    assert!(is_unauthorised(&e), "{e}");
}

#[tokio::test]
async fn tampered_signature_is_unauthorised() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let mut token = s.access_token.token.clone();
    let last = token.pop().unwrap();
    token.push(if last == 'A' { 'B' } else { 'A' });
    let e = f
        .manager
        .get_session(&token, None, NO_CHECKS)
        .await
        .unwrap_err();
    assert!(is_unauthorised(&e), "{e}");
}

#[tokio::test]
async fn alg_none_is_unauthorised() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let (mut header, payload, _) = split3(&s.access_token.token);
    header["alg"] = json!("none");
    for sig in ["", "AAAA"] {
        let forged = reassemble(&header, &payload, sig);
        let e = f
            .manager
            .get_session(&forged, None, NO_CHECKS)
            .await
            .unwrap_err();
        assert!(is_unauthorised(&e), "{e}");
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_unauthorised() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let (mut header, payload, _) = split3(&s.access_token.token);
    header["alg"] = json!("HS256");
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    // The classic confusion attack: use the public key (as published) as an HMAC secret.
    let jwks = f.manager.jwks();
    let jwk = jwks.keys.iter().find(|k| k.kid == header["kid"]).unwrap();
    let modulus = jwk.n.clone().unwrap();
    for secret in [modulus.into_bytes(), serde_json::to_vec(jwk).unwrap()] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
        let forged = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        let e = f
            .manager
            .get_session(&forged, None, NO_CHECKS)
            .await
            .unwrap_err();
        assert!(is_unauthorised(&e), "{e}");
    }
}

#[tokio::test]
async fn unknown_kid_is_try_refresh() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let (mut header, payload, sig) = split3(&s.access_token.token);
    header["kid"] = json!("d-unknown");
    let forged = reassemble(&header, &payload, &sig);
    let e = f
        .manager
        .get_session(&forged, None, NO_CHECKS)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TryRefreshToken {
                reason: TryRefreshReason::UnknownSigningKey
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn expired_token_is_try_refresh_also_when_cached() {
    let f = fixture_with(|b| b.access_token_validity(Duration::from_secs(60))).await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    // Warm the cache first, then let the token expire.
    f.manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(61));
    let e = f
        .manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TryRefreshToken {
                reason: TryRefreshReason::Expired
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn expired_token_is_try_refresh_without_cache() {
    let f = fixture_with(|b| {
        b.access_token_validity(Duration::from_secs(60))
            .verified_token_cache_capacity(0)
    })
    .await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(61));
    let e = f
        .manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TryRefreshToken {
                reason: TryRefreshReason::Expired
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn token_from_the_future_is_unauthorised() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    // Verify on a second manager whose clock lags well behind the signer's.
    let lagging = ManualClock::new(f.clock.now_ms_for_test() - 60_000);
    let other = SessionManager::builder()
        .store(f.store.clone())
        .clock(lagging)
        .background_tasks(false)
        .build()
        .await
        .unwrap();
    let e = other
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap_err();
    assert!(is_unauthorised(&e), "{e}");
}

#[tokio::test]
async fn token_signed_by_a_rotated_out_key_is_try_refresh() {
    let f = fixture_with(|b| b.access_token_validity(Duration::from_secs(60))).await;
    let old = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    f.manager.rotate_signing_key(true).await.unwrap();
    let new = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    assert_ne!(
        split3(&old.access_token.token).0["kid"],
        split3(&new.access_token.token).0["kid"]
    );
    // Run past the old key's retirement (its window ends a rotation
    // interval after creation) and clean it up.
    f.clock
        .advance(f.manager.config().signing_key_rotation_interval + Duration::from_secs(3600));
    let report = f.manager.run_maintenance().await.unwrap();
    assert!(report.keys_deleted >= 1);
    let e = f
        .manager
        .get_session(&old.access_token.token, None, NO_CHECKS)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TryRefreshToken { .. }), "{e}");
}

#[tokio::test]
async fn malformed_tokens_are_unauthorised_never_a_panic() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let (header, _, sig) = split3(&s.access_token.token);
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let cases = vec![
        String::new(),
        "a".into(),
        "a.b".into(),
        "a.b.c.d".into(),
        "!!!.???.***".into(),
        format!("{h}.not-base64!.{sig}"),
        format!("{h}.{}.{sig}", URL_SAFE_NO_PAD.encode("not json")),
        format!("{h}.{}.{sig}", URL_SAFE_NO_PAD.encode("[1,2]")),
        format!("{}.e30.{sig}", URL_SAFE_NO_PAD.encode("{\"alg\":")),
        "é.é.é".into(),
        "x".repeat(100_000),
        format!("{h}.{}.{sig}", "A".repeat(40_000)),
    ];
    for token in cases {
        let e = f
            .manager
            .get_session(&token, None, NO_CHECKS)
            .await
            .unwrap_err();
        assert!(is_unauthorised(&e), "{e} for {:.40}", token);
    }
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({"p": 1}), json!({}))
        .await
        .unwrap();
    let r = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    assert_ne!(r.refresh_token.token, s.refresh_token.token);
    assert_ne!(r.access_token.token, s.access_token.token);
    assert_eq!(r.handle(), s.handle());
    assert_eq!(r.claims.user_payload, json!({"p": 1}));
    let r2 = f
        .manager
        .refresh_session(&r.refresh_token.token, None)
        .await
        .unwrap();
    assert_ne!(r2.refresh_token.token, r.refresh_token.token);
}

#[tokio::test]
async fn refresh_with_superseded_token_inside_grace_is_not_theft() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let first = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(29));
    let retry = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    // The retry receives the same current refresh token: every tab ends with one value.
    assert_eq!(retry.refresh_token.token, first.refresh_token.token);
    // And that token keeps working.
    f.manager
        .refresh_session(&first.refresh_token.token, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn refresh_with_superseded_token_after_grace_is_theft_and_revokes() {
    let f = fixture().await;
    for i in 0..20 {
        let user = format!("user-{i}");
        let s = f
            .manager
            .create_new_session(&user, json!({}), json!({}))
            .await
            .unwrap();
        let r = f
            .manager
            .refresh_session(&s.refresh_token.token, None)
            .await
            .unwrap();
        f.clock.advance(Duration::from_secs(31));
        match f
            .manager
            .refresh_session(&s.refresh_token.token, None)
            .await
        {
            Err(Error::TokenTheftDetected {
                session_handle,
                user_id,
                ..
            }) => {
                assert_eq!(session_handle, s.handle());
                assert_eq!(user_id, user);
            }
            other => panic!("expected theft, got {other:?}"),
        }
        assert!(
            f.manager
                .get_session_information(s.handle())
                .await
                .unwrap()
                .is_none()
        );
        // The thief's victim is logged out too: the current token is dead.
        let e = f
            .manager
            .refresh_session(&r.refresh_token.token, None)
            .await
            .unwrap_err();
        assert!(is_unauthorised(&e));
    }
}

#[tokio::test]
async fn zero_grace_period_makes_any_reuse_theft() {
    let f = fixture_with(|b| b.refresh_grace_period(Duration::ZERO)).await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    f.manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    f.clock.advance(Duration::from_millis(1));
    let e = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TokenTheftDetected { .. }), "{e}");
}

#[tokio::test]
async fn token_older_than_the_previous_one_is_theft() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let r1 = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    f.manager
        .refresh_session(&r1.refresh_token.token, None)
        .await
        .unwrap();
    let e = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TokenTheftDetected { .. }), "{e}");
}

#[tokio::test]
async fn forged_refresh_token_is_unauthorised_and_revokes_nothing() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let mut raw = URL_SAFE_NO_PAD.decode(&s.refresh_token.token).unwrap();
    raw[3] = raw[3].wrapping_sub(1); // an "older generation" without a valid MAC
    let forged = URL_SAFE_NO_PAD.encode(&raw);
    let e = f.manager.refresh_session(&forged, None).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unauthorised {
                reason: UnauthorisedReason::InvalidRefreshToken
            }
        ),
        "{e}"
    );
    assert!(
        f.manager
            .get_session_information(s.handle())
            .await
            .unwrap()
            .is_some()
    );
    for garbage in ["", "x", "a.b.c", &"A".repeat(5000)] {
        assert!(is_unauthorised(
            &f.manager.refresh_session(garbage, None).await.unwrap_err()
        ));
    }
}

#[tokio::test]
async fn fifty_concurrent_refreshes_with_one_token_all_succeed() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let token = Arc::new(s.refresh_token.token.clone());
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let m = f.manager.clone();
        let t = token.clone();
        tasks.push(tokio::spawn(
            async move { m.refresh_session(&t, None).await },
        ));
    }
    let mut new_tokens = std::collections::HashSet::new();
    for t in tasks {
        let r = t
            .await
            .unwrap()
            .expect("no refresh may fail or be taken for theft");
        new_tokens.insert(r.refresh_token.token);
    }
    assert_eq!(
        new_tokens.len(),
        1,
        "every caller ends with the same refresh token"
    );
    let current = new_tokens.into_iter().next().unwrap();
    let next = f.manager.refresh_session(&current, None).await.unwrap();
    f.manager
        .get_session(&next.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    assert_eq!(
        f.manager
            .get_all_session_handles_for_user("u")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_hashed() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let r = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    let now = i64::try_from(f.clock.now_ms_for_test()).unwrap();
    let rec = f.store.get_session(s.handle(), now).await.unwrap().unwrap();
    let dump = format!("{rec:?}");
    for token in [&s.refresh_token.token, &r.refresh_token.token] {
        assert!(!dump.contains(token.as_str()));
        let raw = URL_SAFE_NO_PAD.decode(token).unwrap();
        assert!(
            rec.refresh.current_hash != raw[..32]
                && rec.refresh.previous_hash != Some(raw[..32].try_into().unwrap())
        );
    }
    // The sealed copy opens only with the previous token, which is not stored.
    let sealed = rec.refresh.current_sealed.unwrap();
    assert!(
        !sealed
            .windows(16)
            .any(|w| r.refresh_token.token.as_bytes().windows(16).any(|x| x == w))
    );
}

#[tokio::test]
async fn idle_timeout_ends_the_session() {
    let f = fixture_with(|b| {
        b.access_token_validity(Duration::from_secs(60))
            .refresh_token_validity(Duration::from_secs(600))
    })
    .await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(500));
    let r = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(500)); // still alive: refresh slid the expiry
    let r = f
        .manager
        .refresh_session(&r.refresh_token.token, None)
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(601));
    let e = f
        .manager
        .refresh_session(&r.refresh_token.token, None)
        .await
        .unwrap_err();
    assert!(is_unauthorised(&e), "{e}");
}

#[tokio::test]
async fn absolute_lifetime_ends_the_session_whatever_refreshes_happen() {
    let f = fixture_with(|b| {
        b.access_token_validity(Duration::from_secs(60))
            .refresh_token_validity(Duration::from_secs(600))
            .absolute_session_lifetime(Duration::from_secs(1000))
    })
    .await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let mut token = s.refresh_token.token.clone();
    for _ in 0..3 {
        f.clock.advance(Duration::from_secs(300));
        let r = f.manager.refresh_session(&token, None).await.unwrap();
        assert!(r.refresh_token.expiry_ms <= s.refresh_token.created_ms + 1_000_000);
        token = r.refresh_token.token;
    }
    f.clock.advance(Duration::from_secs(101)); // 1001 s after creation
    let e = f.manager.refresh_session(&token, None).await.unwrap_err();
    assert!(is_unauthorised(&e), "{e}");
}

#[tokio::test]
async fn anti_csrf_via_token_is_required_when_asked() {
    let f = fixture_with(|b| b.anti_csrf(AntiCsrfMode::ViaToken)).await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let anti_csrf = s
        .anti_csrf_token
        .clone()
        .expect("ViaToken issues an anti-CSRF token");
    assert_eq!(
        s.claims.anti_csrf_token.as_deref(),
        Some(anti_csrf.as_str())
    );
    let check = VerifyOptions {
        anti_csrf_check: true,
        ..VerifyOptions::default()
    };
    let token = &s.access_token.token;
    f.manager
        .get_session(token, Some(&anti_csrf), check)
        .await
        .unwrap();
    f.manager.get_session(token, None, NO_CHECKS).await.unwrap();
    let e = f.manager.get_session(token, None, check).await.unwrap_err();
    assert!(matches!(
        e,
        Error::TryRefreshToken {
            reason: TryRefreshReason::AntiCsrfMissing
        }
    ));
    let e = f
        .manager
        .get_session(token, Some("wrong"), check)
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::TryRefreshToken {
            reason: TryRefreshReason::AntiCsrfMismatch
        }
    ));
    // Refresh needs it too, and keeps it stable across rotations.
    let e = f
        .manager
        .refresh_session(&s.refresh_token.token, Some("wrong"))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Unauthorised {
            reason: UnauthorisedReason::AntiCsrfMismatch
        }
    ));
    let r = f
        .manager
        .refresh_session(&s.refresh_token.token, Some(&anti_csrf))
        .await
        .unwrap();
    assert_eq!(r.anti_csrf_token.as_deref(), Some(anti_csrf.as_str()));
}

#[tokio::test]
async fn blacklisting_refuses_a_revoked_sessions_token_at_once() {
    let f = fixture_with(|b| b.blacklisting(true)).await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    f.manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    assert!(f.manager.revoke_session(s.handle()).await.unwrap());
    let e = f
        .manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Unauthorised {
            reason: UnauthorisedReason::SessionRevoked
        }
    ));
}

#[tokio::test]
async fn without_blacklisting_a_revoked_token_lives_until_expiry_unless_checked() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    f.manager.revoke_session(s.handle()).await.unwrap();
    f.manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    let check_db = VerifyOptions {
        check_database: true,
        ..VerifyOptions::default()
    };
    assert!(is_unauthorised(
        &f.manager
            .get_session(&s.access_token.token, None, check_db)
            .await
            .unwrap_err()
    ));
}

#[tokio::test]
async fn user_payload_colliding_with_a_protected_claim_is_rejected() {
    let f = fixture().await;
    for key in tessera::token::PROTECTED_CLAIMS {
        let e = f
            .manager
            .create_new_session("u", json!({ key: "x" }), json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidInput(ref m) if m.contains(key)),
            "{e}"
        );
    }
    assert!(matches!(
        f.manager
            .create_new_session("u", json!([]), json!({}))
            .await
            .unwrap_err(),
        Error::InvalidInput(_)
    ));
    assert!(matches!(
        f.manager
            .create_new_session("u", json!({}), json!("data"))
            .await
            .unwrap_err(),
        Error::InvalidInput(_)
    ));
    // An empty user id is accepted, as SuperTokens core accepts it; an
    // empty tenant id is not.
    assert!(
        f.manager
            .create_new_session("", json!({}), json!({}))
            .await
            .is_ok()
    );
    assert!(matches!(
        f.manager
            .for_tenant("")
            .create_new_session("u", json!({}), json!({}))
            .await
            .unwrap_err(),
        Error::InvalidInput(_)
    ));
}

#[tokio::test]
async fn every_login_issues_a_fresh_handle() {
    let f = fixture().await;
    let a = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let b = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    assert_ne!(a.handle(), b.handle());
}

#[tokio::test]
async fn regenerate_access_token_carries_new_payload_and_keeps_expiry() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({"a": 1}), json!({}))
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(10));
    let r = f
        .manager
        .regenerate_access_token(&s.access_token.token, json!({"a": 2}))
        .await
        .unwrap()
        .unwrap();
    let new = r.access_token.unwrap();
    assert_eq!(new.expiry_ms, s.access_token.expiry_ms);
    let v = f
        .manager
        .get_session(&new.token, None, NO_CHECKS)
        .await
        .unwrap();
    assert_eq!(v.user_payload, json!({"a": 2}));
    // The next refresh carries it too.
    let refreshed = f
        .manager
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    assert_eq!(refreshed.claims.user_payload, json!({"a": 2}));
    // Gone session: None.
    f.manager.revoke_session(s.handle()).await.unwrap();
    assert!(
        f.manager
            .regenerate_access_token(&new.token, json!({}))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn session_data_and_information_round_trip() {
    let f = fixture().await;
    let meta = SessionMetadata {
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Firefox".into()),
        device: Some("laptop".into()),
    };
    let s = f
        .manager
        .create_session(NewSession {
            metadata: meta.clone(),
            ..NewSession::new("u").session_data(json!({"cart": [1]}))
        })
        .await
        .unwrap();
    assert_eq!(
        f.manager.get_session_data(s.handle()).await.unwrap(),
        Some(json!({"cart": [1]}))
    );
    assert!(
        f.manager
            .update_session_data(s.handle(), json!({"cart": []}))
            .await
            .unwrap()
    );
    let info = f
        .manager
        .get_session_information(s.handle())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.session_data, json!({"cart": []}));
    assert_eq!(info.metadata, meta);
    assert_eq!(info.user_id, "u");
    assert_eq!(info.tenant_id, "public");
    assert!(
        f.manager
            .update_jwt_payload(s.handle(), json!({"x": 1}))
            .await
            .unwrap()
    );
    let info = f
        .manager
        .get_session_information(s.handle())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.jwt_payload, json!({"x": 1}));
    f.manager.revoke_session(s.handle()).await.unwrap();
    assert!(
        !f.manager
            .update_session_data(s.handle(), json!({}))
            .await
            .unwrap()
    );
    assert_eq!(f.manager.get_session_data(s.handle()).await.unwrap(), None);
}

#[tokio::test]
async fn tenant_scope_limits_user_operations() {
    let f = fixture().await;
    let a = f
        .manager
        .for_tenant("acme")
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let p = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    assert_eq!(a.claims.tenant_id, "acme");
    let acme = f.manager.for_tenant("acme");
    assert_eq!(
        acme.get_all_session_handles_for_user("u").await.unwrap(),
        vec![a.handle().to_owned()]
    );
    assert!(
        acme.get_session_information(p.handle())
            .await
            .unwrap()
            .is_none()
    );
    assert!(!acme.revoke_session(p.handle()).await.unwrap());
    assert_eq!(
        acme.revoke_all_sessions_for_user("u").await.unwrap(),
        vec![a.handle().to_owned()]
    );
    assert_eq!(
        f.manager
            .get_all_session_handles_for_user("u")
            .await
            .unwrap(),
        vec![p.handle().to_owned()]
    );
}

#[tokio::test]
async fn revoke_operations_report_what_they_revoked() {
    let f = fixture().await;
    let a = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let b = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let c = f
        .manager
        .create_new_session("v", json!({}), json!({}))
        .await
        .unwrap();
    let mut revoked = f.manager.revoke_all_sessions_for_user("u").await.unwrap();
    revoked.sort();
    let mut expected = vec![a.handle().to_owned(), b.handle().to_owned()];
    expected.sort();
    assert_eq!(revoked, expected);
    let multi = f
        .manager
        .revoke_multiple_sessions(&[c.handle().to_owned(), a.handle().to_owned()])
        .await
        .unwrap();
    assert_eq!(multi, vec![c.handle().to_owned()]);
    assert!(!f.manager.revoke_session(c.handle()).await.unwrap());
}

#[tokio::test]
async fn two_managers_on_one_store_share_keys_and_sessions() {
    let f = fixture().await;
    let other = SessionManager::builder()
        .store(f.store.clone())
        .clock(f.clock.clone())
        .background_tasks(false)
        .build()
        .await
        .unwrap();
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    other
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    let r = other
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    f.manager
        .get_session(&r.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    // A rotation by one is seen by the other (after an unknown-kid reload).
    f.clock.advance(Duration::from_secs(1));
    let kid = f.manager.rotate_signing_key(true).await.unwrap();
    let s2 = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    assert_eq!(split3(&s2.access_token.token).0["kid"], kid);
    other
        .get_session(&s2.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
    assert!(other.jwks().keys.iter().any(|k| k.kid == kid));
}

#[tokio::test]
async fn jwks_publishes_a_scheduled_successor_before_it_signs() {
    let f = fixture().await;
    let current = split3(
        &f.manager
            .create_new_session("u", json!({}), json!({}))
            .await
            .unwrap()
            .access_token
            .token,
    )
    .0["kid"]
        .clone();
    let next = f.manager.rotate_signing_key(false).await.unwrap();
    assert!(f.manager.jwks().keys.iter().any(|k| k.kid == next));
    let still = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    assert_eq!(split3(&still.access_token.token).0["kid"], current);
    f.clock.advance(f.manager.config().signing_key_publish_lead);
    let after = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    assert_eq!(split3(&after.access_token.token).0["kid"], json!(next));
}

#[tokio::test]
async fn static_signing_key_uses_s_prefix() {
    let f = fixture_with(|b| b.use_dynamic_signing_key(false)).await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    assert!(
        split3(&s.access_token.token).0["kid"]
            .as_str()
            .unwrap()
            .starts_with("s-")
    );
    f.manager
        .get_session(&s.access_token.token, None, NO_CHECKS)
        .await
        .unwrap();
}

#[tokio::test]
async fn cleanup_deletes_expired_sessions_in_batches() {
    let f = fixture_with(|b| {
        b.access_token_validity(Duration::from_secs(60))
            .refresh_token_validity(Duration::from_secs(120))
    })
    .await;
    for i in 0..2500 {
        f.manager
            .create_new_session(&format!("u{i}"), json!({}), json!({}))
            .await
            .unwrap();
    }
    let live = f
        .manager
        .create_new_session("late", json!({}), json!({}))
        .await;
    f.clock.advance(Duration::from_secs(121));
    let keep = f
        .manager
        .create_new_session("keep", json!({}), json!({}))
        .await
        .unwrap();
    let report = f.manager.run_cleanup().await.unwrap();
    assert_eq!(report.sessions_deleted, 2501);
    assert_eq!(report.batches, 3);
    assert!(live.is_ok());
    assert!(
        f.manager
            .get_session_information(keep.handle())
            .await
            .unwrap()
            .is_some()
    );
}

trait ClockExt {
    fn now_ms_for_test(&self) -> u64;
}

impl ClockExt for ManualClock {
    fn now_ms_for_test(&self) -> u64 {
        tessera::Clock::now_ms(self)
    }
}

#[tokio::test]
async fn structure_check_accepts_our_tokens_and_ignores_foreign_ones() {
    use tessera::token::access::is_well_formed_access_token;
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    assert!(is_well_formed_access_token(&s.access_token.token));
    // Structure only: a bad signature still looks like an access token...
    let (header, payload, _) = split3(&s.access_token.token);
    assert!(is_well_formed_access_token(&reassemble(
        &header, &payload, "AAAA"
    )));
    // ...but a foreign JWT or an opaque bearer token does not.
    let foreign = reassemble(
        &json!({"alg": "RS256", "typ": "JWT"}),
        &json!({"sub": "x", "scope": "read"}),
        "AAAA",
    );
    assert!(!is_well_formed_access_token(&foreign));
    assert!(!is_well_formed_access_token("opaque-oauth-token"));
    assert!(!is_well_formed_access_token(""));
}

#[tokio::test]
async fn a_candidate_from_header_bytes_is_the_cached_token_or_checked_text() {
    let f = fixture().await;
    let s = f
        .manager
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let token = s.access_token.token.clone();
    // Issued tokens are cached: found by their bytes, and verifiable.
    let cached = f
        .manager
        .access_token_candidate_bytes(token.as_bytes())
        .unwrap();
    assert!(format!("{cached:?}").contains("cached: true"), "{cached:?}");
    assert_eq!(cached.token(), token);
    let verified = f
        .manager
        .get_session_candidate(cached, None, VerifyOptions::default())
        .await
        .unwrap();
    assert_eq!(verified.claims.user_id, "u");
    // Not cached: the same structure check as for text...
    let (header, payload, _) = split3(&token);
    let forged = reassemble(&header, &payload, "AAAA");
    let candidate = f
        .manager
        .access_token_candidate_bytes(forged.as_bytes())
        .unwrap();
    assert!(format!("{candidate:?}").contains("cached: false"));
    // ...and a full verification, which refuses it.
    assert!(matches!(
        f.manager
            .get_session_candidate(candidate, None, VerifyOptions::default())
            .await,
        Err(Error::Unauthorised { .. })
    ));
    // Bytes that are not UTF-8, or not shaped like a token: no candidate.
    let mut bad = token.clone().into_bytes();
    bad[10] = 0xff;
    assert!(f.manager.access_token_candidate_bytes(&bad).is_none());
    assert!(
        f.manager
            .access_token_candidate_bytes(b"opaque-oauth-token")
            .is_none()
    );
}

#[tokio::test]
async fn health_check_and_close() {
    let f = fixture().await;
    f.manager.health_check().await.unwrap();
    f.manager.close().await;
}
