//! The engine's token rules from the security review, on the real SQL stores:
//! SQLite (a temp file) and PostgreSQL (a schema of its own; needs
//! `TESSERA_TEST_POSTGRES_URL`, else each test says SKIPPING and returns).
//!
//! - an access token may not live longer than the configured validity
//!   plus the clock leeway (4c);
//! - no access token outlives the session's absolute end (5);
//! - every token has one spelling: padded or non-canonical base64url is
//!   refused (6);
//! - ids with control characters or over 256 bytes are refused the same way
//!   on every store (7);
//! - untrusted ids reach the log escaped (8);
//! - no access token longer than `max_access_token_bytes` is issued (9).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tessera::{
    AntiCsrfMode, Error, ManualClock, NewSession, SessionManager, SessionManagerBuilder,
    UnauthorisedReason, VerifyOptions,
};

use common::stores::{Fixture, PostgresFixture, SqliteFixture};

fn builder<S: tessera::SessionStore + Clone>(
    store: S,
    clock: &ManualClock,
) -> SessionManagerBuilder {
    SessionManager::builder()
        .store(store)
        .clock(clock.clone())
        .background_tasks(false)
}

async fn manager<S: tessera::SessionStore + Clone>(
    store: S,
    clock: &ManualClock,
) -> SessionManager {
    builder(store, clock).build().await.unwrap()
}

fn is_invalid_access_token(r: &tessera::Result<Arc<tessera::AccessTokenClaims>>) -> bool {
    matches!(
        r,
        Err(Error::Unauthorised {
            reason: UnauthorisedReason::InvalidAccessToken
        })
    )
}

fn is_invalid_input<T: std::fmt::Debug>(r: &tessera::Result<T>) -> bool {
    matches!(r, Err(Error::InvalidInput(_)))
}

/// A JSON payload whose serialisation is about `bytes` long.
fn payload_of(bytes: usize) -> Value {
    json!({ "blob": "x".repeat(bytes) })
}

/// The same signature bytes spelled with non-zero trailing bits: a 256-byte
/// RS256 signature ends in a character carrying 2 bits and 4 zero bits.
fn with_noncanonical_last_char(token: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = *token.as_bytes().last().unwrap();
    let pos = ALPHABET.iter().position(|c| *c == last).unwrap();
    assert_eq!(pos & 0x0f, 0, "canonical last character");
    let mut t = token[..token.len() - 1].to_owned();
    t.push(char::from(ALPHABET[pos | 0x01]));
    t
}

