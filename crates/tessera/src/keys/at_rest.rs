//! The at-rest format of a key row's `secret` column.
//!
//! A sealed secret is
//!
//! ```text
//! A5 54 4B | 01      | KEK id (8) | nonce (12) | AES-256-GCM ciphertext ‖ tag (16)
//! prefix   | version |
//! ```
//!
//! with a fresh random nonce per row and, as associated data, the header and
//! the row's identity (`kid`, purpose, generation, algorithm), each
//! length-prefixed: a ciphertext moved to another row (someone with write
//! access swapping a MAC key into a signing row, say) fails authentication.
//!
//! A plaintext secret is told apart by its shape: a PKCS#8 private key starts
//! with `0x30` (never the prefix), and a refresh MAC key is 32 bytes, shorter
//! than any sealed secret. The prefix with an unknown version is corruption,
//! not plaintext.

use crate::crypto::{SEAL_NONCE_LEN, SEAL_TAG_LEN, open_with, seal_with};
use crate::error::{Error, Result};
use crate::store::StoredKey;

use super::kek::{KEK_ID_LEN, KeyEncryptionKey};

const PREFIX: [u8; 3] = [0xA5, b'T', b'K'];
const VERSION: u8 = 1;
const HEADER_LEN: usize = PREFIX.len() + 1 + KEK_ID_LEN;
const MIN_SEALED_LEN: usize = HEADER_LEN + SEAL_NONCE_LEN + SEAL_TAG_LEN + 1;

/// What a stored secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretForm {
    /// Not encrypted.
    Plain,
    /// Sealed under the KEK with this id.
    Sealed([u8; KEK_ID_LEN]),
}

/// Classifies a stored secret; an error for the prefix with an unknown
/// version or a truncated envelope.
pub(crate) fn form_of(key: &StoredKey) -> Result<SecretForm> {
    let s = &key.secret;
    if !s.starts_with(&PREFIX) || (s.len() < MIN_SEALED_LEN && s.len() <= 32) {
        return Ok(SecretForm::Plain);
    }
    if s.len() < MIN_SEALED_LEN || s[PREFIX.len()] != VERSION {
        return Err(Error::CorruptData(format!(
            "key {}: encrypted secret in an unknown format or truncated",
            key.kid
        )));
    }
    let mut id = [0u8; KEK_ID_LEN];
    id.copy_from_slice(&s[PREFIX.len() + 1..HEADER_LEN]);
    Ok(SecretForm::Sealed(id))
}

/// The row's secret sealed under `kek` (the row's other fields unchanged).
pub(crate) fn seal_secret(kek: &KeyEncryptionKey, key: &StoredKey) -> Result<Vec<u8>> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(&PREFIX);
    header.push(VERSION);
    header.extend_from_slice(kek.id_bytes());
    let sealed = seal_with(kek.aead(), &associated_data(&header, key), &key.secret)?;
    header.extend_from_slice(&sealed);
    Ok(header)
}

/// The row with its secret in plain text: opened with `kek` when sealed.
/// Errors name the row and the problem, never key bytes.
pub(crate) fn open_row(kek: Option<&KeyEncryptionKey>, key: &StoredKey) -> Result<StoredKey> {
    let SecretForm::Sealed(id) = form_of(key)? else {
        return Ok(key.clone());
    };
    let Some(kek) = kek else {
        return Err(Error::InvalidInput(format!(
            "the signing keys in the database are encrypted at rest (key {} under \
             key-encryption key {}), but no key-encryption key is configured: set {} or {}",
            key.kid,
            crate::crypto::hex(&id),
            super::kek::KEK_ENV,
            super::kek::KEK_FILE_ENV,
        )));
    };
    if &id != kek.id_bytes() {
        return Err(Error::InvalidInput(format!(
            "key {} is encrypted under key-encryption key {}, but the configured \
             key-encryption key is {}: wrong key-encryption key",
            key.kid,
            crate::crypto::hex(&id),
            kek.id(),
        )));
    }
    let (header, sealed) = key.secret.split_at(HEADER_LEN);
    let plain = open_with(kek.aead(), &associated_data(header, key), sealed).ok_or_else(|| {
        Error::CorruptData(format!(
            "key {}: encrypted secret fails authentication (corrupted, or copied from another row)",
            key.kid
        ))
    })?;
    let mut out = key.clone();
    out.secret = plain;
    Ok(out)
}

/// Header ‖ the row's identity, each variable field length-prefixed.
fn associated_data(header: &[u8], key: &StoredKey) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64 + key.kid.len());
    aad.extend_from_slice(b"tessera key row v1");
    aad.extend_from_slice(header);
    for field in [
        key.kid.as_bytes(),
        key.purpose.as_str().as_bytes(),
        key.algorithm.as_bytes(),
    ] {
        aad.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(field);
    }
    aad.extend_from_slice(&key.generation.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::keys::missing_keys;

    fn rows() -> Vec<StoredKey> {
        missing_keys(&[], &Config::default(), true, 0).unwrap()
    }

    #[test]
    fn plaintext_rows_are_recognised_as_plain() {
        for row in rows() {
            assert_eq!(form_of(&row).unwrap(), SecretForm::Plain, "{}", row.kid);
        }
        // A MAC key that happens to start with the prefix is still plain.
        let mut mac = rows().remove(0);
        mac.secret = [PREFIX.as_slice(), &[9u8; 29]].concat();
        assert_eq!(form_of(&mac).unwrap(), SecretForm::Plain);
    }

    #[test]
    fn sealed_row_opens_with_its_kek_only() {
        let kek = KeyEncryptionKey::generate().unwrap();
        for row in rows() {
            let mut sealed = row.clone();
            sealed.secret = seal_secret(&kek, &row).unwrap();
            assert_eq!(
                form_of(&sealed).unwrap(),
                SecretForm::Sealed(*kek.id_bytes())
            );
            assert_eq!(open_row(Some(&kek), &sealed).unwrap().secret, row.secret);
            let none = open_row(None, &sealed).unwrap_err().to_string();
            assert!(
                none.contains("no key-encryption key is configured"),
                "{none}"
            );
            let other = KeyEncryptionKey::generate().unwrap();
            let wrong = open_row(Some(&other), &sealed).unwrap_err().to_string();
            assert!(wrong.contains("wrong key-encryption key"), "{wrong}");
        }
    }

    #[test]
    fn sealed_secret_moved_to_another_row_fails_authentication() {
        let kek = KeyEncryptionKey::generate().unwrap();
        let all = rows();
        let (a, b) = (&all[1], &all[2]);
        let mut swapped = b.clone();
        swapped.secret = seal_secret(&kek, a).unwrap();
        let err = open_row(Some(&kek), &swapped).unwrap_err();
        assert!(matches!(err, Error::CorruptData(_)), "{err}");
        let mut regenerated = a.clone();
        regenerated.generation += 1;
        regenerated.secret = seal_secret(&kek, a).unwrap();
        assert!(open_row(Some(&kek), &regenerated).is_err());
    }

    #[test]
    fn unknown_version_is_corruption_not_plaintext() {
        let kek = KeyEncryptionKey::generate().unwrap();
        let mut row = rows().remove(1);
        row.secret = seal_secret(&kek, &row).unwrap();
        row.secret[3] = 2;
        assert!(matches!(form_of(&row), Err(Error::CorruptData(_))));
    }
}
