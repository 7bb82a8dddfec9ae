//! The store conformance suite: the `SessionStore` contract, written once as
//! a macro and run against every store.
//!
//! ```text
//! store_conformance!(memory, MemoryFixture);
//! store_conformance!(sqlite, SqliteFixture);     // a fresh temp file per test
//! store_conformance!(postgres, PostgresFixture); // a fresh schema per test
//! ```
//!
//! The PostgreSQL instantiation needs `TESSERA_TEST_POSTGRES_URL` (for
//! example `postgres://postgres@127.0.0.1:5432/test`); without it each of its
//! tests prints `SKIPPING postgres conformance: ...` on stderr and returns.
//!
//! A new store is done when this suite passes for it: add a fixture in
//! `common/stores.rs` and one `store_conformance!` line below.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use tessera::store::{KeyPurpose, RefreshState, Rotation, SessionStore, TenantFilter};
use tessera::{Error, SessionMetadata};

use common::stores::{
    Damage, Fixture, HOUR, MemoryFixture, PostgresFixture, SqliteFixture, T0, hash, key, session,
};

/// The new refresh state a rotation with seed `n` writes.
fn rotation(n: u8, previous: [u8; 32], expires_at_ms: i64) -> Rotation {
    Rotation {
        refresh: RefreshState {
            current_hash: hash(n),
            previous_hash: Some(previous),
            current_sealed: Some(vec![n, 0, 255, n]),
            generation: i64::from(n),
            rotated_at_ms: T0 + i64::from(n),
        },
        expires_at_ms,
    }
}

/// A dynamic signing key with every optional time set.
fn dynamic_key_with_an_end() -> tessera::store::StoredKey {
    let mut k = key("d-1", KeyPurpose::DynamicSigning, 1);
    k.not_after_ms = Some(T0 + HOUR);
    k.retire_after_ms = Some(T0 + 3 * HOUR);
    k
}

fn is_corrupt<T>(result: tessera::Result<T>) -> bool {
    matches!(result, Err(Error::CorruptData(_)))
}

fn set(handles: Vec<String>) -> BTreeSet<String> {
    handles.into_iter().collect()
}

fn names(handles: &[&str]) -> BTreeSet<String> {
    handles.iter().map(|h| (*h).to_owned()).collect()
}

