//! Security finding 4: the key table must not hand a database reader the
//! keys, and a compromised key must stop working at once.
//!
//! On the real SQLite file and the real PostgreSQL (a schema of its own;
//! needs `TESSERA_TEST_POSTGRES_URL`, else each test says SKIPPING and
//! returns), and the memory store where the rule is the engine's alone.
//! Two managers on one database stand for two processes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::rsa::KeyPair;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera::keys::{EmergencyRotation, KeyEncryptionKey};
use tessera::store::{KeyPurpose, KeySecretUpdate, SessionStore, StoredKey};
use tessera::{
    AntiCsrfMode, Error, ManualClock, NewSession, RefreshRequest, SessionManager, TryRefreshReason,
    UnauthorisedReason, VerifyOptions,
};

use common::stores::{Fixture, MemoryFixture, PostgresFixture, SqliteFixture, key};

fn builder<S: SessionStore + Clone>(
    store: S,
    clock: &ManualClock,
) -> tessera::SessionManagerBuilder {
    SessionManager::builder()
        .store(store)
        .clock(clock.clone())
        .background_tasks(false)
}

async fn manager<S: SessionStore + Clone>(
    store: S,
    clock: &ManualClock,
    kek: Option<&KeyEncryptionKey>,
) -> SessionManager {
    let mut b = builder(store, clock);
    if let Some(kek) = kek {
        b = b.key_encryption_key(kek.clone());
    }
    b.build().await.unwrap()
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let raw = URL_SAFE_NO_PAD.decode(header).unwrap();
    serde_json::from_slice::<Value>(&raw).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A token for `user` with the claims of `genuine`, signed with `pkcs8`:
/// what a database reader could mint from a plaintext key row.
fn forge(genuine: &str, pkcs8: &[u8], user: &str) -> Option<String> {
    let pair = KeyPair::from_pkcs8(pkcs8).ok()?;
    let mut parts = genuine.split('.');
    let header = parts.next().unwrap();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    payload["sub"] = json!(user);
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let input = format!("{header}.{payload}");
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .ok()?;
    Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

fn is_unknown_key(r: &tessera::Result<Arc<tessera::AccessTokenClaims>>) -> bool {
    matches!(
        r,
        Err(Error::TryRefreshToken {
            reason: TryRefreshReason::UnknownSigningKey
        })
    )
}

/// Captures `tessera::keys` log lines for the current thread.
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

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

macro_rules! keys_at_rest_on {
    ($name:ident, $fixture:ty) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn key_rows_hold_no_usable_key_when_a_kek_is_set() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let kek = KeyEncryptionKey::generate().unwrap();
                let m = builder(fx.store().clone(), &clock)
                    .key_encryption_key(kek.clone())
                    .use_dynamic_signing_key(false)
                    .build()
                    .await
                    .unwrap();
                let s = m
                    .create_new_session("alice", json!({}), json!({}))
                    .await
                    .unwrap();
                let d = m
                    .create_session(NewSession {
                        use_dynamic_signing_key: Some(true),
                        ..NewSession::new("alice")
                    })
                    .await
                    .unwrap();
                let raw = fx.store().load_keys().await.unwrap();
                assert_eq!(raw.len(), 3, "mac, static and dynamic rows");
                for row in &raw {
                    assert!(
                        row.secret.starts_with(&[0xA5, b'T', b'K', 1]),
                        "{} not sealed",
                        row.kid
                    );
                    assert!(KeyPair::from_pkcs8(&row.secret).is_err());
                    assert_ne!(
                        row.secret.len(),
                        32,
                        "{} looks like a plaintext MAC key",
                        row.kid
                    );
                }
                // What a reader of the rows can forge: nothing.
                for token in [&s.access_token.token, &d.access_token.token] {
                    let kid = kid_of(token);
                    let row = raw.iter().find(|r| r.kid == kid).unwrap();
                    assert!(forge(token, &row.secret, "mallory").is_none());
                }
                // The manager itself still works, and a second process with the KEK too.
                let other = manager(fx.reopen().await.unwrap(), &clock, Some(&kek)).await;
                other
                    .get_session(&s.access_token.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
                other
                    .refresh_session(&d.refresh_token.token, None)
                    .await
                    .unwrap();
                assert_eq!(m.key_encryption_key_id(), Some(kek.id()));
            }

            #[tokio::test]
            async fn plaintext_key_rows_forge_tokens_and_are_sealed_in_place_on_start() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let plain = manager(fx.store().clone(), &clock, None).await;
                let s = plain
                    .create_new_session("alice", json!({}), json!({}))
                    .await
                    .unwrap();
                // Without a KEK the finding stands: the row forges a token.
                let raw = fx.store().load_keys().await.unwrap();
                let row = raw
                    .iter()
                    .find(|r| r.kid == kid_of(&s.access_token.token))
                    .unwrap();
                let forged = forge(&s.access_token.token, &row.secret, "mallory").unwrap();
                let claims = plain
                    .get_session(&forged, None, VerifyOptions::default())
                    .await
                    .unwrap();
                assert_eq!(claims.user_id, "mallory");

                // Several processes start with the KEK at once: each row is sealed once.
                let kek = KeyEncryptionKey::generate().unwrap();
                let mut starts = Vec::new();
                for _ in 0..4 {
                    let store = fx.reopen().await.unwrap();
                    let clock = clock.clone();
                    let kek = kek.clone();
                    starts.push(tokio::spawn(async move {
                        builder(store, &clock).key_encryption_key(kek).build().await
                    }));
                }
                let mut managers = Vec::new();
                for s in starts {
                    managers.push(s.await.unwrap().expect("every process starts"));
                }
                let sealed = fx.store().load_keys().await.unwrap();
                assert_eq!(sealed.len(), raw.len());
                for row in &sealed {
                    assert!(
                        row.secret.starts_with(&[0xA5, b'T', b'K', 1]),
                        "{} not sealed",
                        row.kid
                    );
                }
                // The keys themselves did not change: old sessions carry on.
                for m in &managers {
                    m.get_session(&s.access_token.token, None, VerifyOptions::default())
                        .await
                        .unwrap();
                }
                managers[0]
                    .refresh_session(&s.refresh_token.token, None)
                    .await
                    .unwrap();
            }

            #[tokio::test]
            async fn sealed_keys_and_no_or_wrong_kek_fail_to_start_with_a_clear_error() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let kek_bytes = [0x42u8; 32];
                let kek = KeyEncryptionKey::from_bytes(kek_bytes).unwrap();
                manager(fx.store().clone(), &clock, Some(&kek)).await;

                let none = builder(fx.reopen().await.unwrap(), &clock)
                    .build()
                    .await
                    .unwrap_err();
                let text = none.to_string();
                assert!(matches!(none, Error::InvalidInput(_)), "{none:?}");
                assert!(text.contains("encrypted at rest"), "{text}");
                assert!(
                    text.contains("no key-encryption key is configured"),
                    "{text}"
                );
                assert!(text.contains("TESSERA_KEY_ENCRYPTION_KEY"), "{text}");

                let other = KeyEncryptionKey::generate().unwrap();
                let wrong = builder(fx.reopen().await.unwrap(), &clock)
                    .key_encryption_key(other.clone())
                    .build()
                    .await
                    .unwrap_err();
                let text = wrong.to_string();
                assert!(text.contains("wrong key-encryption key"), "{text}");
                assert!(
                    text.contains(&kek.id()) && text.contains(&other.id()),
                    "{text}"
                );
                for error in [&none, &wrong] {
                    let debug = format!("{error:?} {error}");
                    assert!(!debug.contains(&URL_SAFE_NO_PAD.encode(kek_bytes)));
                    assert!(!debug.contains("4242424242"));
                }
            }

            #[tokio::test]
            async fn a_sealed_secret_moved_to_another_row_is_refused() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let kek = KeyEncryptionKey::generate().unwrap();
                let m = builder(fx.store().clone(), &clock)
                    .key_encryption_key(kek.clone())
                    .use_dynamic_signing_key(false)
                    .build()
                    .await
                    .unwrap();
                m.create_new_session("alice", json!({}), json!({}))
                    .await
                    .unwrap();
                let raw = fx.store().load_keys().await.unwrap();
                let find = |p: KeyPurpose| raw.iter().find(|k| k.purpose == p).unwrap().clone();
                let (dynamic, stat) = (
                    find(KeyPurpose::DynamicSigning),
                    find(KeyPurpose::StaticSigning),
                );
                // An attacker with write access copies the dynamic key's
                // ciphertext over the static key's.
                assert!(
                    fx.store()
                        .update_key_secrets(&[KeySecretUpdate {
                            kid: stat.kid.clone(),
                            expected: stat.secret.clone(),
                            secret: dynamic.secret.clone(),
                        }])
                        .await
                        .unwrap()
                );
                let err = manager_result(fx.reopen().await.unwrap(), &clock, &kek)
                    .await
                    .unwrap_err();
                assert!(matches!(err, Error::CorruptData(_)), "{err:?}");
                let text = err.to_string();
                assert!(
                    text.contains(&stat.kid) && text.contains("fails authentication"),
                    "{text}"
                );
            }

            #[tokio::test]
            async fn rewrap_moves_every_row_to_the_new_kek_in_one_go() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let old = KeyEncryptionKey::generate().unwrap();
                let new = KeyEncryptionKey::generate().unwrap();
                let m = manager(fx.store().clone(), &clock, Some(&old)).await;
                let s = m
                    .create_new_session("alice", json!({}), json!({}))
                    .await
                    .unwrap();
                let before = fx.store().load_keys().await.unwrap();
                let report = m.rewrap_keys(new.clone()).await.unwrap();
                assert_eq!(report.rows, before.len());
                assert_eq!(report.kek_id, new.id());
                assert_eq!(m.key_encryption_key_id(), Some(new.id()));
                // New keys from this manager are sealed under the new KEK.
                m.rotate_signing_key(true).await.unwrap();
                let err = manager_result(fx.reopen().await.unwrap(), &clock, &old)
                    .await
                    .unwrap_err();
                assert!(
                    err.to_string().contains("wrong key-encryption key"),
                    "{err}"
                );
                let fresh = manager(fx.reopen().await.unwrap(), &clock, Some(&new)).await;
                fresh
                    .get_session(&s.access_token.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
                fresh
                    .refresh_session(&s.refresh_token.token, None)
                    .await
                    .unwrap();
            }

            #[tokio::test]
            async fn emergency_rotation_stops_old_tokens_at_once_and_clients_refresh() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let kek = KeyEncryptionKey::generate().unwrap();
                let m = manager(fx.store().clone(), &clock, Some(&kek)).await;
                let dynamic = m
                    .create_new_session("alice", json!({}), json!({}))
                    .await
                    .unwrap();
                let stat = m
                    .create_session(NewSession {
                        use_dynamic_signing_key: Some(false),
                        ..NewSession::new("bob")
                    })
                    .await
                    .unwrap();
                for s in [&dynamic, &stat] {
                    // Verified once: the token is in the verified-token cache.
                    m.get_session(&s.access_token.token, None, VerifyOptions::default())
                        .await
                        .unwrap();
                }
                let old_kids = [
                    kid_of(&dynamic.access_token.token),
                    kid_of(&stat.access_token.token),
                ];
                let report = m
                    .emergency_rotate(EmergencyRotation {
                        signing: true,
                        refresh_mac: false,
                    })
                    .await
                    .unwrap();
                for kid in &old_kids {
                    assert!(report.removed.contains(kid), "{report:?}");
                    assert!(m.jwks().keys.iter().all(|j| &j.kid != kid));
                }
                assert_eq!(report.added.len(), 2, "{report:?}");
                let rows = fx.store().load_keys().await.unwrap();
                assert!(
                    rows.iter().all(|r| !old_kids.contains(&r.kid)),
                    "deleted from the store"
                );
                for s in [&dynamic, &stat] {
                    let r = m
                        .get_session(&s.access_token.token, None, VerifyOptions::default())
                        .await;
                    assert!(is_unknown_key(&r), "{r:?}");
                }
                // Refresh tokens still work and give tokens under the new keys.
                for s in [&dynamic, &stat] {
                    let next = m
                        .refresh_session_with(RefreshRequest {
                            refresh_token: &s.refresh_token.token,
                            anti_csrf_token: None,
                            enable_anti_csrf: None,
                            use_dynamic_signing_key: Some(
                                kid_of(&s.access_token.token).starts_with("d-"),
                            ),
                        })
                        .await
                        .unwrap();
                    let kid = kid_of(&next.access_token.token);
                    assert!(report.added.contains(&kid), "{kid} {report:?}");
                    m.get_session(&next.access_token.token, None, VerifyOptions::default())
                        .await
                        .unwrap();
                }
            }

            #[tokio::test]
            async fn emergency_mac_rotation_voids_refresh_and_anti_csrf_tokens() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let m = builder(fx.store().clone(), &clock)
                    .anti_csrf(AntiCsrfMode::ViaToken)
                    .build()
                    .await
                    .unwrap();
                let s = m
                    .create_new_session("alice", json!({}), json!({}))
                    .await
                    .unwrap();
                let anti_csrf = s.anti_csrf_token.clone().unwrap();
                let refreshed = m
                    .refresh_session(&s.refresh_token.token, Some(&anti_csrf))
                    .await
                    .unwrap();
                let old_mac: Vec<String> = fx
                    .store()
                    .load_keys()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|k| k.purpose == KeyPurpose::RefreshMac)
                    .map(|k| k.kid)
                    .collect();
                let report = m
                    .emergency_rotate(EmergencyRotation {
                        signing: true,
                        refresh_mac: true,
                    })
                    .await
                    .unwrap();
                assert!(report.removed.contains(&old_mac[0]), "{report:?}");
                // Neither the current nor an old refresh token works; no theft is reported
                // (the session is not revoked as stolen: the user just signs in again).
                for token in [&refreshed.refresh_token.token, &s.refresh_token.token] {
                    let r = m.refresh_session(token, Some(&anti_csrf)).await;
                    assert!(
                        matches!(
                            r,
                            Err(Error::Unauthorised {
                                reason: UnauthorisedReason::InvalidRefreshToken
                            })
                        ),
                        "{r:?}"
                    );
                }
                let again = m
                    .create_new_session("alice", json!({}), json!({}))
                    .await
                    .unwrap();
                let new_anti_csrf = again.anti_csrf_token.clone().unwrap();
                assert_ne!(new_anti_csrf, anti_csrf);
                m.refresh_session(&again.refresh_token.token, Some(&new_anti_csrf))
                    .await
                    .unwrap();
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn another_process_drops_deleted_keys_at_its_next_key_set_check() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let kek = KeyEncryptionKey::generate().unwrap();
                let a = manager(fx.store().clone(), &clock, Some(&kek)).await;
                let b = manager(fx.reopen().await.unwrap(), &clock, Some(&kek)).await;
                let s = a
                    .create_new_session("alice", json!({}), json!({}))
                    .await
                    .unwrap();
                b.get_session(&s.access_token.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
                assert!(!b.check_key_set().await.unwrap(), "nothing changed yet");
                a.emergency_rotate(EmergencyRotation {
                    signing: true,
                    refresh_mac: false,
                })
                .await
                .unwrap();
                // Before its check, b still has the key (and the token cached).
                b.get_session(&s.access_token.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
                assert!(b.check_key_set().await.unwrap());
                let r = b
                    .get_session(&s.access_token.token, None, VerifyOptions::default())
                    .await;
                assert!(is_unknown_key(&r), "{r:?}");
                assert!(
                    b.jwks()
                        .keys
                        .iter()
                        .all(|j| j.kid != kid_of(&s.access_token.token))
                );
                // b signs with the new key, which a accepts.
                let from_b = b
                    .refresh_session(&s.refresh_token.token, None)
                    .await
                    .unwrap();
                a.get_session(&from_b.access_token.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn another_process_with_background_tasks_drops_deleted_keys_by_itself() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let a = SessionManager::builder()
                    .store(fx.store().clone())
                    .build()
                    .await
                    .unwrap();
                let b = SessionManager::builder()
                    .store(fx.reopen().await.unwrap())
                    .build()
                    .await
                    .unwrap();
                let s = a
                    .create_new_session("alice", json!({}), json!({}))
                    .await
                    .unwrap();
                b.get_session(&s.access_token.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
                a.emergency_rotate(EmergencyRotation {
                    signing: true,
                    refresh_mac: false,
                })
                .await
                .unwrap();
                // Liveness, not timing: the background check (every 2 s) gets
                // there; the generous limit only stops a broken build hanging.
                let give_up = Instant::now() + Duration::from_secs(60);
                loop {
                    let r = b
                        .get_session(&s.access_token.token, None, VerifyOptions::default())
                        .await;
                    if is_unknown_key(&r) {
                        break;
                    }
                    assert!(r.is_ok(), "{r:?}");
                    assert!(Instant::now() < give_up, "b never dropped the deleted key");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                a.close().await;
                b.close().await;
            }

            #[tokio::test]
            async fn replace_keys_is_all_or_nothing() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let store = fx.store();
                assert!(
                    store
                        .insert_key(&key("d-a", KeyPurpose::DynamicSigning, 0))
                        .await
                        .unwrap()
                );
                assert!(
                    store
                        .insert_key(&key("d-b", KeyPurpose::DynamicSigning, 1))
                        .await
                        .unwrap()
                );
                // d-c clashes with d-b's generation: nothing happens, d-a stays.
                let clash = store
                    .replace_keys(
                        &["d-a".into()],
                        &[key("d-c", KeyPurpose::DynamicSigning, 1)],
                    )
                    .await
                    .unwrap();
                assert!(!clash);
                let mut ids = store.key_ids().await.unwrap();
                ids.sort();
                assert_eq!(ids, ["d-a", "d-b"]);
                let done = store
                    .replace_keys(
                        &["d-a".into(), "d-b".into(), "d-gone".into()],
                        &[
                            key("d-c", KeyPurpose::DynamicSigning, 1),
                            key("s-a", KeyPurpose::StaticSigning, 0),
                        ],
                    )
                    .await
                    .unwrap();
                assert!(done);
                let mut ids = store.key_ids().await.unwrap();
                ids.sort();
                assert_eq!(ids, ["d-c", "s-a"]);
            }

            #[tokio::test]
            async fn update_key_secrets_is_an_all_or_nothing_compare_and_swap() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let store = fx.store();
                let a = key("d-a", KeyPurpose::DynamicSigning, 0);
                let b = key("d-b", KeyPurpose::DynamicSigning, 1);
                store.insert_key(&a).await.unwrap();
                store.insert_key(&b).await.unwrap();
                let update = |k: &StoredKey, expected: &[u8], secret: &[u8]| KeySecretUpdate {
                    kid: k.kid.clone(),
                    expected: expected.to_vec(),
                    secret: secret.to_vec(),
                };
                // The second update expects a value b does not hold: a is not changed either.
                let stale = store
                    .update_key_secrets(&[
                        update(&a, &a.secret, b"new-a"),
                        update(&b, b"other", b"new-b"),
                    ])
                    .await
                    .unwrap();
                assert!(!stale);
                let missing = store
                    .update_key_secrets(&[
                        update(&a, &a.secret, b"new-a"),
                        update(&key("d-x", KeyPurpose::DynamicSigning, 9), b"x", b"y"),
                    ])
                    .await
                    .unwrap();
                assert!(!missing);
                let secrets = |rows: Vec<StoredKey>| {
                    rows.into_iter()
                        .map(|k| (k.kid, k.secret))
                        .collect::<Vec<_>>()
                };
                assert_eq!(
                    secrets(store.load_keys().await.unwrap()),
                    [
                        ("d-a".to_owned(), a.secret.clone()),
                        ("d-b".to_owned(), b.secret.clone())
                    ]
                );
                assert!(
                    store
                        .update_key_secrets(&[
                            update(&a, &a.secret, b"new-a"),
                            update(&b, &b.secret, b"new-b")
                        ])
                        .await
                        .unwrap()
                );
                assert_eq!(
                    secrets(store.load_keys().await.unwrap()),
                    [
                        ("d-a".to_owned(), b"new-a".to_vec()),
                        ("d-b".to_owned(), b"new-b".to_vec())
                    ]
                );
            }
        }
    };
}

