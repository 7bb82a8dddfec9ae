//! The manager's refresh, theft, key-sharing and cleanup rules on the real
//! SQL stores: SQLite (a temp file) and PostgreSQL (a schema of its own; needs
//! `TESSERA_TEST_POSTGRES_URL`, else each test says SKIPPING and returns).
//! Two managers on one database stand for two processes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use tessera::{Error, ManualClock, SessionManager, VerifyOptions};

use common::stores::{Fixture, PostgresFixture, SqliteFixture};

async fn manager<S: tessera::SessionStore + Clone>(
    store: S,
    clock: &ManualClock,
) -> SessionManager {
    SessionManager::builder()
        .store(store)
        .clock(clock.clone())
        .background_tasks(false)
        .build()
        .await
        .unwrap()
}

fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&raw).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

macro_rules! manager_rules_on {
    ($name:ident, $fixture:ty) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn refresh_grace_and_theft_follow_the_rule() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u", json!({"p": 1}), json!({})).await.unwrap();
                let r = m.refresh_session(&s.refresh_token.token, None).await.unwrap();
                clock.advance(Duration::from_secs(10));
                let again = m.refresh_session(&s.refresh_token.token, None).await.unwrap();
                assert_eq!(again.refresh_token.token, r.refresh_token.token);
                clock.advance(Duration::from_secs(25));
                match m.refresh_session(&s.refresh_token.token, None).await {
                    Err(Error::TokenTheftDetected { session_handle, .. }) => assert_eq!(session_handle, s.handle()),
                    other => panic!("expected theft, got {other:?}"),
                }
                assert!(m.get_session_information(s.handle()).await.unwrap().is_none());
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_refreshes_split_across_two_managers_never_report_theft() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let a = manager(fx.store().clone(), &clock).await;
                let b = manager(fx.reopen().await.unwrap(), &clock).await;
                for round in 0..5 {
                    let s = a.create_new_session(&format!("u{round}"), json!({}), json!({})).await.unwrap();
                    let mut tasks = Vec::new();
                    for i in 0..50 {
                        let m = if i % 2 == 0 { a.clone() } else { b.clone() };
                        let t = s.refresh_token.token.clone();
                        tasks.push(tokio::spawn(async move { m.refresh_session(&t, None).await }));
                    }
                    let mut tokens = HashSet::new();
                    for t in tasks {
                        let r = t.await.unwrap().expect("no false theft, no failure");
                        tokens.insert(r.refresh_token.token);
                    }
                    assert_eq!(tokens.len(), 1);
                    let current = tokens.into_iter().next().unwrap();
                    let next = b.refresh_session(&current, None).await.unwrap();
                    a.get_session(&next.access_token.token, None, VerifyOptions::default()).await.unwrap();
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn two_managers_share_keys_and_see_each_others_rotation() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let a = manager(fx.store().clone(), &clock).await;
                let b = manager(fx.reopen().await.unwrap(), &clock).await;
                let s = a.create_new_session("u", json!({}), json!({})).await.unwrap();
                let by_b = b.create_new_session("u", json!({}), json!({})).await.unwrap();
                assert_eq!(kid_of(&s.access_token.token), kid_of(&by_b.access_token.token));
                b.get_session(&s.access_token.token, None, VerifyOptions::default()).await.unwrap();
                a.get_session(&by_b.access_token.token, None, VerifyOptions::default()).await.unwrap();
                clock.advance(Duration::from_secs(1));
                let kid = a.rotate_signing_key(true).await.unwrap();
                let rotated = a.create_new_session("u", json!({}), json!({})).await.unwrap();
                assert_eq!(kid_of(&rotated.access_token.token), kid);
                // b has not seen the new key yet: the unknown kid triggers one reload.
                b.get_session(&rotated.access_token.token, None, VerifyOptions::default()).await.unwrap();
                assert!(b.jwks().keys.iter().any(|k| k.kid == kid));
                // And b's maintenance makes it sign with the newest key too.
                b.run_maintenance().await.unwrap();
                let from_b = b.create_new_session("u", json!({}), json!({})).await.unwrap();
                assert_eq!(kid_of(&from_b.access_token.token), kid);
            }

            #[tokio::test]
            async fn blacklisting_sees_a_revocation_by_the_other_manager() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let a = SessionManager::builder()
                    .store(fx.store().clone())
                    .clock(clock.clone())
                    .blacklisting(true)
                    .background_tasks(false)
                    .build()
                    .await
                    .unwrap();
                let b = manager(fx.reopen().await.unwrap(), &clock).await;
                let s = a.create_new_session("u", json!({}), json!({})).await.unwrap();
                a.get_session(&s.access_token.token, None, VerifyOptions::default()).await.unwrap();
                assert!(b.revoke_session(s.handle()).await.unwrap());
                let e = a.get_session(&s.access_token.token, None, VerifyOptions::default()).await.unwrap_err();
                assert!(matches!(e, Error::Unauthorised { .. }), "{e}");
            }

            #[tokio::test]
            async fn absolute_lifetime_caps_refresh_on_the_store() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = SessionManager::builder()
                    .store(fx.store().clone())
                    .clock(clock.clone())
                    .access_token_validity(Duration::from_secs(60))
                    .refresh_token_validity(Duration::from_secs(600))
                    .absolute_session_lifetime(Duration::from_secs(900))
                    .background_tasks(false)
                    .build()
                    .await
                    .unwrap();
                let s = m.create_new_session("u", json!({}), json!({})).await.unwrap();
                clock.advance(Duration::from_secs(500));
                let r = m.refresh_session(&s.refresh_token.token, None).await.unwrap();
                assert_eq!(r.refresh_token.expiry_ms, s.refresh_token.created_ms + 900_000);
                clock.advance(Duration::from_secs(401));
                assert!(matches!(
                    m.refresh_session(&r.refresh_token.token, None).await.unwrap_err(),
                    Error::Unauthorised { .. }
                ));
            }

            #[tokio::test]
            async fn cleanup_deletes_expired_sessions_and_keeps_live_ones() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = SessionManager::builder()
                    .store(fx.store().clone())
                    .clock(clock.clone())
                    .access_token_validity(Duration::from_secs(60))
                    .refresh_token_validity(Duration::from_secs(120))
                    .background_tasks(false)
                    .build()
                    .await
                    .unwrap();
                for i in 0..30 {
                    m.create_new_session(&format!("u{i}"), json!({}), json!({})).await.unwrap();
                }
                clock.advance(Duration::from_secs(121));
                let keep = m.create_new_session("keep", json!({}), json!({})).await.unwrap();
                let report = m.run_cleanup().await.unwrap();
                assert_eq!(report.sessions_deleted, 30);
                assert!(m.get_session_information(keep.handle()).await.unwrap().is_some());
            }
        }
    };
}

manager_rules_on!(sqlite, SqliteFixture);
manager_rules_on!(postgres, PostgresFixture);

#[tokio::test]
async fn connect_picks_the_store_from_the_url() {
    let dir = std::env::temp_dir().join(format!("tessera-connect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("connect.db").display());
    let m = SessionManager::connect(&url).await.unwrap();
    let s = m
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    // A second manager on the same file (another process) sees the session and keys.
    let other = SessionManager::connect(&url).await.unwrap();
    other
        .get_session(&s.access_token.token, None, VerifyOptions::default())
        .await
        .unwrap();
    assert!(
        other
            .get_session_information(s.handle())
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        SessionManager::connect("mysql://x").await.unwrap_err(),
        Error::InvalidInput(_)
    ));
    assert!(SessionManager::connect("memory:").await.is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}