macro_rules! token_rules_on {
    ($name:ident, $fixture:ty) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn access_token_living_longer_than_the_validity_is_refused() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                // Another process sharing the keys, configured (or forged) to
                // issue 300-day access tokens.
                let long = builder(fx.store().clone(), &clock)
                    .access_token_validity(Duration::from_secs(300 * 24 * 3600))
                    .refresh_token_validity(Duration::from_secs(400 * 24 * 3600))
                    .build()
                    .await
                    .unwrap();
                let m = manager(fx.reopen().await.unwrap(), &clock).await;
                let s = long.create_new_session("u", json!({}), json!({})).await.unwrap();
                let r = m.get_session(&s.access_token.token, None, VerifyOptions::default()).await;
                assert!(is_invalid_access_token(&r), "{r:?}");
                // Payload regeneration must not carry the long expiry over either.
                let r = m.regenerate_access_token(&s.access_token.token, json!({"a": 1})).await;
                assert!(matches!(r, Err(Error::Unauthorised { .. })), "{r:?}");
                // The manager's own tokens (jittered, regenerated) still pass.
                let own = m.create_new_session("u", json!({}), json!({})).await.unwrap();
                m.get_session(&own.access_token.token, None, VerifyOptions::default()).await.unwrap();
                clock.advance(Duration::from_secs(600));
                let regen = m
                    .regenerate_access_token(&own.access_token.token, json!({"a": 1}))
                    .await
                    .unwrap()
                    .unwrap();
                let fresh = manager(fx.reopen().await.unwrap(), &clock).await;
                fresh
                    .get_session(&regen.access_token.unwrap().token, None, VerifyOptions::default())
                    .await
                    .unwrap();
            }

            #[tokio::test]
            async fn access_token_expiry_is_capped_at_the_absolute_session_end() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = builder(fx.store().clone(), &clock)
                    .access_token_validity(Duration::from_secs(3600))
                    .absolute_session_lifetime(Duration::from_secs(2 * 3600))
                    .access_token_validity_jitter(0.0)
                    .build()
                    .await
                    .unwrap();
                let s = m.create_new_session("u", json!({}), json!({})).await.unwrap();
                let end_ms = m
                    .get_session_information(s.handle())
                    .await
                    .unwrap()
                    .unwrap()
                    .absolute_expiry_ms
                    .unwrap();
                let end_ms = u64::try_from(end_ms).unwrap();
                assert!(s.access_token.expiry_ms <= end_ms);
                // A refresh 90 minutes in: the new token ends with the session.
                clock.advance(Duration::from_secs(90 * 60));
                let r = m.refresh_session(&s.refresh_token.token, None).await.unwrap();
                assert!(
                    r.access_token.expiry_ms <= end_ms,
                    "access token ends {} ms after the session",
                    r.access_token.expiry_ms - end_ms
                );
                assert_eq!(r.claims.expiry_ms(), r.access_token.expiry_ms);
                let regen = m
                    .regenerate_access_token(&r.access_token.token, json!({"a": 1}))
                    .await
                    .unwrap()
                    .unwrap();
                assert!(regen.claims.expiry_ms() <= end_ms);
                // Just past the absolute end, no token of the session verifies.
                clock.set(end_ms + 1);
                for token in [&r.access_token.token, &regen.access_token.unwrap().token] {
                    let e = m.get_session(token, None, VerifyOptions::default()).await.unwrap_err();
                    assert!(matches!(e, Error::TryRefreshToken { .. }), "{e}");
                }
            }

            #[tokio::test]
            async fn padded_or_non_canonical_access_token_is_refused() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                // Another process, whose cache does not hold the token.
                let other = manager(fx.reopen().await.unwrap(), &clock).await;
                let s = m.create_new_session("u", json!({}), json!({})).await.unwrap();
                let t = &s.access_token.token;
                for bad in [format!("{t}="), format!("{t}=="), format!("{t}===="), with_noncanonical_last_char(t)] {
                    for mgr in [&m, &other] {
                        let r = mgr.get_session(&bad, None, VerifyOptions::default()).await;
                        assert!(is_invalid_access_token(&r), "{r:?}");
                        assert!(!mgr.is_well_formed_access_token(&bad));
                        let r = mgr.regenerate_access_token(&bad, json!({})).await;
                        assert!(matches!(r, Err(Error::Unauthorised { .. })), "{r:?}");
                    }
                }
                other.get_session(t, None, VerifyOptions::default()).await.unwrap();
            }

            #[tokio::test]
            async fn padded_previous_refresh_token_in_the_grace_window_is_not_theft() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let s = m.create_new_session("u", json!({}), json!({})).await.unwrap();
                let r = m.refresh_session(&s.refresh_token.token, None).await.unwrap();
                clock.advance(Duration::from_secs(5));
                for pad in ["=", "==", "==="] {
                    for token in [&s.refresh_token.token, &r.refresh_token.token] {
                        let e = m.refresh_session(&format!("{token}{pad}"), None).await.unwrap_err();
                        assert!(
                            matches!(e, Error::Unauthorised { reason: UnauthorisedReason::InvalidRefreshToken }),
                            "{e}"
                        );
                    }
                }
                // The session is intact: the real tokens still work as before.
                let again = m.refresh_session(&s.refresh_token.token, None).await.unwrap();
                assert_eq!(again.refresh_token.token, r.refresh_token.token);
                m.refresh_session(&r.refresh_token.token, None).await.unwrap();
            }

            #[tokio::test]
            async fn padded_anti_csrf_token_is_refused() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = builder(fx.store().clone(), &clock)
                    .anti_csrf(AntiCsrfMode::ViaToken)
                    .build()
                    .await
                    .unwrap();
                let s = m.create_new_session("u", json!({}), json!({})).await.unwrap();
                let csrf = s.anti_csrf_token.clone().unwrap();
                let padded = format!("{csrf}=");
                let check = VerifyOptions { anti_csrf_check: true, ..VerifyOptions::default() };
                let e = m.get_session(&s.access_token.token, Some(&padded), check).await.unwrap_err();
                assert!(matches!(e, Error::TryRefreshToken { .. }), "{e}");
                let e = m.refresh_session(&s.refresh_token.token, Some(&padded)).await.unwrap_err();
                assert!(
                    matches!(e, Error::Unauthorised { reason: UnauthorisedReason::AntiCsrfMismatch }),
                    "{e}"
                );
                m.get_session(&s.access_token.token, Some(&csrf), check).await.unwrap();
                m.refresh_session(&s.refresh_token.token, Some(&csrf)).await.unwrap();
            }

            #[tokio::test]
            async fn ids_with_control_characters_or_too_long_are_invalid_input() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let live = m.create_new_session("u", json!({}), json!({})).await.unwrap();
                let long = "x".repeat(257);
                for bad in ["a\0b", "\0", "line\nbreak", "\x1b[31m", long.as_str()] {
                    assert!(is_invalid_input(&m.create_new_session(bad, json!({}), json!({})).await), "{bad:?}");
                    assert!(is_invalid_input(&m.create_session(NewSession::new("u").tenant(bad)).await));
                    let mut linked = NewSession::new("u");
                    linked.recipe_user_id = Some(bad.to_owned());
                    assert!(is_invalid_input(&m.create_session(linked).await));
                    assert!(is_invalid_input(&m.get_all_session_handles_for_user(bad).await));
                    assert!(is_invalid_input(&m.revoke_all_sessions_for_user(bad).await));
                    assert!(is_invalid_input(&m.get_session_information(bad).await));
                    assert!(is_invalid_input(&m.get_session_data(bad).await));
                    assert!(is_invalid_input(&m.update_session_data(bad, json!({})).await));
                    assert!(is_invalid_input(&m.update_jwt_payload(bad, json!({})).await));
                    assert!(is_invalid_input(&m.revoke_session(bad).await));
                    assert!(is_invalid_input(&m.revoke_multiple_sessions(&[bad.to_owned()]).await));
                    let scope = m.for_tenant(bad);
                    assert!(is_invalid_input(&scope.get_all_session_handles_for_user("u").await));
                    assert!(is_invalid_input(&scope.revoke_all_sessions_for_user("u").await));
                    assert!(is_invalid_input(&scope.revoke_session(live.handle()).await));
                    assert!(is_invalid_input(&scope.create_new_session("u", json!({}), json!({})).await));
                    let public = m.for_tenant("public");
                    assert!(is_invalid_input(&public.get_all_session_handles_for_user(bad).await));
                    assert!(is_invalid_input(&public.revoke_all_sessions_for_user(bad).await));
                }
                // Nothing was created; the live session is untouched.
                assert_eq!(m.get_all_session_handles_for_user("u").await.unwrap(), vec![live.handle().to_owned()]);
                // Empty ids stay valid lookup keys; 256 bytes and non-ASCII are fine.
                assert!(m.get_all_session_handles_for_user("").await.unwrap().is_empty());
                assert!(m.revoke_all_sessions_for_user("").await.unwrap().is_empty());
                assert!(m.get_session_information("").await.unwrap().is_none());
                assert!(m.for_tenant("").get_all_session_handles_for_user("").await.unwrap().is_empty());
                let longest = "ü".repeat(128);
                let s = m.create_new_session(&longest, json!({}), json!({})).await.unwrap();
                assert_eq!(m.get_all_session_handles_for_user(&longest).await.unwrap(), vec![s.handle().to_owned()]);
            }

            #[tokio::test]
            async fn access_token_over_the_size_limit_is_refused_with_nothing_stored() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let m = manager(fx.store().clone(), &clock).await;
                let other = manager(fx.reopen().await.unwrap(), &clock).await;
                let max = m.config().max_access_token_bytes;
                assert_eq!(max, 8 * 1024);
                // ~11.5 KB of payload made a 16 KiB token that only its issuer verified.
                let r = m.create_new_session("big", payload_of(11_500), json!({})).await;
                assert!(is_invalid_input(&r), "{r:?}");
                let r = m.create_new_session("big", payload_of(5_900), json!({})).await;
                assert!(is_invalid_input(&r), "{r:?}");
                assert!(m.get_all_session_handles_for_user("big").await.unwrap().is_empty());
                // Just under the limit: issued, and verified by another process.
                let s = m.create_new_session("big", payload_of(5_400), json!({})).await.unwrap();
                assert!(s.access_token.token.len() <= max);
                other.get_session(&s.access_token.token, None, VerifyOptions::default()).await.unwrap();
                let r = m.refresh_session(&s.refresh_token.token, None).await.unwrap();
                assert!(r.access_token.token.len() <= max);
                // Payload update and regeneration refuse, and leave the stored payload alone.
                let stored = || async {
                    m.get_session_information(s.handle()).await.unwrap().unwrap().jwt_payload
                };
                assert!(is_invalid_input(&m.update_jwt_payload(s.handle(), payload_of(9_000)).await));
                assert_eq!(stored().await, payload_of(5_400));
                let r = m.regenerate_access_token(&r.access_token.token, payload_of(9_000)).await;
                assert!(is_invalid_input(&r), "{r:?}");
                assert_eq!(stored().await, payload_of(5_400));
                assert!(m.update_jwt_payload(s.handle(), payload_of(100)).await.unwrap());
                assert_eq!(stored().await, payload_of(100));
            }
        }
    };
}

