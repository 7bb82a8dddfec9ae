//! Refresh-token and anti-CSRF parsing, and the refresh rule itself: any
//! bytes must give a typed outcome, never a panic, and never revoke a
//! session the input did not genuinely hold a retired token of.
//!
//! The first byte picks a mode:
//! - 0: the rest is a token (and, after a NUL, an anti-CSRF token);
//! - 1: a genuine token of one of the harness's sessions, mutated by the rest
//!   (byte flips, truncation), which must never succeed or revoke;
//! - 2: a genuine token from a session's history (current, previous or
//!   older), so rotation, the grace window and theft all run; a session
//!   revoked for theft is replaced.
#![no_main]

use std::sync::{Mutex, Once, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::json;

mod common;

const SESSIONS: usize = 4;

/// Per session: every refresh token it was issued, oldest first, and the
/// anti-CSRF token.
fn histories() -> &'static Mutex<Vec<(Vec<String>, String)>> {
    static H: OnceLock<Mutex<Vec<(Vec<String>, String)>>> = OnceLock::new();
    H.get_or_init(|| Mutex::new((0..SESSIONS).map(new_session).collect()))
}

fn new_session(i: usize) -> (Vec<String>, String) {
    let h = common::harness();
    let s = h
        .rt
        .block_on(h.manager.create_new_session(&format!("user-{i}"), json!({}), json!({})))
        .expect("session");
    (
        vec![s.refresh_token.token.clone()],
        s.anti_csrf_token.clone().unwrap_or_default(),
    )
}

fn seeds() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if !common::writing_seeds() {
            return;
        }
        let list = histories().lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, csrf) = &list[0];
        let mut raw = vec![0u8];
        raw.extend_from_slice(format!("{}\0{csrf}", tokens[0]).as_bytes());
        common::write_seed("raw-genuine", &raw);
        let mut raw = vec![0u8];
        raw.extend_from_slice(tokens[0].as_bytes());
        common::write_seed("raw-no-csrf", &raw);
        common::write_seed("mutate-flip", &[1, 0, 17, 3, 90, 5]);
        common::write_seed("mutate-truncate", &[1, 1, 255, 60]);
        common::write_seed("history-current", &[2, 0, 255, 1]);
        common::write_seed("history-previous", &[2, 1, 254, 1]);
        common::write_seed("history-oldest", &[2, 2, 0, 0]);
    });
}

fuzz_target!(|data: &[u8]| {
    seeds();
    let Some((&mode, rest)) = data.split_first() else { return };
    let h = common::harness();
    match mode % 3 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            let (token, anti_csrf) = match text.split_once('\0') {
                Some((t, a)) => (t, Some(a)),
                None => (text.as_ref(), None),
            };
            let _ = h.rt.block_on(h.manager.refresh_session(token, anti_csrf));
        }
        1 => {
            let Some((&which, ops)) = rest.split_first() else { return };
            let (token, csrf) = {
                let list = histories().lock().unwrap_or_else(|p| p.into_inner());
                let (tokens, csrf) = &list[usize::from(which) % SESSIONS];
                (tokens.last().cloned().unwrap_or_default(), csrf.clone())
            };
            let mut bytes = token.clone().into_bytes();
            for pair in ops.chunks(2) {
                match pair {
                    [255, n] => bytes.truncate(usize::from(*n)),
                    [pos, x] if !bytes.is_empty() => {
                        let i = usize::from(*pos) % bytes.len();
                        bytes[i] ^= x | 1;
                    }
                    _ => {}
                }
            }
            let mutated = String::from_utf8_lossy(&bytes).into_owned();
            if mutated != token {
                let r = h.rt.block_on(h.manager.refresh_session(&mutated, Some(&csrf)));
                assert!(
                    !matches!(r, Ok(_) | Err(tessera::Error::TokenTheftDetected { .. })),
                    "a mutated token refreshed or revoked a session"
                );
            }
        }
        _ => {
            let [which, age, use_csrf, ..] = rest else { return };
            let i = usize::from(*which) % SESSIONS;
            let (token, csrf) = {
                let list = histories().lock().unwrap_or_else(|p| p.into_inner());
                let (tokens, csrf) = &list[i];
                let back = usize::from(*age) % tokens.len();
                (tokens[tokens.len() - 1 - back].clone(), csrf.clone())
            };
            let csrf = (*use_csrf % 2 == 1).then_some(csrf.as_str());
            let outcome = h.rt.block_on(h.manager.refresh_session(&token, csrf));
            let mut list = histories().lock().unwrap_or_else(|p| p.into_inner());
            match outcome {
                Ok(c) => {
                    let tokens = &mut list[i].0;
                    if tokens.last() != Some(&c.refresh_token.token) {
                        tokens.push(c.refresh_token.token);
                    }
                    if tokens.len() > 8 {
                        tokens.remove(0);
                    }
                }
                Err(tessera::Error::TokenTheftDetected { .. }) => {
                    drop(list);
                    let fresh = new_session(i);
                    histories().lock().unwrap_or_else(|p| p.into_inner())[i] = fresh;
                }
                Err(_) => {}
            }
        }
    }
});
