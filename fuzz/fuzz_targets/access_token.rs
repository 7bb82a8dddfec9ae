//! Access-token decode and verify: any bytes, as a token (and, after a NUL,
//! as an anti-CSRF token), must give a typed error or a verified session,
//! never a panic.
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
    let options = tessera::VerifyOptions {
        anti_csrf_check: anti_csrf.is_some(),
        ..Default::default()
    };
    let _ = h.rt.block_on(h.manager.get_session(token, anti_csrf, options));
    let _ = h.rt.block_on(h.manager.regenerate_access_token(token, serde_json::json!({})));
});
