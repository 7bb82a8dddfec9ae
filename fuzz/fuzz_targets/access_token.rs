//! Access-token decode and verify: any bytes, as a token (and, after a NUL,
//! as an anti-CSRF token), must give a typed error or a verified session,
//! never a panic. Seeds are real tokens of the fixed key (they verify), so
//! mutations start from the full claim set.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use serde_json::json;

mod common;

fn seeds() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if !common::writing_seeds() {
            return;
        }
        let h = common::harness();
        let m = &h.manager;
        let plain = h
            .rt
            .block_on(m.create_new_session("user-1", json!({}), json!({})))
            .expect("session");
        common::write_seed("plain", plain.access_token.token.as_bytes());
        let rich = h
            .rt
            .block_on(m.create_new_session(
                "user-2",
                json!({"role": "admin", "n": 1.5, "list": [1, "x", null], "nested": {"a": {"b": true}}}),
                json!({}),
            ))
            .expect("session");
        common::write_seed("rich-payload", rich.access_token.token.as_bytes());
        let csrf = rich.anti_csrf_token.clone().unwrap_or_default();
        common::write_seed(
            "with-anti-csrf",
            format!("{}\0{csrf}", rich.access_token.token).as_bytes(),
        );
        common::write_seed(
            "wrong-anti-csrf",
            format!("{}\0{}x", rich.access_token.token, &csrf[..csrf.len().saturating_sub(1)]).as_bytes(),
        );
        let mut tampered = plain.access_token.token.clone().into_bytes();
        if let Some(b) = tampered.get_mut(40) {
            *b = if *b == b'A' { b'B' } else { b'A' };
        }
        common::write_seed("tampered", &tampered);
    });
}

fuzz_target!(|data: &[u8]| {
    seeds();
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
    let _ = tessera::token::access::is_well_formed_access_token(token);
    let _ = h.rt.block_on(h.manager.get_session(token, anti_csrf, options));
    let _ = h
        .rt
        .block_on(h.manager.regenerate_access_token(token, json!({"k": 1})));
});
