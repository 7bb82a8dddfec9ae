//! The refresh token: opaque to clients, authenticated by a server MAC, and
//! stored only as a hash.
//!
//! Layout before base64url (90 bytes → 120 characters):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version (1) |
//! | 1 | flags (bit 0: the session uses `ViaToken` anti-CSRF) |
//! | 8 | generation, big-endian (0 at creation, +1 per rotation) |
//! | 16 | session handle |
//! | 32 | secret: 256 bits from the OS CSPRNG |
//! | 32 | HMAC-SHA256 of everything above, under the store's refresh MAC key |
//!
//! The MAC lets the engine reject a forged or garbled token without a
//! database call, and recognise a *genuine* token of an older generation as a
//! retired one — reuse of which is theft — without keeping every old hash.
//! Nobody can forge an old-generation token to get a session revoked.
//!
//! The database keeps `sha256(refreshTokenHash1)` where `refreshTokenHash1 =
//! hex(sha256(token))` is the claim in the access token (as SuperTokens does),
//! so neither the database nor the access token holds the token itself.

use crate::crypto::{b64url, b64url_decode, ct_eq, hex, hmac_sha256, random_bytes, sha256};
use crate::error::Result;

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 1 + 8 + 16 + 32;
const TOKEN_LEN: usize = BODY_LEN + 32;
const MAC_DOMAIN: &[u8] = b"tessera refresh token v1\0";
const FLAG_ANTI_CSRF: u8 = 1;

/// A refresh token whose MAC has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefreshToken {
    /// The token as sent to the client.
    pub(crate) encoded: String,
    /// The session handle it belongs to.
    pub(crate) handle: String,
    /// Rotation generation.
    pub(crate) generation: i64,
    /// Whether the session uses token-based anti-CSRF.
    pub(crate) anti_csrf: bool,
}

impl RefreshToken {
    /// Mints a new token for `handle` (a handle produced by [`new_handle`]).
    pub(crate) fn mint(
        mac_key: &[u8],
        handle: &str,
        generation: i64,
        anti_csrf: bool,
    ) -> Result<Self> {
        let handle_bytes = handle_bytes(handle).ok_or(crate::Error::InvalidInput(
            "malformed session handle".into(),
        ))?;
        let mut body = [0u8; BODY_LEN];
        body[0] = VERSION;
        body[1] = if anti_csrf { FLAG_ANTI_CSRF } else { 0 };
        body[2..10].copy_from_slice(&generation.to_be_bytes());
        body[10..26].copy_from_slice(&handle_bytes);
        body[26..58].copy_from_slice(&random_bytes::<32>()?);
        let mac = hmac_sha256(mac_key, &[MAC_DOMAIN, &body]);
        let mut raw = [0u8; TOKEN_LEN];
        raw[..BODY_LEN].copy_from_slice(&body);
        raw[BODY_LEN..].copy_from_slice(&mac);
        Ok(Self {
            encoded: b64url(&raw),
            handle: handle.to_owned(),
            generation,
            anti_csrf,
        })
    }

    /// Parses a presented token; `None` unless it is well-formed and its MAC
    /// verifies (constant-time).
    pub(crate) fn parse(mac_key: &[u8], presented: &str) -> Option<Self> {
        if presented.len() > 256 {
            return None;
        }
        let raw = b64url_decode(presented)?;
        if raw.len() != TOKEN_LEN || raw[0] != VERSION {
            return None;
        }
        let (body, mac) = raw.split_at(BODY_LEN);
        if !ct_eq(&hmac_sha256(mac_key, &[MAC_DOMAIN, body]), mac) {
            return None;
        }
        let mut gen_bytes = [0u8; 8];
        gen_bytes.copy_from_slice(&body[2..10]);
        let mut handle = [0u8; 16];
        handle.copy_from_slice(&body[10..26]);
        Some(Self {
            encoded: presented.to_owned(),
            handle: format_handle(&handle),
            generation: i64::from_be_bytes(gen_bytes),
            anti_csrf: body[1] & FLAG_ANTI_CSRF != 0,
        })
    }