/// The whole suite for one store. `$fixture` implements
/// [`common::stores::Fixture`].
macro_rules! store_conformance {
    ($name:ident, $fixture:ty) => {
        mod $name {
            use super::*;

            type Fx = $fixture;

            // ---------------------------------------------------- sessions

            #[tokio::test]
            async fn inserted_session_reads_back_unchanged() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let mut record = session("h-full", "user-1", "tenant-a");
                record.recipe_user_id = "recipe-1".into();
                record.jwt_payload = json!({ "role": "admin" });
                record.session_data = json!({ "cart": [1, 2] });
                record.absolute_expires_at_ms = Some(T0 + 10 * HOUR);
                record.refresh = RefreshState {
                    current_hash: hash(7),
                    previous_hash: Some(hash(6)),
                    current_sealed: Some(vec![0, 1, 2, 255]),
                    generation: 3,
                    rotated_at_ms: T0 + 5,
                };
                record.metadata = SessionMetadata {
                    ip: Some("203.0.113.9".into()),
                    user_agent: Some("Mozilla/5.0".into()),
                    device: Some("Alice's laptop".into()),
                };
                store.insert_session(&record).await.unwrap();

                assert_eq!(store.get_session("h-full", T0).await.unwrap(), Some(record.clone()));
                assert!(store.session_exists("h-full", T0).await.unwrap());
                assert_eq!(
                    store.get_session_data("h-full", T0).await.unwrap(),
                    Some(record.session_data.clone())
                );
            }

            #[tokio::test]
            async fn missing_session_is_absent() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                assert_eq!(store.get_session("nope", T0).await.unwrap(), None);
                assert!(!store.session_exists("nope", T0).await.unwrap());
                assert_eq!(store.get_session_data("nope", T0).await.unwrap(), None);
            }

            #[tokio::test]
            async fn insert_session_rejects_a_duplicate_handle() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let first = session("h", "user-1", "public");
                store.insert_session(&first).await.unwrap();

                let second = session("h", "user-2", "public");
                let err = store.insert_session(&second).await.unwrap_err();
                assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
                assert_eq!(store.get_session("h", T0).await.unwrap(), Some(first));
            }

            #[tokio::test]
            async fn expired_session_is_absent_before_cleanup() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let record = session("h", "user-1", "public");
                let expiry = record.expires_at_ms;
                store.insert_session(&record).await.unwrap();

                // One millisecond before expiry the session is live ...
                assert!(store.session_exists("h", expiry - 1).await.unwrap());

                // ... at `expires_at_ms <= now` every method treats it as absent.
                assert_eq!(store.get_session("h", expiry).await.unwrap(), None);
                assert!(!store.session_exists("h", expiry).await.unwrap());
                assert_eq!(store.get_session_data("h", expiry).await.unwrap(), None);
                assert!(
                    store
                        .list_handles_for_user("user-1", TenantFilter::All, expiry)
                        .await
                        .unwrap()
                        .is_empty()
                );
                assert!(
                    !store
                        .update_session_data("h", &json!({ "x": 1 }), expiry)
                        .await
                        .unwrap()
                );
                assert_eq!(
                    store
                        .update_jwt_payload("h", &json!({ "x": 1 }), expiry)
                        .await
                        .unwrap(),
                    None
                );
                let refresh_later = rotation(2, hash(1), expiry + HOUR);
                assert_eq!(
                    store
                        .rotate_refresh("h", &hash(1), &refresh_later, expiry)
                        .await
                        .unwrap(),
                    None
                );

                // None of those writes happened: the row is as inserted.
                assert_eq!(store.get_session("h", expiry - 1).await.unwrap(), Some(record));
            }

            #[tokio::test]
            async fn json_payload_and_data_round_trip() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let payload = json!({
                    "role": "admin",
                    "nested": { "deeper": { "list": [1, "two", null, true, { "k": [] }] } },
                    "unicode": "żółć 日本語 العربية 🦀 \u{0} \u{1F600}",
                    "escapes": "quote \" backslash \\ newline \n tab \t",
                    "numbers": [
                        0, -1, 9_007_199_254_740_993_i64, 18_446_744_073_709_551_615_u64,
                        1.5, -0.25
                    ],
                    "empty": {},
                    "ключ": "значение"
                });
                let data = json!({
                    "cart": [{ "sku": "A-1", "qty": 2 }],
                    "prefs": { "theme": "dark", "lang": "pt-BR" },
                    "note": "“curly” ‘quotes’ — dashes…"
                });
                let mut record = session("h", "user-1", "public");
                record.jwt_payload = payload.clone();
                record.session_data = data.clone();
                store.insert_session(&record).await.unwrap();

                let got = store.get_session("h", T0).await.unwrap().unwrap();
                assert_eq!(got.jwt_payload, payload);
                assert_eq!(got.session_data, data);
                assert_eq!(store.get_session_data("h", T0).await.unwrap(), Some(data));

                // The same through both update paths.
                let new_data = json!({
                    "emoji": "👩‍💻",
                    "deep": { "a": { "b": { "c": [[], [{}]] } } }
                });
                assert!(store.update_session_data("h", &new_data, T0).await.unwrap());
                assert_eq!(store.get_session_data("h", T0).await.unwrap(), Some(new_data));
                let new_payload = json!({ "name": "Zoë", "tags": ["ä", "ß", "中"] });
                let updated = store
                    .update_jwt_payload("h", &new_payload, T0)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(updated.jwt_payload, new_payload);
            }

            #[tokio::test]
            async fn metadata_round_trips_including_absent_and_empty_fields() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let cases = [
                    SessionMetadata::default(),
                    SessionMetadata {
                        ip: Some("2001:db8::1".into()),
                        user_agent: Some("curl/8.5.0 (x86_64) – ünïcode".into()),
                        device: Some("Alice's “work” phone 📱".into()),
                    },
                    SessionMetadata {
                        ip: Some(String::new()),
                        user_agent: None,
                        device: Some(String::new()),
                    },
                ];
                for (i, metadata) in cases.iter().enumerate() {
                    let mut record = session(&format!("h{i}"), "user-1", "public");
                    record.metadata = metadata.clone();
                    store.insert_session(&record).await.unwrap();
                    let got = store.get_session(&record.handle, T0).await.unwrap().unwrap();
                    assert_eq!(&got.metadata, metadata);
                }
            }

            #[tokio::test]
            async fn previous_hash_and_sealed_token_round_trip() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let all_bytes: Vec<u8> = (0..=255_u8).cycle().take(1024).collect();
                let cases = [
                    (None, None),
                    (Some(hash(9)), Some(Vec::new())),
                    (Some([0_u8; 32]), Some(all_bytes)),
                ];
                for (i, (previous_hash, current_sealed)) in cases.into_iter().enumerate() {
                    let mut record = session(&format!("h{i}"), "user-1", "public");
                    record.refresh.current_hash = [0xff; 32];
                    record.refresh.previous_hash = previous_hash;
                    record.refresh.current_sealed = current_sealed;
                    store.insert_session(&record).await.unwrap();
                    let got = store.get_session(&record.handle, T0).await.unwrap().unwrap();
                    assert_eq!(got.refresh, record.refresh);
                }
            }

            // ---------------------------------------------------- rotation

            #[tokio::test]
            async fn rotate_refresh_applies_only_with_the_current_hash() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let record = session("h", "user-1", "public");
                store.insert_session(&record).await.unwrap();
                let next = rotation(2, hash(1), T0 + 2 * HOUR);

                // A hash that is not the current one changes nothing.
                assert_eq!(store.rotate_refresh("h", &hash(9), &next, T0).await.unwrap(), None);
                assert_eq!(store.get_session("h", T0).await.unwrap(), Some(record.clone()));

                // The current hash swaps in the whole new state.
                let rotated = store
                    .rotate_refresh("h", &hash(1), &next, T0)
                    .await
                    .unwrap()
                    .expect("rotation with the current hash applies");
                let mut expected = record.clone();
                expected.refresh = next.refresh.clone();
                expected.expires_at_ms = T0 + 2 * HOUR;
                assert_eq!(rotated, expected);
                assert_eq!(store.get_session("h", T0).await.unwrap(), Some(expected.clone()));

                // The old hash is not current any more.
                let again = rotation(3, hash(1), T0 + 3 * HOUR);
                assert_eq!(store.rotate_refresh("h", &hash(1), &again, T0).await.unwrap(), None);
                assert_eq!(store.get_session("h", T0).await.unwrap(), Some(expected));

                // An unknown handle is simply absent.
                assert_eq!(store.rotate_refresh("nope", &hash(1), &next, T0).await.unwrap(), None);
            }

            #[tokio::test]
            async fn rotate_refresh_caps_the_expiry_at_the_absolute_end() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let mut capped = session("capped", "user-1", "public");
                capped.absolute_expires_at_ms = Some(T0 + 2 * HOUR);
                let mut roomy = session("roomy", "user-1", "public");
                roomy.absolute_expires_at_ms = Some(T0 + 10 * HOUR);
                let unbounded = session("unbounded", "user-1", "public");
                for r in [&capped, &roomy, &unbounded] {
                    store.insert_session(r).await.unwrap();
                }
                let next = rotation(2, hash(1), T0 + 5 * HOUR);
                let after = |h: &'static str| {
                    let store = store.clone();
                    let next = next.clone();
                    async move {
                        store
                            .rotate_refresh(h, &hash(1), &next, T0)
                            .await
                            .unwrap()
                            .unwrap()
                            .expires_at_ms
                    }
                };
                assert_eq!(after("capped").await, T0 + 2 * HOUR);
                assert_eq!(after("roomy").await, T0 + 5 * HOUR);
                assert_eq!(after("unbounded").await, T0 + 5 * HOUR);
                let stored = store.get_session("capped", T0).await.unwrap().unwrap();
                assert_eq!(stored.expires_at_ms, T0 + 2 * HOUR);
                assert_eq!(stored.absolute_expires_at_ms, Some(T0 + 2 * HOUR));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_rotations_with_one_hash_have_exactly_one_winner() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store().clone();
                store.insert_session(&session("h", "user-1", "public")).await.unwrap();

                let start = Arc::new(tokio::sync::Barrier::new(20));
                let tasks: Vec<_> = (0..20_u8)
                    .map(|i| {
                        let store = store.clone();
                        let start = Arc::clone(&start);
                        tokio::spawn(async move {
                            let next = rotation(100 + i, hash(1), T0 + 2 * HOUR);
                            start.wait().await;
                            store.rotate_refresh("h", &hash(1), &next, T0).await.unwrap().map(|_| i)
                        })
                    })
                    .collect();
                let mut winners = Vec::new();
                for task in tasks {
                    if let Some(i) = task.await.unwrap() {
                        winners.push(i);
                    }
                }
                assert_eq!(winners.len(), 1, "winners: {winners:?}");
                let stored = store.get_session("h", T0).await.unwrap().unwrap();
                assert_eq!(stored.refresh.current_hash, hash(100 + winners[0]));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_rotations_through_two_stores_have_exactly_one_winner() {
                let Some(fx) = Fx::setup().await else { return };
                let first = fx.store().clone();
                let second = fx.reopen().await.unwrap();
                first.insert_session(&session("h", "user-1", "public")).await.unwrap();

                let start = Arc::new(tokio::sync::Barrier::new(20));
                let tasks: Vec<_> = (0..20_u8)
                    .map(|i| {
                        let store = if i % 2 == 0 { first.clone() } else { second.clone() };
                        let start = Arc::clone(&start);
                        tokio::spawn(async move {
                            let next = rotation(100 + i, hash(1), T0 + 2 * HOUR);
                            start.wait().await;
                            store.rotate_refresh("h", &hash(1), &next, T0).await.unwrap().map(|_| i)
                        })
                    })
                    .collect();
                let mut winners = Vec::new();
                for task in tasks {
                    if let Some(i) = task.await.unwrap() {
                        winners.push(i);
                    }
                }
                assert_eq!(winners.len(), 1, "winners: {winners:?}");
                for store in [&first, &second] {
                    let stored = store.get_session("h", T0).await.unwrap().unwrap();
                    assert_eq!(stored.refresh.current_hash, hash(100 + winners[0]));
                }
            }

            // ---------------------------------------------------- updates

            #[tokio::test]
            async fn update_session_data_changes_only_the_data_of_a_live_session() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let record = session("h", "user-1", "public");
                store.insert_session(&record).await.unwrap();

                let data = json!({ "step": 2 });
                assert!(store.update_session_data("h", &data, T0).await.unwrap());
                let mut expected = record;
                expected.session_data = data.clone();
                assert_eq!(store.get_session("h", T0).await.unwrap(), Some(expected));

                assert!(!store.update_session_data("nope", &data, T0).await.unwrap());
            }

            #[tokio::test]
            async fn update_jwt_payload_returns_the_updated_record() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let record = session("h", "user-1", "public");
                store.insert_session(&record).await.unwrap();

                let payload = json!({ "plan": "pro" });
                let updated = store.update_jwt_payload("h", &payload, T0).await.unwrap();
                let mut expected = record;
                expected.jwt_payload = payload.clone();
                assert_eq!(updated, Some(expected.clone()));
                assert_eq!(store.get_session("h", T0).await.unwrap(), Some(expected));

                assert_eq!(store.update_jwt_payload("nope", &payload, T0).await.unwrap(), None);
            }

            #[tokio::test]
            async fn update_never_resurrects_a_deleted_session() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                store.insert_session(&session("h", "user-1", "public")).await.unwrap();
                let deleted = store
                    .delete_sessions(&["h".to_owned()], TenantFilter::All)
                    .await
                    .unwrap();
                assert_eq!(deleted, vec!["h".to_owned()]);

                assert!(!store.update_session_data("h", &json!({ "a": 1 }), T0).await.unwrap());
                let payload = json!({ "a": 1 });
                assert_eq!(store.update_jwt_payload("h", &payload, T0).await.unwrap(), None);
                let next = rotation(2, hash(1), T0 + HOUR);
                assert_eq!(store.rotate_refresh("h", &hash(1), &next, T0).await.unwrap(), None);
                assert_eq!(store.get_session("h", T0).await.unwrap(), None);
                assert!(!store.session_exists("h", T0).await.unwrap());
            }

            // ---------------------------------------------------- deletes and lists

            #[tokio::test]
            async fn delete_sessions_returns_only_the_handles_it_deleted() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let mut expired = session("expired", "user-1", "public");
                expired.expires_at_ms = T0 - 1;
                let a = session("a", "user-1", "public");
                let b = session("b", "user-2", "public");
                for r in [a, b, expired] {
                    store.insert_session(&r).await.unwrap();
                }
                let asked = ["a", "missing", "expired", "a"].map(String::from);
                let deleted = store.delete_sessions(&asked, TenantFilter::All).await.unwrap();
                assert_eq!(deleted.len(), 2, "{deleted:?}");
                assert_eq!(set(deleted), names(&["a", "expired"]));
                assert!(store.delete_sessions(&asked, TenantFilter::All).await.unwrap().is_empty());
                assert!(store.delete_sessions(&[], TenantFilter::All).await.unwrap().is_empty());
                assert!(store.session_exists("b", T0).await.unwrap());
            }

            #[tokio::test]
            async fn tenant_filter_limits_user_operations() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let mut rows = vec![
                    session("a1", "u", "tenant-a"),
                    session("a2", "u", "tenant-a"),
                    session("b1", "u", "tenant-b"),
                    session("other", "someone-else", "tenant-a"),
                ];
                for (i, r) in rows.iter_mut().enumerate() {
                    r.created_at_ms = T0 + i64::try_from(i).unwrap();
                    store.insert_session(r).await.unwrap();
                }

                let list = |tenant| store.list_handles_for_user("u", tenant, T0);
                assert_eq!(list(TenantFilter::Only("tenant-a")).await.unwrap(), ["a1", "a2"]);
                assert_eq!(list(TenantFilter::Only("tenant-b")).await.unwrap(), ["b1"]);
                assert!(list(TenantFilter::Only("tenant-c")).await.unwrap().is_empty());
                assert_eq!(list(TenantFilter::All).await.unwrap(), ["a1", "a2", "b1"]);

                // Deleting by handle outside the handle's tenant deletes nothing.
                let wrong = store
                    .delete_sessions(&["b1".to_owned()], TenantFilter::Only("tenant-a"))
                    .await
                    .unwrap();
                assert!(wrong.is_empty());
                assert!(store.session_exists("b1", T0).await.unwrap());

                // Deleting a user's sessions in one tenant leaves the others.
                let deleted = store
                    .delete_sessions_for_user("u", TenantFilter::Only("tenant-a"))
                    .await
                    .unwrap();
                assert_eq!(set(deleted), names(&["a1", "a2"]));
                assert_eq!(list(TenantFilter::All).await.unwrap(), ["b1"]);
                assert!(store.session_exists("other", T0).await.unwrap());

                let deleted = store
                    .delete_sessions(&["b1".to_owned()], TenantFilter::Only("tenant-b"))
                    .await
                    .unwrap();
                assert_eq!(deleted, ["b1"]);
            }

            #[tokio::test]
            async fn delete_sessions_for_user_removes_all_of_that_users_sessions_only() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let mut expired = session("u-expired", "u", "tenant-b");
                expired.expires_at_ms = T0 - 1;
                for r in [
                    session("u-a", "u", "tenant-a"),
                    session("u-b", "u", "tenant-b"),
                    expired,
                    session("v-a", "v", "tenant-a"),
                ] {
                    store.insert_session(&r).await.unwrap();
                }
                let deleted = store.delete_sessions_for_user("u", TenantFilter::All).await.unwrap();
                assert_eq!(set(deleted), names(&["u-a", "u-b", "u-expired"]));
                let again = store.delete_sessions_for_user("u", TenantFilter::All).await.unwrap();
                assert!(again.is_empty());
                assert!(store.session_exists("v-a", T0).await.unwrap());
            }

            #[tokio::test]
            async fn list_handles_oldest_first() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                // Inserted in an order unrelated to age or handle.
                let ages = [("m", 30), ("z", 10), ("a", 40), ("k", 20)];
                for (handle, age) in ages {
                    let mut r = session(handle, "u", "public");
                    r.created_at_ms = T0 - age;
                    store.insert_session(&r).await.unwrap();
                }
                let mut expired = session("gone", "u", "public");
                expired.created_at_ms = T0 - 50;
                expired.expires_at_ms = T0;
                store.insert_session(&expired).await.unwrap();
                store.insert_session(&session("x", "other", "public")).await.unwrap();

                let listed = store.list_handles_for_user("u", TenantFilter::All, T0).await.unwrap();
                assert_eq!(listed, ["a", "m", "k", "z"]);
                assert!(
                    store
                        .list_handles_for_user("nobody", TenantFilter::All, T0)
                        .await
                        .unwrap()
                        .is_empty()
                );
            }

            #[tokio::test]
            async fn delete_expired_removes_in_bounded_batches() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let now = T0 + HOUR;
                for i in 0..7 {
                    let mut r = session(&format!("old{i}"), "u", "public");
                    r.expires_at_ms = now - i; // old0 expires exactly now
                    store.insert_session(&r).await.unwrap();
                }
                for i in 0..3 {
                    let mut r = session(&format!("live{i}"), "u", "public");
                    r.expires_at_ms = now + 1 + i;
                    store.insert_session(&r).await.unwrap();
                }

                assert_eq!(store.delete_expired(now, 3).await.unwrap(), 3);
                assert_eq!(store.delete_expired(now, 3).await.unwrap(), 3);
                assert_eq!(store.delete_expired(now, 3).await.unwrap(), 1);
                assert_eq!(store.delete_expired(now, 3).await.unwrap(), 0);

                // Every expired row is gone (even to a reader with an earlier clock),
                // every live one remains.
                for i in 0..7 {
                    assert_eq!(store.get_session(&format!("old{i}"), T0).await.unwrap(), None);
                }
                let live = store.list_handles_for_user("u", TenantFilter::All, now).await.unwrap();
                assert_eq!(set(live), names(&["live0", "live1", "live2"]));
            }

            // ---------------------------------------------------- keys

            #[tokio::test]
            async fn inserted_keys_load_back_unchanged() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let dynamic = dynamic_key_with_an_end();
                let mut fixed = key("s-1", KeyPurpose::StaticSigning, 0);
                fixed.not_after_ms = Some(T0 + 24 * HOUR);
                let mut mac = key("mac-1", KeyPurpose::RefreshMac, 0);
                mac.algorithm = "HS256".into();
                mac.secret = (0..=255_u8).collect();
                mac.public_der = Vec::new();
                for k in [&dynamic, &fixed, &mac] {
                    assert!(store.insert_key(k).await.unwrap());
                }
                let mut loaded = store.load_keys().await.unwrap();
                loaded.sort_by(|a, b| a.kid.cmp(&b.kid));
                assert_eq!(loaded, vec![dynamic, mac, fixed]);
            }

            #[tokio::test]
            async fn insert_key_is_idempotent_per_purpose_and_generation() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let first = key("d-1", KeyPurpose::DynamicSigning, 1);
                assert!(store.insert_key(&first).await.unwrap());
                // The very same key again.
                assert!(!store.insert_key(&first).await.unwrap());
                // Another kid for the same purpose and generation.
                let dynamic = KeyPurpose::DynamicSigning;
                assert!(!store.insert_key(&key("d-other", dynamic, 1)).await.unwrap());
                // The same kid for another generation.
                assert!(!store.insert_key(&key("d-1", dynamic, 2)).await.unwrap());
                // The same generation of another purpose is another key.
                assert!(store.insert_key(&key("s-1", KeyPurpose::StaticSigning, 1)).await.unwrap());
                // The next generation of the same purpose too.
                assert!(store.insert_key(&key("d-2", dynamic, 2)).await.unwrap());

                let mut kids: Vec<String> =
                    store.load_keys().await.unwrap().into_iter().map(|k| k.kid).collect();
                kids.sort();
                assert_eq!(kids, ["d-1", "d-2", "s-1"]);
                let d1 = store.load_keys().await.unwrap().into_iter().find(|k| k.kid == "d-1");
                assert_eq!(d1, Some(first));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_key_inserts_for_one_generation_leave_one_row() {
                let Some(fx) = Fx::setup().await else { return };
                let first = fx.store().clone();
                let second = fx.reopen().await.unwrap();
                let start = Arc::new(tokio::sync::Barrier::new(10));
                let tasks: Vec<_> = (0..10)
                    .map(|i| {
                        let store = if i % 2 == 0 { first.clone() } else { second.clone() };
                        let start = Arc::clone(&start);
                        tokio::spawn(async move {
                            let k = key(&format!("d-{i}"), KeyPurpose::DynamicSigning, 7);
                            start.wait().await;
                            store.insert_key(&k).await.unwrap()
                        })
                    })
                    .collect();
                let mut inserted = 0;
                for task in tasks {
                    if task.await.unwrap() {
                        inserted += 1;
                    }
                }
                assert_eq!(inserted, 1);
                assert_eq!(first.load_keys().await.unwrap().len(), 1);
            }

            #[tokio::test]
            async fn retired_keys_are_deleted() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                let now = T0 + HOUR;
                let mut due = key("d-0", KeyPurpose::DynamicSigning, 0);
                due.retire_after_ms = Some(now); // at or before now: deleted
                let mut overdue = key("d-1", KeyPurpose::DynamicSigning, 1);
                overdue.retire_after_ms = Some(now - HOUR);
                let mut later = key("d-2", KeyPurpose::DynamicSigning, 2);
                later.retire_after_ms = Some(now + 1);
                let forever = key("s-0", KeyPurpose::StaticSigning, 0);
                for k in [&due, &overdue, &later, &forever] {
                    assert!(store.insert_key(k).await.unwrap());
                }

                assert_eq!(store.delete_retired_keys(now).await.unwrap(), 2);
                assert_eq!(store.delete_retired_keys(now).await.unwrap(), 0);
                let mut kids: Vec<String> =
                    store.load_keys().await.unwrap().into_iter().map(|k| k.kid).collect();
                kids.sort();
                assert_eq!(kids, ["d-2", "s-0"]);
            }

            // ---------------------------------------------------- opening

            #[tokio::test]
            async fn a_second_store_on_the_same_database_sees_the_first_ones_rows() {
                let Some(fx) = Fx::setup().await else { return };
                let first = fx.store();
                let record = session("h", "user-1", "public");
                first.insert_session(&record).await.unwrap();
                let k = key("d-0", KeyPurpose::DynamicSigning, 0);
                first.insert_key(&k).await.unwrap();

                let second = fx.reopen().await.unwrap();
                assert_eq!(second.get_session("h", T0).await.unwrap(), Some(record));
                assert_eq!(second.load_keys().await.unwrap(), vec![k]);

                // And the other way round.
                second.insert_session(&session("h2", "user-1", "public")).await.unwrap();
                assert!(first.session_exists("h2", T0).await.unwrap());
                let data = json!({ "by": "second" });
                assert!(second.update_session_data("h", &data, T0).await.unwrap());
                assert_eq!(first.get_session_data("h", T0).await.unwrap(), Some(data));
            }

            #[tokio::test]
            async fn opening_twice_runs_migrations_harmlessly() {
                let Some(fx) = Fx::setup().await else { return };
                fx.store().insert_session(&session("h", "user-1", "public")).await.unwrap();
                let again = fx.reopen().await.unwrap();
                let third = fx.reopen().await.unwrap();
                assert!(again.session_exists("h", T0).await.unwrap());
                third.insert_session(&session("h3", "user-1", "public")).await.unwrap();
                let listed = fx
                    .store()
                    .list_handles_for_user("user-1", TenantFilter::All, T0)
                    .await
                    .unwrap();
                assert_eq!(set(listed), names(&["h", "h3"]));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_opens_of_a_new_database_all_succeed() {
                let Some(fx) = Fx::setup().await else { return };
                let stores: Vec<_> = fx
                    .open_new_concurrently(8)
                    .await
                    .into_iter()
                    .map(|opened| opened.expect("every concurrent open succeeds"))
                    .collect();
                stores[0].insert_session(&session("h", "user-1", "public")).await.unwrap();
                for store in &stores {
                    assert!(store.session_exists("h", T0).await.unwrap());
                }
            }

            // ---------------------------------------------------- corrupt rows

            #[tokio::test]
            async fn corrupt_rows_are_reported_as_corrupt_data() {
                let Some(fx) = Fx::setup().await else { return };
                let store = fx.store();
                for h in ["payload", "data", "hash"] {
                    store.insert_session(&session(h, "user-1", "public")).await.unwrap();
                }
                store.insert_key(&key("d-0", KeyPurpose::DynamicSigning, 0)).await.unwrap();
                if !fx.damage(Damage::PayloadNotJson("payload")).await {
                    return; // this store cannot hold undecodable rows
                }
                fx.damage(Damage::DataNotJson("data")).await;
                fx.damage(Damage::ShortHash("hash")).await;
                fx.damage(Damage::UnknownPurpose("d-0")).await;

                assert!(is_corrupt(store.get_session("payload", T0).await));
                assert!(is_corrupt(store.get_session("data", T0).await));
                assert!(is_corrupt(store.get_session_data("data", T0).await));
                assert!(is_corrupt(store.get_session("hash", T0).await));
                let next = rotation(2, hash(1), T0 + HOUR);
                // Writes that return the row decode it too (the damage is in
                // a column the write does not touch).
                assert!(is_corrupt(store.update_jwt_payload("data", &json!({}), T0).await));
                assert!(is_corrupt(store.rotate_refresh("payload", &hash(1), &next, T0).await));
                assert!(is_corrupt(store.load_keys().await));
                // Overwriting the damaged column repairs the row.
                let repaired = store.update_jwt_payload("payload", &json!({ "ok": 1 }), T0).await;
                assert_eq!(repaired.unwrap().unwrap().jwt_payload, json!({ "ok": 1 }));
                // A damaged row can still be deleted.
                let all = ["payload", "data", "hash"].map(String::from);
                let deleted = store.delete_sessions(&all, TenantFilter::All).await.unwrap();
                assert_eq!(deleted.len(), 3);
            }
        }
    };
}

