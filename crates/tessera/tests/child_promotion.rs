//! The child-token refresh model of SuperTokens' CDI ≤ 5.5
//! (`RefreshModel::ChildPromotion`), on every store: the memory store, a
//! SQLite temp file and PostgreSQL (a schema of its own; needs
//! `TESSERA_TEST_POSTGRES_URL`, else each test says SKIPPING and returns).
//! The clock is a `ManualClock`, so expiry never depends on speed.
//!
//! The rules, as supertokens-core 12.1 has them (`Session.refreshSessionHelper`
//! and `Session.getSession` below CDI 5.6): a refresh with the current token
//! writes nothing and hands out a child; a verify of the child's access
//! token (or a refresh with the child) promotes it with one conditional
//! write; once promoted, the parent — or any genuine token that is neither
//! current nor a child of current — is theft.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use serde_json::json;
use tessera::{
    CreatedSession, Error, ManualClock, RefreshModel, RefreshRequest, SessionManager, SessionStore,
    TryRefreshReason, UnauthorisedReason, VerifiedSession, VerifyOptions,
};

use common::stores::{Fixture, MemoryFixture, PostgresFixture, SqliteFixture};

const CHILD: RefreshModel = RefreshModel::ChildPromotion;

async fn manager<S: SessionStore + Clone>(store: S, clock: &ManualClock) -> SessionManager {
    configured(store, clock, |b| b).await
}

async fn configured<S: SessionStore + Clone>(
    store: S,
    clock: &ManualClock,
    f: impl FnOnce(tessera::SessionManagerBuilder) -> tessera::SessionManagerBuilder,
) -> SessionManager {
    f(SessionManager::builder()
        .store(store)
        .clock(clock.clone())
        .background_tasks(false))
    .build()
    .await
    .unwrap()
}

fn request(token: &str) -> RefreshRequest<'_> {
    RefreshRequest {
        refresh_token: token,
        anti_csrf_token: None,
        enable_anti_csrf: None,
        use_dynamic_signing_key: None,
    }
}

async fn refresh(m: &SessionManager, token: &str) -> tessera::Result<CreatedSession> {
    m.refresh_session_as(request(token), CHILD).await
}

async fn verify(m: &SessionManager, token: &str) -> tessera::Result<VerifiedSession> {
    m.get_session_as(token, None, VerifyOptions::default(), CHILD)
        .await
}

