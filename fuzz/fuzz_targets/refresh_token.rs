//! Refresh-token and anti-CSRF parsing: any bytes, as a refresh token and an
//! anti-CSRF token, must give a typed error, never a panic or a revocation
//! of a session the input did not genuinely hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let h = common::harness();
    let text = String::from_utf8_lossy(data);
    let (token, anti_csrf) = match text.split_once('\0') {
        Some((t, a)) => (t, Some(a)),
        None => (text.as_ref(), None),
    };
    let _ = h.rt.block_on(h.manager.refresh_session(token, anti_csrf));
});
