//! The anti-CSRF token (`ViaToken` mode).
//!
//! One per session, derived as HMAC-SHA256(refresh MAC key, handle), so it
//! needs no storage, is the same on every process sharing the database, and
//! stays stable across refreshes (several tabs never race on it). A
//! cross-site attacker cannot read it, which is all anti-CSRF asks.
//!
//! Deliberately not bound to the refresh generation (SuperTokens core mints
//! a new one per refresh): whoever can read it once (script on the origin)
//! can read the next one too, so rotation buys no protection against the
//! attacker anti-CSRF is for, while it would let a refresh cookie and a
//! stored anti-CSRF token of different generations meet in one request
//! (tabs, lost responses, a rolling deploy) and end the session. See
//! `SECURITY.md`.

use crate::crypto::{b64url, ct_eq, hmac_sha256};

const DOMAIN: &[u8] = b"tessera anti-csrf v1\0";

/// The anti-CSRF token of the session `handle`.
pub(crate) fn derive(mac_key: &[u8], handle: &str) -> String {
    b64url(&hmac_sha256(mac_key, &[DOMAIN, handle.as_bytes()]))
}

/// Constant-time check of a presented anti-CSRF token.
pub(crate) fn matches(expected: &str, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| ct_eq(expected.as_bytes(), p.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anti_csrf_token_is_per_session_and_checked_exactly() {
        let key = [1u8; 32];
        let a = derive(&key, "h1");
        assert_eq!(a.len(), 43);
        assert_ne!(a, derive(&key, "h2"));
        assert_ne!(a, derive(&[2u8; 32], "h1"));
        assert!(matches(&a, Some(&a)));
        assert!(!matches(&a, None));
        assert!(!matches(&a, Some(&a[..42])));
    }
}