store_conformance!(memory, MemoryFixture);
store_conformance!(sqlite, SqliteFixture);
store_conformance!(postgres, PostgresFixture);

// -------------------------------------------------------------------- SQLite only

mod sqlite_only {
    use super::*;
    use tessera::store::SqliteStore;

    #[tokio::test]
    async fn sqlite_url_creates_the_file_in_wal_mode() {
        let fx = SqliteFixture::setup().await.unwrap();
        let path = fx.path().with_file_name("by-url.db");
        assert!(!path.exists());
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store
            .insert_session(&session("h", "u", "public"))
            .await
            .unwrap();
        assert!(path.exists());
        assert_eq!(fx.fetch_string("PRAGMA journal_mode").await, "wal");
    }

    #[tokio::test]
    async fn sqlite_times_are_stored_as_integers() {
        let fx = SqliteFixture::setup().await.unwrap();
        let mut r = session("h", "u", "public");
        r.absolute_expires_at_ms = Some(T0 + HOUR);
        fx.store().insert_session(&r).await.unwrap();
        let types = fx
            .fetch_string(
                "SELECT typeof(created_at_ms) || ',' || typeof(expires_at_ms) || ',' || \
                 typeof(absolute_expires_at_ms) || ',' || typeof(rotated_at_ms) \
                 FROM tessera_sessions",
            )
            .await;
        assert_eq!(types, "integer,integer,integer,integer");
    }

