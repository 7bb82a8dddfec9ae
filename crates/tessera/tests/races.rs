//! Refresh races, concurrent data writes and replays at volume, on the real
//! SQL stores (SQLite: a temp file; PostgreSQL: a schema of its own, needs
//! `TESSERA_TEST_POSTGRES_URL`, else each test says SKIPPING and returns).
//! Two managers on one database stand for two app servers; the clock is a
//! `ManualClock`, so "inside the grace window" never depends on speed.
//!
//! - 1,000 refresh races per store: 100 sessions × 10 rounds, each round
//!   four tabs refreshing with the same token at once plus a retry after a
//!   dropped response. No false theft, no failure, one token per round, one
//!   live session per user.
//! - Concurrent `update_session_data`: never a torn value, never a lost
//!   session's write, and the last write wins.
//! - Replays of a retired refresh token after the grace window: every one is
//!   theft and revokes its session.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tessera::{Error, ManualClock, SessionManager, UnauthorisedReason};

use common::stores::{Fixture, PostgresFixture, SqliteFixture};

const SESSIONS: usize = 100;
const ROUNDS: usize = 10;
const TABS: usize = 4;

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

fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A value whose every part says which writer wrote it, so a mix of two
/// writes is visible.
fn stamped(writer: usize, round: usize) -> Value {
    let mark = format!("{writer:04}-{round:04}");
    json!({
        "writer": writer,
        "round": round,
        "blob": mark.repeat(200),
        "list": vec![mark.clone(); 20],
    })
}

fn is_intact(v: &Value) -> bool {
    let (Some(w), Some(r)) = (v["writer"].as_u64(), v["round"].as_u64()) else {
        return false;
    };
    let mark = format!("{w:04}-{r:04}");
    v["blob"].as_str() == Some(mark.repeat(200).as_str())
        && v["list"]
            .as_array()
            .is_some_and(|l| l.len() == 20 && l.iter().all(|x| x.as_str() == Some(&mark)))
}