    /// `refreshTokenHash1`: hex SHA-256 of the token (the access-token claim).
    pub(crate) fn hash1(&self) -> String {
        hex(&sha256(self.encoded.as_bytes()))
    }

    /// What the store keeps: SHA-256 of `refreshTokenHash1`.
    pub(crate) fn stored_hash(&self) -> [u8; 32] {
        stored_hash_of_hash1(&self.hash1())
    }
}

/// SHA-256 of a `refreshTokenHash1` value.
pub(crate) fn stored_hash_of_hash1(hash1: &str) -> [u8; 32] {
    sha256(hash1.as_bytes())
}

/// A new session handle: a random UUID (version 4) string.
pub(crate) fn new_handle() -> Result<String> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(format_handle(&b))
}

fn format_handle(b: &[u8; 16]) -> String {
    let h = hex(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn handle_bytes(handle: &str) -> Option<[u8; 16]> {
    let digits: Vec<u8> = handle.bytes().filter(|c| *c != b'-').collect();
    if digits.len() != 32 || handle.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in digits.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [9u8; 32];

    #[test]
    fn minted_token_parses_back_with_its_fields() {
        let handle = new_handle().unwrap();
        let t = RefreshToken::mint(&KEY, &handle, 7, true).unwrap();
        assert_eq!(t.encoded.len(), 120);
        let p = RefreshToken::parse(&KEY, &t.encoded).unwrap();
        assert_eq!(p, t);
        assert_eq!(p.handle, handle);
        assert_eq!(p.generation, 7);
        assert!(p.anti_csrf);
    }

    #[test]
    fn refresh_token_carries_256_random_bits() {
        let handle = new_handle().unwrap();
        let a = RefreshToken::mint(&KEY, &handle, 0, false).unwrap();
        let b = RefreshToken::mint(&KEY, &handle, 0, false).unwrap();
        let (ra, rb) = (
            b64url_decode(&a.encoded).unwrap(),
            b64url_decode(&b.encoded).unwrap(),
        );
        assert_eq!(ra[26..58].len() * 8, 256);
        assert_ne!(ra[26..58], rb[26..58]);
    }

    #[test]
    fn forged_or_garbled_tokens_are_rejected() {
        let handle = new_handle().unwrap();
        let t = RefreshToken::mint(&KEY, &handle, 0, false).unwrap();
        assert!(RefreshToken::parse(&[8u8; 32], &t.encoded).is_none());
        let mut raw = b64url_decode(&t.encoded).unwrap();
        raw[5] ^= 1; // change the generation
        assert!(RefreshToken::parse(&KEY, &b64url(&raw)).is_none());
        assert!(RefreshToken::parse(&KEY, "").is_none());
        assert!(RefreshToken::parse(&KEY, "not base64 !").is_none());
        assert!(RefreshToken::parse(&KEY, &"A".repeat(10_000)).is_none());
        assert!(RefreshToken::parse(&KEY, &t.encoded[..100]).is_none());
    }

    #[test]
    fn handles_are_uuid_v4_strings() {
        let h = new_handle().unwrap();
        assert_eq!(h.len(), 36);
        assert_eq!(&h[14..15], "4");
        assert_eq!(handle_bytes(&h).map(|b| format_handle(&b)), Some(h));
        assert!(handle_bytes("not-a-handle").is_none());
    }

    #[test]
    fn stored_hash_is_hash_of_the_claim_not_of_the_token() {
        let t = RefreshToken::mint(&KEY, &new_handle().unwrap(), 0, false).unwrap();
        assert_ne!(t.stored_hash(), sha256(t.encoded.as_bytes()));
        assert_eq!(t.stored_hash(), sha256(t.hash1().as_bytes()));
    }
}
