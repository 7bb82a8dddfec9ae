//! The key-encryption key (KEK): the operator's secret, kept outside the
//! database, under which the signing and MAC keys are encrypted at rest.
//!
//! The KEK is 32 random bytes, given as base64 (standard or URL-safe,
//! padded or not) or hex — in `TESSERA_KEY_ENCRYPTION_KEY`, in a file named
//! by `TESSERA_KEY_ENCRYPTION_KEY_FILE`, or through
//! [`SessionManagerBuilder::key_encryption_key`](crate::SessionManagerBuilder::key_encryption_key).
//! Generate one with `openssl rand -base64 32`.
//!
//! The raw bytes live only for the moment it takes to derive two values
//! from them (and are then overwritten): the AES-256-GCM key that seals key
//! rows, and an 8-byte *KEK id* written in every sealed row so that a
//! process can tell "encrypted under another KEK" from corruption. Neither
//! `Debug` nor any error message shows key bytes; the id is a one-way
//! HMAC of the KEK and safe to log.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::aead::LessSafeKey;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{aes_256_gcm_key, hex, hmac_sha256, random_bytes};
use crate::error::{Error, Result};

/// The environment variable holding the KEK (base64 or hex of 32 bytes).
pub const KEK_ENV: &str = "TESSERA_KEY_ENCRYPTION_KEY";
/// The environment variable naming a file that holds the KEK.
pub const KEK_FILE_ENV: &str = "TESSERA_KEY_ENCRYPTION_KEY_FILE";

/// Length of a KEK id.
pub(crate) const KEK_ID_LEN: usize = 8;

/// A key-encryption key. Cheap to clone; the raw bytes are not kept (only
/// the derived AES key, inside AWS-LC, which wipes it on drop) and are never
/// printed.
#[derive(Clone)]
pub struct KeyEncryptionKey {
    aead: Arc<LessSafeKey>,
    id: [u8; KEK_ID_LEN],
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEncryptionKey")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl KeyEncryptionKey {
    /// A KEK from its 32 bytes; the caller's copy is overwritten.
    pub fn from_bytes(mut bytes: [u8; 32]) -> Result<Self> {
        let key = Self::derive(&bytes);
        bytes.zeroize();
        key
    }

    /// A fresh random KEK from the OS CSPRNG (tests, tooling).
    pub fn generate() -> Result<Self> {
        Self::from_bytes(random_bytes::<32>()?)
    }

    /// Parses base64 (standard or URL-safe, with or without padding) or
    /// hex (64 digits) of exactly 32 bytes; surrounding white space is
    /// ignored. The error never repeats the text.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let decoded: Option<Zeroizing<Vec<u8>>> =
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                decode_hex(text).map(Zeroizing::new)
            } else {
                [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
                    .iter()
                    .find_map(|engine| engine.decode(text).ok())
                    .map(Zeroizing::new)
            };
        let bytes: [u8; 32] = decoded
            .as_deref()
            .and_then(|d| <[u8; 32]>::try_from(d.as_slice()).ok())
            .ok_or_else(|| {
                Error::InvalidInput(
                    "the key-encryption key must be 32 random bytes, as base64 or hex \
                     (e.g. `openssl rand -base64 32`)"
                        .to_owned(),
                )
            })?;
        Self::from_bytes(bytes)
    }

    /// Reads and parses a KEK file (see [`KeyEncryptionKey::parse`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            Error::InvalidInput(format!(
                "cannot read the key-encryption key file {}: {}",
                path.display(),
                e.kind()
            ))
        })?);
        Self::parse(&text).map_err(|e| match e {
            Error::InvalidInput(m) => {
                Error::InvalidInput(format!("{m} (in file {})", path.display()))
            }
            other => other,
        })
    }

    /// The KEK from the environment: `TESSERA_KEY_ENCRYPTION_KEY`, or the
    /// file named by `TESSERA_KEY_ENCRYPTION_KEY_FILE`; `None` when neither
    /// is set; an error when both are, or the value is not a KEK.
    pub fn from_env() -> Result<Option<Self>> {
        let value = std::env::var_os(KEK_ENV).map(|v| Zeroizing::new(v.into_encoded_bytes()));
        let file = std::env::var_os(KEK_FILE_ENV);
        match (value, file) {
            (Some(_), Some(_)) => Err(Error::InvalidInput(format!(
                "set either {KEK_ENV} or {KEK_FILE_ENV}, not both"
            ))),
            (Some(v), None) => {
                let text = std::str::from_utf8(&v).map_err(|_| {
                    Error::InvalidInput(format!("{KEK_ENV} is not valid base64 or hex"))
                })?;
                Self::parse(text)
                    .map(Some)
                    .map_err(|_| Error::InvalidInput(format!(
                        "{KEK_ENV} must be 32 random bytes as base64 or hex (e.g. `openssl rand -base64 32`)"
                    )))
            }
            (None, Some(path)) => Self::from_file(Path::new(&path)).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The KEK id: 16 hex digits that name this KEK in logs and errors
    /// (a one-way HMAC of the key, not the key).
    pub fn id(&self) -> String {
        hex(&self.id)
    }

    pub(crate) fn id_bytes(&self) -> &[u8; KEK_ID_LEN] {
        &self.id
    }

    pub(crate) fn aead(&self) -> &LessSafeKey {
        &self.aead
    }

    fn derive(bytes: &[u8; 32]) -> Result<Self> {
        let mut aes = hmac_sha256(bytes, &[b"tessera kek: aes-256-gcm key v1"]);
        let aead = aes_256_gcm_key(&aes);
        aes.zeroize();
        let full_id = hmac_sha256(bytes, &[b"tessera kek: id v1"]);
        let mut id = [0u8; KEK_ID_LEN];
        id.copy_from_slice(&full_id[..KEK_ID_LEN]);
        Ok(Self {
            aead: Arc::new(aead?),
            id,
        })
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_hex_of_the_same_bytes_are_the_same_kek() {
        let bytes = [0xabu8; 32];
        let b64 = STANDARD.encode(bytes);
        let url = URL_SAFE_NO_PAD.encode(bytes);
        let hexed = hex(&bytes);
        let a = KeyEncryptionKey::parse(&b64).unwrap();
        let b = KeyEncryptionKey::parse(&format!("  {url}\n")).unwrap();
        let c = KeyEncryptionKey::parse(&hexed.to_uppercase()).unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(a.id(), c.id());
        assert_ne!(a.id(), KeyEncryptionKey::generate().unwrap().id());
    }

    #[test]
    fn kek_of_wrong_length_or_encoding_is_refused_without_echo() {
        for bad in ["", "c2hvcnQ=", "zz", &"a".repeat(63), "not base64 at all!"] {
            let err = KeyEncryptionKey::parse(bad).unwrap_err().to_string();
            assert!(err.contains("32 random bytes"), "{err}");
            if !bad.is_empty() {
                assert!(!err.contains(bad), "error repeats the input: {err}");
            }
        }
    }

    #[test]
    fn debug_shows_the_id_only() {
        let bytes = [0x5au8; 32];
        let kek = KeyEncryptionKey::from_bytes(bytes).unwrap();
        let debug = format!("{kek:?}");
        assert!(debug.contains(&kek.id()));
        assert!(!debug.contains(&hex(&bytes)));
        assert!(!debug.contains(&STANDARD.encode(bytes)));
    }
}