macro_rules! races_on {
    ($name:ident, $fixture:ty) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_thousand_refresh_races_with_shared_tokens_and_retries_never_report_theft() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let servers = [
                    manager(fx.store().clone(), &clock).await,
                    manager(fx.store().clone(), &clock).await,
                ];
                let mut tokens = Vec::new();
                for i in 0..SESSIONS {
                    let s = servers[i % 2]
                        .create_new_session(&format!("user-{i}"), json!({}), json!({}))
                        .await
                        .unwrap();
                    tokens.push(s.refresh_token.token);
                }
                let mut races = 0usize;
                let mut calls = 0usize;
                for round in 0..ROUNDS {
                    let mut tasks = Vec::new();
                    for (i, token) in tokens.iter().enumerate() {
                        let token = Arc::new(token.clone());
                        let mut tabs = Vec::new();
                        for tab in 0..TABS {
                            let m = servers[(i + tab + round) % 2].clone();
                            let t = token.clone();
                            tabs.push(tokio::spawn(async move {
                                let first = m.refresh_session(&t, None).await;
                                if tab == 0 {
                                    // The response to this tab was lost: it
                                    // retries with the token it still has.
                                    let retry = m.refresh_session(&t, None).await;
                                    return vec![first, retry];
                                }
                                vec![first]
                            }));
                        }
                        tasks.push(tabs);
                        races += 1;
                    }
                    let mut next = Vec::new();
                    for (i, tabs) in tasks.into_iter().enumerate() {
                        let mut issued = HashSet::new();
                        for tab in tabs {
                            for outcome in tab.await.unwrap() {
                                calls += 1;
                                match outcome {
                                    Ok(c) => {
                                        issued.insert(c.refresh_token.token);
                                    }
                                    Err(e) => panic!("session {i} round {round}: {e}"),
                                }
                            }
                        }
                        assert_eq!(issued.len(), 1, "every tab ends with one token");
                        next.push(issued.into_iter().next().unwrap());
                    }
                    tokens = next;
                }
                // One live session per user, and the last token still works.
                for (i, token) in tokens.iter().enumerate() {
                    let handles = servers[0]
                        .get_all_session_handles_for_user(&format!("user-{i}"))
                        .await
                        .unwrap();
                    assert_eq!(handles.len(), 1);
                    servers[1].refresh_session(token, None).await.unwrap();
                }
                report(&format!(
                    "{}: {races} refresh races, {calls} refresh calls, 0 theft, 0 failures",
                    stringify!($name)
                ));
                assert!(races >= 1000);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_session_data_updates_never_tear_or_lose_a_write() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let servers = [
                    manager(fx.store().clone(), &clock).await,
                    manager(fx.store().clone(), &clock).await,
                ];
                // One hot session, many writers per round: the value after a
                // round is exactly one of that round's writes, whole.
                let hot = servers[0]
                    .create_new_session("hot", json!({}), json!({}))
                    .await
                    .unwrap();
                let hot = hot.handle().to_owned();
                let writers = 16;
                for round in 0..20 {
                    let mut tasks = Vec::new();
                    for w in 0..writers {
                        let m = servers[w % 2].clone();
                        let h = hot.clone();
                        tasks.push(tokio::spawn(async move {
                            m.update_session_data(&h, stamped(w, round)).await
                        }));
                    }
                    for t in tasks {
                        assert!(t.await.unwrap().unwrap());
                    }
                    let v = servers[1].get_session_data(&hot).await.unwrap().unwrap();
                    assert!(is_intact(&v), "torn value: {v}");
                    assert_eq!(v["round"], json!(round), "a write of this round was lost");
                    // Then one more write: the last writer wins.
                    servers[round % 2]
                        .update_session_data(&hot, stamped(999, round))
                        .await
                        .unwrap();
                    let v = servers[(round + 1) % 2]
                        .get_session_data(&hot)
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(v, stamped(999, round));
                }
                // Many sessions written at once: none loses its own write.
                let mut handles = Vec::new();
                for i in 0..200 {
                    let s = servers[i % 2]
                        .create_new_session(&format!("u{i}"), json!({}), json!({}))
                        .await
                        .unwrap();
                    handles.push(s.handle().to_owned());
                }
                let mut tasks = Vec::new();
                for (i, h) in handles.iter().enumerate() {
                    let m = servers[i % 2].clone();
                    let h = h.clone();
                    tasks.push(tokio::spawn(async move {
                        m.update_session_data(&h, stamped(i, 7)).await
                    }));
                }
                for t in tasks {
                    assert!(t.await.unwrap().unwrap());
                }
                for (i, h) in handles.iter().enumerate() {
                    let v = servers[(i + 1) % 2]
                        .get_session_data(h)
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(v, stamped(i, 7), "session {i}");
                }
                report(&format!(
                    "{}: 320 racing writes on one session + 200 parallel writes: 0 torn, 0 lost",
                    stringify!($name)
                ));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_revoked_session_is_not_resurrected_by_late_concurrent_writes() {
                let Some(fx) = <$fixture>::setup().await else { return };
                let clock = ManualClock::starting_now();
                let servers = [
                    manager(fx.store().clone(), &clock).await,
                    manager(fx.store().clone(), &clock).await,
                ];
                for round in 0..30 {
                    let s = servers[round % 2]
                        .create_new_session("r", json!({}), json!({}))
                        .await
                        .unwrap();
                    let handle = s.handle().to_owned();
                    let mut tasks = Vec::new();
                    for w in 0..8usize {
                        let m = servers[w % 2].clone();
                        let (h, rt, at) = (handle.clone(), s.refresh_token.token.clone(), s.access_token.token.clone());
                        tasks.push(tokio::spawn(async move {
                            match w % 4 {
                                0 => drop(m.update_session_data(&h, stamped(w, round)).await),
                                1 => drop(m.update_jwt_payload(&h, json!({"w": w})).await),
                                2 => drop(m.regenerate_access_token(&at, json!({"w": w})).await),
                                _ => drop(m.refresh_session(&rt, None).await),
                            }
                        }));
                        if w == 3 {
                            let m = servers[(w + 1) % 2].clone();
                            let h = handle.clone();
                            tasks.push(tokio::spawn(async move {
                                assert!(m.revoke_session(&h).await.unwrap());
                            }));
                        }
                    }
                    for t in tasks {
                        t.await.unwrap();
                    }
                    for m in &servers {
                        assert!(m.get_session_information(&handle).await.unwrap().is_none(), "round {round}");
                        assert!(!m.update_session_data(&handle, json!({})).await.unwrap());
                        assert!(!m.update_jwt_payload(&handle, json!({})).await.unwrap());
                    }
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn replays_of_retired_refresh_tokens_after_the_grace_window_are_all_theft() {
                let Some(fx) = <$fixture>::setup().await else {
                    return;
                };
                let clock = ManualClock::starting_now();
                let servers = [
                    manager(fx.store().clone(), &clock).await,
                    manager(fx.store().clone(), &clock).await,
                ];
                let grace = servers[0].config().refresh_grace_period;
                // Per session: tokens of generations 0, 1, 2 (2 is current).
                let mut chains = Vec::new();
                for i in 0..SESSIONS {
                    let m = &servers[i % 2];
                    let s0 = m
                        .create_new_session(&format!("victim-{i}"), json!({}), json!({}))
                        .await
                        .unwrap();
                    let s1 = m
                        .refresh_session(&s0.refresh_token.token, None)
                        .await
                        .unwrap();
                    let s2 = m
                        .refresh_session(&s1.refresh_token.token, None)
                        .await
                        .unwrap();
                    chains.push((s0, s1, s2));
                }
                clock.advance(grace + Duration::from_secs(1));
                // Replay a retired token (the previous one or an older one),
                // all at once, through either server.
                let mut tasks = Vec::new();
                for (i, (s0, s1, _)) in chains.iter().enumerate() {
                    let m = servers[(i + 1) % 2].clone();
                    let replayed = if i % 2 == 0 {
                        &s0.refresh_token.token
                    } else {
                        &s1.refresh_token.token
                    };
                    let replayed = replayed.clone();
                    tasks.push(tokio::spawn(async move {
                        m.refresh_session(&replayed, None).await
                    }));
                }
                let mut thefts = 0;
                for (i, t) in tasks.into_iter().enumerate() {
                    match t.await.unwrap() {
                        Err(Error::TokenTheftDetected {
                            session_handle,
                            user_id,
                            ..
                        }) => {
                            assert_eq!(session_handle, chains[i].0.handle());
                            assert_eq!(user_id, format!("victim-{i}"));
                            thefts += 1;
                        }
                        other => panic!("session {i}: expected theft, got {other:?}"),
                    }
                }
                assert_eq!(thefts, SESSIONS);
                // Every session is revoked: the thief's and the owner's tokens are dead.
                for (i, (_, _, s2)) in chains.iter().enumerate() {
                    assert!(
                        servers[i % 2]
                            .get_session_information(s2.handle())
                            .await
                            .unwrap()
                            .is_none()
                    );
                    let r = servers[i % 2]
                        .refresh_session(&s2.refresh_token.token, None)
                        .await;
                    assert!(
                        matches!(
                            r,
                            Err(Error::Unauthorised {
                                reason: UnauthorisedReason::UnknownRefreshToken
                            })
                        ),
                        "{r:?}"
                    );
                }
                report(&format!(
                    "{}: {thefts}/{SESSIONS} replays after the grace window reported as theft",
                    stringify!($name)
                ));
            }
        }
    };
}

races_on!(sqlite, SqliteFixture);
races_on!(postgres, PostgresFixture);