async fn manager_result<S: SessionStore + Clone>(
    store: S,
    clock: &ManualClock,
    kek: &KeyEncryptionKey,
) -> tessera::Result<SessionManager> {
    builder(store, clock)
        .key_encryption_key(kek.clone())
        .build()
        .await
}

keys_at_rest_on!(memory, MemoryFixture);
keys_at_rest_on!(sqlite, SqliteFixture);
keys_at_rest_on!(postgres, PostgresFixture);

#[tokio::test]
async fn no_kek_is_said_once_at_start_up_and_a_kek_silences_it() {
    let Some(fx) = SqliteFixture::setup().await else {
        return;
    };
    let clock = ManualClock::starting_now();
    let (logs, _guard) = capture_logs();
    let m = manager(fx.store().clone(), &clock, None).await;
    m.run_maintenance().await.unwrap();
    m.rotate_signing_key(true).await.unwrap();
    m.check_key_set().await.unwrap();
    let text = logs.text();
    assert_eq!(
        text.matches("no key-encryption key configured").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("WARN") && text.contains("tessera::keys"),
        "{text}"
    );
    let kek = KeyEncryptionKey::generate().unwrap();
    let _sealed = manager(fx.reopen().await.unwrap(), &clock, Some(&kek)).await;
    let text = logs.text();
    assert_eq!(
        text.matches("no key-encryption key configured").count(),
        1,
        "{text}"
    );
    assert!(text.contains(&kek.id()), "{text}");
}