token_rules_on!(sqlite, SqliteFixture);
token_rules_on!(postgres, PostgresFixture);

#[tokio::test]
async fn max_access_token_bytes_is_validated() {
    for bad in [0, 1024, 16 * 1024 + 1] {
        let r = SessionManager::builder()
            .max_access_token_bytes(bad)
            .build()
            .await;
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{bad}");
    }
    let m = SessionManager::builder()
        .max_access_token_bytes(4096)
        .build()
        .await
        .unwrap();
    assert!(is_invalid_input(
        &m.create_new_session("u", payload_of(3_000), json!({}))
            .await
    ));
}

/// Captures what a `fmt` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A user id forging a log line and colouring the terminal.
const EVIL: &str = "evil\n2026-01-01T00:00:00.000000Z  WARN tessera::theft: forged line\x1b[31m";

/// Runs `body` with every event (trace level and up) captured; returns the text.
async fn capture_logs<F: std::future::Future<Output = ()>>(body: F) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    body.await;
    drop(guard);
    String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
}

fn assert_escaped(out: &str) {
    assert!(!out.contains('\x1b'), "raw ESC in the log:\n{out}");
    assert!(
        !out.lines().any(|l| l.starts_with("2026-01-01")),
        "forged log line:\n{out}"
    );
}