fn hash1(token: &str) -> String {
    use std::fmt::Write as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn is_theft(r: &tessera::Result<CreatedSession>) -> bool {
    matches!(r, Err(Error::TokenTheftDetected { .. }))
}

async fn generation<S: SessionStore>(store: &S, handle: &str, clock: &ManualClock) -> i64 {
    store
        .get_session(handle, i64::try_from(clock_ms(clock)).unwrap())
        .await
        .unwrap()
        .expect("session")
        .refresh
        .generation
}

fn clock_ms(clock: &ManualClock) -> u64 {
    use tessera::Clock as _;
    clock.now_ms()
}

macro_rules! child_promotion_on {
    ($name:ident, $fixture:ty) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn refresh_with_the_current_token_hands_out_a_child_and_writes_nothing() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({"a": 1}), json!({})).await.unwrap();
                let parent = s.refresh_token.token.clone();
                let before = fx.store().get_session(s.handle(), 0).await.unwrap().unwrap();

                let child = refresh(&m, &parent).await.unwrap();
                assert_ne!(child.refresh_token.token, parent);
                assert_eq!(child.claims.parent_refresh_token_hash1.as_deref(), Some(hash1(&parent).as_str()));
                assert_eq!(child.claims.refresh_token_hash1, hash1(&child.refresh_token.token));
                assert_eq!(child.claims.user_payload, json!({"a": 1}));
                let after = fx.store().get_session(s.handle(), 0).await.unwrap().unwrap();
                assert_eq!(after.refresh, before.refresh, "a parent refresh writes nothing");

                // Before promotion the parent is still current: another
                // refresh with it is another child, never theft.
                let second = refresh(&m, &parent).await.unwrap();
                assert_ne!(second.refresh_token.token, child.refresh_token.token);
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 0);
            }

            #[tokio::test]
            async fn verify_promotes_the_child_and_issues_a_token_without_the_parent() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let child = refresh(&m, &s.refresh_token.token).await.unwrap();

                let verified = verify(&m, &child.access_token.token).await.unwrap();
                let new = verified.access_token.expect("promotion issues a new access token");
                assert_eq!(verified.claims.parent_refresh_token_hash1, None);
                assert_eq!(verified.claims.refresh_token_hash1, child.claims.refresh_token_hash1);
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 1);

                // The new token has no parent: verified as it is.
                let again = verify(&m, &new.token).await.unwrap();
                assert!(again.access_token.is_none());
                // The old child token once more: its refresh token is now
                // current, so a fresh token again, and nothing written.
                let old = verify(&m, &child.access_token.token).await.unwrap();
                assert!(old.access_token.is_some());
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 1);
                // The promoted child refreshes (it is current now).
                let next = refresh(&m, &child.refresh_token.token).await.unwrap();
                assert_eq!(
                    next.claims.parent_refresh_token_hash1.as_deref(),
                    Some(hash1(&child.refresh_token.token).as_str())
                );
            }

            #[tokio::test]
            async fn parent_reuse_after_promotion_at_verify_is_theft_and_revokes_the_session() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let parent = s.refresh_token.token.clone();
                let child = refresh(&m, &parent).await.unwrap();
                verify(&m, &child.access_token.token).await.unwrap();

                let reuse = refresh(&m, &parent).await;
                match reuse {
                    Err(Error::TokenTheftDetected { session_handle, user_id, .. }) => {
                        assert_eq!(session_handle, s.handle());
                        assert_eq!(user_id, "u1");
                    }
                    other => panic!("expected theft, got {other:?}"),
                }
                assert!(fx.store().get_session(s.handle(), 0).await.unwrap().is_none());
                assert!(matches!(
                    refresh(&m, &child.refresh_token.token).await,
                    Err(Error::Unauthorised { reason: UnauthorisedReason::UnknownRefreshToken })
                ));
            }

            #[tokio::test]
            async fn refresh_with_the_child_promotes_it_and_then_the_parent_is_theft() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let parent = s.refresh_token.token.clone();
                let child = refresh(&m, &parent).await.unwrap();

                // No verify in between (the access token was never used).
                let grandchild = refresh(&m, &child.refresh_token.token).await.unwrap();
                assert_eq!(
                    grandchild.claims.parent_refresh_token_hash1.as_deref(),
                    Some(hash1(&child.refresh_token.token).as_str())
                );
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 1);
                assert!(is_theft(&refresh(&m, &parent).await));
            }

            #[tokio::test]
            async fn a_sibling_child_after_the_other_child_was_promoted_is_theft() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let first = refresh(&m, &s.refresh_token.token).await.unwrap();
                let second = refresh(&m, &s.refresh_token.token).await.unwrap();
                verify(&m, &first.access_token.token).await.unwrap();

                // The losing sibling's access token is still a valid token
                // (the core answers OK without a new one) ...
                let sibling = verify(&m, &second.access_token.token).await.unwrap();
                assert!(sibling.access_token.is_none());
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 1);
                // ... but its refresh token is theft.
                assert!(is_theft(&refresh(&m, &second.refresh_token.token).await));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_verifies_of_one_child_promote_it_once() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let servers = [
                    manager(fx.store().clone(), &clock).await,
                    manager(fx.reopen().await.unwrap(), &clock).await,
                ];
                for round in 0..20 {
                    let s = servers[0]
                        .create_new_session(&format!("u{round}"), json!({}), json!({}))
                        .await
                        .unwrap();
                    let child = refresh(&servers[1], &s.refresh_token.token).await.unwrap();
                    let mut tasks = Vec::new();
                    for i in 0..8 {
                        let m = servers[i % 2].clone();
                        let token = child.access_token.token.clone();
                        tasks.push(tokio::spawn(async move { verify(&m, &token).await }));
                    }
                    for t in tasks {
                        let v = t.await.unwrap().unwrap();
                        assert!(v.access_token.is_some(), "every racer gets the promoted token");
                        assert_eq!(v.claims.parent_refresh_token_hash1, None);
                    }
                    assert_eq!(generation(fx.store(), s.handle(), &clock).await, 1, "round {round}");
                    // The child is current, the parent retired.
                    assert!(refresh(&servers[0], &child.refresh_token.token).await.is_ok());
                    assert!(is_theft(&refresh(&servers[1], &s.refresh_token.token).await));
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_refreshes_with_one_child_promote_it_once_and_report_no_theft() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let servers = [
                    manager(fx.store().clone(), &clock).await,
                    manager(fx.reopen().await.unwrap(), &clock).await,
                ];
                for round in 0..20 {
                    let s = servers[0]
                        .create_new_session(&format!("u{round}"), json!({}), json!({}))
                        .await
                        .unwrap();
                    let child = refresh(&servers[0], &s.refresh_token.token).await.unwrap();
                    let mut tasks = Vec::new();
                    for i in 0..6 {
                        let m = servers[i % 2].clone();
                        let token = child.refresh_token.token.clone();
                        tasks.push(tokio::spawn(async move { refresh(&m, &token).await }));
                    }
                    for t in tasks {
                        let r = t.await.unwrap();
                        assert!(r.is_ok(), "round {round}: {r:?}");
                    }
                    assert_eq!(generation(fx.store(), s.handle(), &clock).await, 1, "round {round}");
                }
            }

            #[tokio::test]
            async fn an_expired_child_access_token_asks_for_a_refresh_which_promotes_the_child() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = configured(fx.store().clone(), &clock, |b| {
                    b.access_token_validity(Duration::from_secs(60))
                })
                .await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let child = refresh(&m, &s.refresh_token.token).await.unwrap();
                clock.advance(Duration::from_secs(120));
                assert!(matches!(
                    verify(&m, &child.access_token.token).await,
                    Err(Error::TryRefreshToken { reason: TryRefreshReason::Expired })
                ));
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 0, "nothing promoted");
                let next = refresh(&m, &child.refresh_token.token).await.unwrap();
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 1);
                assert!(verify(&m, &next.access_token.token).await.unwrap().access_token.is_some());
            }

            #[tokio::test]
            async fn a_child_of_an_expired_session_is_unauthorised() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = configured(fx.store().clone(), &clock, |b| {
                    b.refresh_token_validity(Duration::from_secs(600))
                        .access_token_validity(Duration::from_secs(60))
                })
                .await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let child = refresh(&m, &s.refresh_token.token).await.unwrap();
                clock.advance(Duration::from_secs(700));
                assert!(matches!(
                    refresh(&m, &child.refresh_token.token).await,
                    Err(Error::Unauthorised { reason: UnauthorisedReason::UnknownRefreshToken })
                ));
            }

            #[tokio::test]
            async fn with_blacklisting_a_revoked_session_fails_verify_with_or_without_a_parent() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = configured(fx.store().clone(), &clock, |b| b.blacklisting(true)).await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let child = refresh(&m, &s.refresh_token.token).await.unwrap();
                assert!(verify(&m, &s.access_token.token).await.unwrap().access_token.is_none());
                m.revoke_session(s.handle()).await.unwrap();
                for token in [&s.access_token.token, &child.access_token.token] {
                    assert!(matches!(
                        verify(&m, token).await,
                        Err(Error::Unauthorised { reason: UnauthorisedReason::SessionRevoked })
                    ));
                }
            }

            #[tokio::test]
            async fn a_database_check_reissues_a_token_whose_payload_is_stale() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({"v": 1}), json!({})).await.unwrap();
                let checked = VerifyOptions { check_database: true, ..VerifyOptions::default() };
                let same = m.get_session_as(&s.access_token.token, None, checked, CHILD).await.unwrap();
                assert!(same.access_token.is_none());
                assert!(m.update_jwt_payload(s.handle(), json!({"v": 2})).await.unwrap());
                let stale = m.get_session_as(&s.access_token.token, None, checked, CHILD).await.unwrap();
                assert!(stale.access_token.is_some());
                assert_eq!(stale.claims.user_payload, json!({"v": 2}));
                // Without the database check the token is taken as it is.
                let plain = verify(&m, &s.access_token.token).await.unwrap();
                assert!(plain.access_token.is_none());
                assert_eq!(plain.claims.user_payload, json!({"v": 1}));
            }

            #[tokio::test]
            async fn rotation_takes_an_unpromoted_child_and_then_the_parent_is_theft() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let child = refresh(&m, &s.refresh_token.token).await.unwrap();
                // The client moved to CDI 5.6: its next refresh rotates.
                let rotated = m.refresh_session(&child.refresh_token.token, None).await.unwrap();
                assert_eq!(rotated.claims.parent_refresh_token_hash1, None);
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 2);
                // The child is now the previous token: inside the grace window.
                let retry = m.refresh_session(&child.refresh_token.token, None).await.unwrap();
                assert_eq!(retry.refresh_token.token, rotated.refresh_token.token);
                let reuse = m.refresh_session(&s.refresh_token.token, None).await;
                assert!(is_theft(&reuse));
            }

            #[tokio::test]
            async fn the_rotation_model_never_hands_out_a_parent_claim_nor_a_token_at_verify() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let r = m
                    .refresh_session_as(request(&s.refresh_token.token), RefreshModel::RotateAtRefresh)
                    .await
                    .unwrap();
                assert_eq!(r.claims.parent_refresh_token_hash1, None);
                let checked = VerifyOptions { check_database: true, ..VerifyOptions::default() };
                let v = m
                    .get_session_as(&r.access_token.token, None, checked, RefreshModel::RotateAtRefresh)
                    .await
                    .unwrap();
                assert!(v.access_token.is_none());
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 1);
            }

            #[tokio::test]
            async fn a_child_token_is_refused_by_get_session_and_valid_as_it_is_under_rotation() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let child = refresh(&m, &s.refresh_token.token).await.unwrap();
                // The engine's default verify (tessera-axum's) never takes a
                // token that waits for promotion.
                assert!(matches!(
                    m.get_session(&child.access_token.token, None, VerifyOptions::default()).await,
                    Err(Error::Unauthorised { reason: UnauthorisedReason::InvalidAccessToken })
                ));
                // Under rotation (CDI 5.6) it is valid as it is, nothing promoted.
                let v = m
                    .get_session_as(
                        &child.access_token.token,
                        None,
                        VerifyOptions { check_database: true, ..VerifyOptions::default() },
                        RefreshModel::RotateAtRefresh,
                    )
                    .await
                    .unwrap();
                assert!(v.access_token.is_none());
                assert_eq!(generation(fx.store(), s.handle(), &clock).await, 0);
            }

            #[tokio::test]
            async fn rotation_verify_with_a_database_check_refuses_rotated_out_tokens_and_reports_the_payload() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let rotate = RefreshModel::RotateAtRefresh;
                let checked = VerifyOptions { check_database: true, ..VerifyOptions::default() };
                let s = m.create_new_session("u1", json!({"v": 1}), json!({})).await.unwrap();
                let fresh = m.get_session_as(&s.access_token.token, None, checked, rotate).await.unwrap();
                assert_eq!(fresh.payload_update_available, Some(false));
                assert!(m.update_jwt_payload(s.handle(), json!({"v": 2})).await.unwrap());
                let stale = m.get_session_as(&s.access_token.token, None, checked, rotate).await.unwrap();
                assert_eq!(stale.payload_update_available, Some(true));
                assert!(stale.access_token.is_none());
                let plain = m
                    .get_session_as(&s.access_token.token, None, VerifyOptions::default(), rotate)
                    .await
                    .unwrap();
                assert_eq!(plain.payload_update_available, None);

                // One rotation: the old token's refresh token is the previous one.
                let r1 = m.refresh_session(&s.refresh_token.token, None).await.unwrap();
                assert!(m.get_session_as(&s.access_token.token, None, checked, rotate).await.is_ok());
                // Two: its branch is rotated out.
                let r2 = m.refresh_session(&r1.refresh_token.token, None).await.unwrap();
                assert!(matches!(
                    m.get_session_as(&s.access_token.token, None, checked, rotate).await,
                    Err(Error::Unauthorised { reason: UnauthorisedReason::RotatedOut })
                ));
                // Without the database check it is a valid, unexpired token.
                assert!(m.get_session_as(&s.access_token.token, None, VerifyOptions::default(), rotate).await.is_ok());
                assert!(m.get_session_as(&r2.access_token.token, None, checked, rotate).await.is_ok());
            }

            #[tokio::test]
            async fn forged_or_foreign_refresh_tokens_are_unauthorised_not_theft() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u1", json!({}), json!({})).await.unwrap();
                let mut forged = s.refresh_token.token.clone();
                forged.replace_range(10..11, if &forged[10..11] == "A" { "B" } else { "A" });
                for bad in [forged.as_str(), "", "garbage"] {
                    assert!(matches!(
                        refresh(&m, bad).await,
                        Err(Error::Unauthorised { reason: UnauthorisedReason::InvalidRefreshToken })
                    ));
                }
                assert!(refresh(&m, &s.refresh_token.token).await.is_ok());
            }
        }
    };
}

child_promotion_on!(memory, MemoryFixture);
child_promotion_on!(sqlite, SqliteFixture);
child_promotion_on!(postgres, PostgresFixture);
