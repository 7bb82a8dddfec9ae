//! The one rule for the ids a caller hands the engine (user, recipe user,
//! tenant, session handle), checked before any of them reaches a store, so
//! every store sees the same input: PostgreSQL cannot hold a NUL in `TEXT`
//! (it answered with an error and a 500), SQLite stored it, and a newline or
//! an escape byte in an id is a log-injection vector.
//!
//! An id is at most [`MAX_ID_BYTES`] bytes of UTF-8 without control
//! characters (Unicode category Cc: C0, DEL, C1). A new session needs a
//! non-empty tenant id; its user id may be empty, as SuperTokens core
//! accepts `userId: ""` on create. A lookup by user or tenant may pass an
//! empty id (it matches nothing unless such a session exists).

use crate::error::{Error, Result};

/// Longest id accepted, in bytes.
pub(crate) const MAX_ID_BYTES: usize = 256;

/// Whether an empty id is acceptable where it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Empty {
    /// The id names something new that must not be empty (a session's tenant).
    Refused,
    /// Empty is a valid id: a lookup key, or a new session's user id.
    Allowed,
}

/// Checks `id` against the rule; `what` names it in the error ("user id").
/// The error never echoes the id itself.
pub(crate) fn check_id(what: &str, id: &str, empty: Empty) -> Result<()> {
    if id.len() > MAX_ID_BYTES || (empty == Empty::Refused && id.is_empty()) {
        let min = if empty == Empty::Refused { 1 } else { 0 };
        return Err(Error::InvalidInput(format!(
            "{what} must be {min} to {MAX_ID_BYTES} bytes long"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "{what} may not contain control characters"
        )));
    }
    Ok(())
}

/// [`check_id`] for a lookup key (empty allowed).
pub(crate) fn check_key(what: &str, id: &str) -> Result<()> {
    check_id(what, id, Empty::Allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_control_characters_and_excess_length() {
        for bad in [
            "a\0b",
            "a\nb",
            "\x1b[31m",
            "tab\there",
            "del\x7f",
            "c1\u{85}",
        ] {
            assert!(check_id("user id", bad, Empty::Allowed).is_err(), "{bad:?}");
        }
        let long = "x".repeat(MAX_ID_BYTES + 1);
        assert!(check_id("user id", &long, Empty::Allowed).is_err());
        assert!(check_id("user id", &long[1..], Empty::Refused).is_ok());
        assert!(check_id("user id", "ünïcode ✓ \u{2028}", Empty::Refused).is_ok());
        assert!(check_id("user id", "", Empty::Refused).is_err());
        assert!(check_id("user id", "", Empty::Allowed).is_ok());
        let msg = check_id("user id", "a\nsecret", Empty::Allowed)
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("secret"), "{msg}");
    }
}