    #[tokio::test]
    async fn sqlite_memory_url_gives_a_private_working_store() {
        let one = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let two = SqliteStore::connect("sqlite::memory:").await.unwrap();
        one.insert_session(&session("h", "u", "public"))
            .await
            .unwrap();
        // Reads and writes share the one in-memory database ...
        assert!(one.session_exists("h", T0).await.unwrap());
        assert!(one.clone().session_exists("h", T0).await.unwrap());
        // ... which no other store sees.
        assert!(!two.session_exists("h", T0).await.unwrap());
    }

    #[tokio::test]
    async fn sqlite_connect_refuses_a_url_of_another_scheme() {
        let err = SqliteStore::connect("postgres://localhost/db")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    }

    #[tokio::test]
    async fn sqlite_refuses_an_empty_file_name() {
        for err in [
            SqliteStore::connect("sqlite:").await.unwrap_err(),
            SqliteStore::connect("sqlite://").await.unwrap_err(),
            SqliteStore::open("").await.unwrap_err(),
        ] {
            assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        }
    }

    #[tokio::test]
    async fn sqlite_refuses_a_schema_newer_than_it_knows() {
        let fx = SqliteFixture::setup().await.unwrap();
        fx.execute(
            "INSERT INTO tessera_schema_version (version, description, applied_at_ms) \
             VALUES (999, ?1, 0)",
            "from the future",
        )
        .await;
        let err = fx.reopen().await.unwrap_err();
        assert!(matches!(err, Error::CorruptData(_)), "{err:?}");
    }

