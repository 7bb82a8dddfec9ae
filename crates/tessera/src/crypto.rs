//! Small cryptographic helpers shared by the token modules: OS randomness,
//! SHA-256, HMAC, sealing, constant-time comparison and base64.

use aws_lc_rs::{aead, digest, hmac};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::{Error, Result};

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| Error::Crypto("operating system randomness unavailable"))
}

/// `N` bytes from the operating system's CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    fill_random(&mut buf)?;
    Ok(buf)
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Lower-case hex of `data`.
pub(crate) fn hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(p);
    }
    let tag = ctx.sign();
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Constant-time equality of two byte strings (lengths are not secret):
/// AWS-LC's `CRYPTO_memcmp`, which reads every byte whatever differs.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// base64url without padding (JWT and token encoding).
pub(crate) fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// base64url as tessera decodes it: the URL-safe alphabet, no padding
/// accepted (`DecodePaddingMode::RequireNone`) and no non-zero trailing bits,
/// so each byte string has exactly one accepted encoding.
const STRICT_B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Decodes base64url strictly: `None` for padding (`=`), characters outside
/// the URL-safe alphabet, or non-canonical trailing bits. A token has one
/// spelling, so `token + "="` is not a second valid token (nor a second
/// cache entry, nor a "different" refresh token).
pub(crate) fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    STRICT_B64URL.decode(s).ok()
}

/// Standard base64, padded and canonical, strictly decoded (SuperTokens'
/// v2 access tokens): `None` for anything else.
pub(crate) fn b64std_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// Standard base64 with padding (the front token).
pub(crate) fn b64std(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Length of an AES-256-GCM nonce.
pub(crate) const SEAL_NONCE_LEN: usize = 12;
/// Length of an AES-256-GCM tag.
pub(crate) const SEAL_TAG_LEN: usize = 16;

/// Encrypts `plaintext` with AES-256-GCM under a key derived from `secret`
/// (which must carry at least 256 bits of entropy). Output: nonce ‖ ciphertext ‖ tag.
pub(crate) fn seal(secret: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    seal_with(&seal_key(secret)?, &[], plaintext)
}

/// Reverses [`seal`]; `None` when the secret is wrong or the data corrupt.
pub(crate) fn open(secret: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    open_with(&seal_key(secret).ok()?, &[], sealed)
}

/// Encrypts `plaintext` with AES-256-GCM under `key`, a fresh random nonce
/// and `aad` as associated data. Output: nonce ‖ ciphertext ‖ tag.
pub(crate) fn seal_with(key: &aead::LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let nonce_bytes = random_bytes::<SEAL_NONCE_LEN>()?;
    let mut out = Vec::with_capacity(SEAL_NONCE_LEN + plaintext.len() + SEAL_TAG_LEN);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(plaintext);
    let mut in_out = out.split_off(SEAL_NONCE_LEN);
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce_bytes),
        aead::Aad::from(aad),
        &mut in_out,
    )
    .map_err(|_| Error::Crypto("seal failed"))?;
    out.extend_from_slice(&in_out);
    Ok(out)
}

/// Reverses [`seal_with`] (same key, same `aad`); `None` when the key or
/// associated data is wrong or the data corrupt.
pub(crate) fn open_with(key: &aead::LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < SEAL_NONCE_LEN + SEAL_TAG_LEN {
        return None;
    }
    let (nonce, ct) = sealed.split_at(SEAL_NONCE_LEN);
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut in_out = ct.to_vec();
    let plain = key
        .open_in_place(nonce, aead::Aad::from(aad), &mut in_out)
        .ok()?;
    Some(plain.to_vec())
}

/// An AES-256-GCM key from 32 bytes.
pub(crate) fn aes_256_gcm_key(bytes: &[u8; 32]) -> Result<aead::LessSafeKey> {
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, bytes)
        .map_err(|_| Error::Crypto("AES-256-GCM key"))?;
    Ok(aead::LessSafeKey::new(unbound))
}

fn seal_key(secret: &[u8]) -> Result<aead::LessSafeKey> {
    aes_256_gcm_key(&hmac_sha256(b"tessera seal key v1", &[secret]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_its_secret() {
        let secret = [7u8; 32];
        let sealed = seal(&secret, b"next token").unwrap();
        assert_eq!(open(&secret, &sealed).unwrap(), b"next token");
        assert!(open(&[8u8; 32], &sealed).is_none());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(open(&secret, &tampered).is_none());
        assert!(open(&secret, &sealed[..5]).is_none());
    }

    #[test]
    fn sealed_data_opens_only_with_its_associated_data() {
        let key = aes_256_gcm_key(&[9u8; 32]).unwrap();
        let sealed = seal_with(&key, b"row a", b"secret").unwrap();
        assert_eq!(open_with(&key, b"row a", &sealed).unwrap(), b"secret");
        assert!(open_with(&key, b"row b", &sealed).is_none());
        let again = seal_with(&key, b"row a", b"secret").unwrap();
        assert_ne!(sealed, again, "a fresh nonce per seal");
    }

    #[test]
    fn constant_time_eq_compares_length_and_content() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }

    #[test]
    fn hex_and_base64_round_trip() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        let enc = b64url(b"\xfb\xff");
        assert_eq!(enc, "-_8");
        assert_eq!(b64url_decode(&enc).unwrap(), b"\xfb\xff");
        assert!(b64url_decode("*").is_none());
    }

    #[test]
    fn base64url_decoding_refuses_padding_and_non_canonical_trailing_bits() {
        assert_eq!(b64url_decode("-_8").unwrap(), b"\xfb\xff");
        for bad in [
            "-_8=", "-_8==", "-_8===", "-_9", "QQ=", "QR", "QUI=", "QUJ", "-_8 ",
        ] {
            assert!(b64url_decode(bad).is_none(), "{bad:?}");
        }
        assert_eq!(b64url_decode("QQ").unwrap(), b"A");
        assert_eq!(b64url_decode("").unwrap(), b"");
    }
}