/// Theft of a session whose stored user id holds a newline and ESC (a row
/// written before the id rule, or by another tool): the warning is one line.
async fn theft_warning_is_escaped(fx: &impl Fixture, set_user_id: impl AsyncFnOnce(&str)) {
    let clock = ManualClock::starting_now();
    let m = manager(fx.store().clone(), &clock).await;
    let s = m
        .create_new_session("u", json!({}), json!({}))
        .await
        .unwrap();
    let r = m
        .refresh_session(&s.refresh_token.token, None)
        .await
        .unwrap();
    m.refresh_session(&r.refresh_token.token, None)
        .await
        .unwrap();
    set_user_id(s.handle()).await;
    clock.advance(Duration::from_secs(60));
    let out = capture_logs(async {
        let e = m
            .refresh_session(&s.refresh_token.token, None)
            .await
            .unwrap_err();
        match e {
            Error::TokenTheftDetected { user_id, .. } => assert_eq!(user_id, EVIL),
            other => panic!("expected theft, got {other}"),
        }
        // Refused input is logged escaped too (the create span's user id).
        let e = m
            .create_new_session(EVIL, json!({}), json!({}))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidInput(_)), "{e}");
    })
    .await;
    assert!(out.contains("tessera::theft"), "{out}");
    assert!(out.contains(r"evil\n2026"), "{out}");
    assert_escaped(&out);
}

#[tokio::test]
async fn untrusted_user_ids_reach_the_log_escaped_sqlite() {
    let Some(fx) = SqliteFixture::setup().await else {
        return;
    };
    theft_warning_is_escaped(&fx, async |handle: &str| {
        let sql = format!("UPDATE tessera_sessions SET user_id = ? WHERE handle = '{handle}'");
        fx.execute(&sql, EVIL).await;
    })
    .await;
}

#[tokio::test]
async fn untrusted_user_ids_reach_the_log_escaped_postgres() {
    let Some(fx) = PostgresFixture::setup().await else {
        return;
    };
    theft_warning_is_escaped(&fx, async |handle: &str| {
        let mut conn = fx.raw().await;
        sqlx::query("UPDATE tessera_sessions SET user_id = $1 WHERE handle = $2")
            .bind(EVIL)
            .bind(handle)
            .execute(&mut conn)
            .await
            .unwrap();
    })
    .await;
}