    #[tokio::test]
    async fn sqlite_store_debug_shows_the_location() {
        let fx = SqliteFixture::setup().await.unwrap();
        let shown = format!("{:?}", fx.store());
        assert!(shown.contains("tessera.db"), "{shown}");
    }
}

// -------------------------------------------------------------------- PostgreSQL only

mod postgres_only {
    use super::*;
    use tessera::store::PostgresStore;
    use tessera::store::postgres::PostgresStoreOptions;

    #[tokio::test]
    async fn postgres_connect_refuses_a_schema_name_that_needs_quoting() {
        // Checked before any connection is attempted: needs no server.
        for bad in ["Upper", "with space", "semi;colon", "quote\"d", ""] {
            let options =
                PostgresStoreOptions::new("postgres://postgres@127.0.0.1:1/x").schema(bad);
            let err = PostgresStore::connect_with(options).await.unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err:?}");
        }
    }

    #[tokio::test]
    async fn postgres_connect_refuses_a_url_of_another_scheme() {
        let err = PostgresStore::connect("sqlite://tessera.db")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    }

    #[tokio::test]
    async fn postgres_times_are_bigint_columns() {
        let Some(fx) = PostgresFixture::setup().await else {
            return;
        };
        let mut conn = fx.raw().await;
        let types: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = $1 AND column_name LIKE '%\\_ms' ORDER BY 1, 2",
        )
        .bind(fx.schema())
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert!(types.len() >= 9, "{types:?}");
        assert!(types.iter().all(|(_, t)| t == "bigint"), "{types:?}");
    }

    #[tokio::test]
    async fn postgres_connect_needs_no_ddl_rights_once_the_schema_is_up_to_date() {
        let Some(fx) = PostgresFixture::setup().await else {
            return;
        };
        // A role that may not create schemas or tables, as a least-privilege
        // application role would be after an administrator migrated.
        let url = fx.dml_only_role_url().await;
        let store = PostgresStore::connect_with(
            PostgresStoreOptions::new(url)
                .schema(fx.schema())
                .max_connections(2),
        )
        .await
        .unwrap();
        store
            .insert_session(&session("h", "u", "public"))
            .await
            .unwrap();
        assert!(fx.store().session_exists("h", T0).await.unwrap());
        store.close().await;
    }

    #[tokio::test]
    async fn postgres_stores_in_different_schemas_are_isolated() {
        let Some(fx) = PostgresFixture::setup().await else {
            return;
        };
        let Some(other) = PostgresFixture::setup().await else {
            return;
        };
        fx.store()
            .insert_session(&session("h", "u", "public"))
            .await
            .unwrap();
        assert!(!other.store().session_exists("h", T0).await.unwrap());
        let same = PostgresStore::connect_with_schema(fx.url(), fx.schema())
            .await
            .unwrap();
        assert!(same.session_exists("h", T0).await.unwrap());
    }

    #[tokio::test]
    async fn postgres_store_debug_hides_the_password() {
        let Some(fx) = PostgresFixture::setup().await else {
            return;
        };
        // The test server trusts local connections, so any password works.
        let url = fx
            .url()
            .replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
        let store = PostgresStore::connect_with(
            PostgresStoreOptions::new(url)
                .schema(fx.schema())
                .max_connections(1),
        )
        .await
        .unwrap();
        let shown = format!("{store:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains(fx.schema()), "{shown}");
    }
}
