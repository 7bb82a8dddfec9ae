//! Keys at rest and in an emergency: sealing rows under the key-encryption
//! key, the periodic key-set check, emergency rotation and KEK rotation
//! (rewrap).

use std::sync::Arc;

use super::SessionManager;
use crate::config::ms;
use crate::error::{Error, Result};
use crate::keys::{
    self, EmergencyRotation, EmergencyRotationReport, KeyEncryptionKey, RewrapReport, at_rest,
};
use crate::store::{KeyPurpose, KeySecretUpdate, StoredKey};

/// How many times a key-table write that lost a race with another process
/// is retried on fresh rows.
const ATTEMPTS: usize = 8;

impl SessionManager {
    /// `key` as the store keeps it: sealed under the KEK, if any.
    pub(crate) fn sealed_for_store(&self, key: &StoredKey) -> Result<StoredKey> {
        let Some(kek) = self.inner.kek.load_full() else {
            return Ok(key.clone());
        };
        let mut sealed = key.clone();
        sealed.secret = at_rest::seal_secret(&kek, key)?;
        Ok(sealed)
    }

    /// Every key row with its secret in plain text. With a KEK, rows still
    /// in plain text are first sealed in place: one compare-and-swap
    /// transaction, so processes that start together seal each row once
    /// (the loser of the race re-reads the sealed rows).
    pub(crate) async fn load_key_rows(&self) -> Result<Vec<StoredKey>> {
        let kek = self.inner.kek.load_full();
        for _ in 0..ATTEMPTS {
            let raw = self.inner.store.load_keys().await?;
            let plain = raw
                .iter()
                .map(|k| at_rest::open_row(kek.as_deref(), k))
                .collect::<Result<Vec<_>>>()?;
            let Some(kek) = kek.as_deref() else {
                return Ok(plain);
            };
            let mut updates = Vec::new();
            for row in &raw {
                if at_rest::form_of(row)? == at_rest::SecretForm::Plain {
                    updates.push(KeySecretUpdate {
                        kid: row.kid.clone(),
                        expected: row.secret.clone(),
                        secret: at_rest::seal_secret(kek, row)?,
                    });
                }
            }
            if updates.is_empty() {
                return Ok(plain);
            }
            if self.inner.store.update_key_secrets(&updates).await? {
                tracing::info!(
                    target: "tessera::keys",
                    rows = updates.len(),
                    kek_id = %kek.id(),
                    "plaintext keys encrypted at rest"
                );
                return Ok(plain);
            }
        }
        Err(Error::InvalidInput(
            "the key table kept changing while its keys were being encrypted; try again".to_owned(),
        ))
    }

    /// Compares the key ids in the store (one small read) with this
    /// process's key set and reloads the set when they differ. When keys
    /// were deleted — an emergency rotation elsewhere — they stop verifying
    /// here and the verified-token cache forgets their tokens, even if the
    /// new rows cannot be read. The background task calls this every 2 s;
    /// returns whether the set changed.
    pub async fn check_key_set(&self) -> Result<bool> {
        let mut ids = self.inner.store.key_ids().await?;
        ids.sort_unstable();
        if ids.as_slice() == self.inner.keys.load().kids() {
            return Ok(false);
        }
        let _guard = self.inner.key_lock.lock().await;
        let now = self.now_ms();
        match self.load_key_rows().await {
            Ok(stored) => self.install_keys(&stored, now)?,
            Err(e) => {
                // Cannot read the new rows (a KEK changed under us, the
                // database failed): at least drop what was deleted.
                let current = self.inner.keys.load_full();
                let removed: Vec<String> = current
                    .kids()
                    .iter()
                    .filter(|k| ids.binary_search(k).is_err())
                    .cloned()
                    .collect();
                if !removed.is_empty() {
                    self.inner.keys.store(Arc::new(current.without(&removed)));
                    if let Some(cache) = &self.inner.cache {
                        cache.purge_keys(&removed);
                    }
                }
                return Err(e);
            }
        }
        Ok(true)
    }

    /// Emergency rotation: replaces the chosen keys with new ones and
    /// *deletes* the old ones, in one transaction. In this process they stop
    /// verifying at once (and the verified-token cache forgets their
    /// tokens); other processes on the database drop them at their next
    /// key-set check (every 2 s).
    ///
    /// - `signing`: every dynamic (`d-`) key and the static (`s-`) key, if
    ///   any, are replaced; a new dynamic key signs from now on. Access
    ///   tokens they signed are refused; clients refresh (their refresh
    ///   tokens still work) and get tokens under the new key.
    /// - `refresh_mac`: the refresh MAC key is replaced. Every refresh token
    ///   and anti-CSRF token becomes void: every user signs in again.
    pub async fn emergency_rotate(
        &self,
        rotation: EmergencyRotation,
    ) -> Result<EmergencyRotationReport> {
        if !rotation.signing && !rotation.refresh_mac {
            return Err(Error::InvalidInput(
                "an emergency rotation needs signing keys, the refresh MAC key or both".to_owned(),
            ));
        }
        let _guard = self.inner.key_lock.lock().await;
        for _ in 0..ATTEMPTS {
            let now = self.now_ms();
            let stored = self.load_key_rows().await?;
            let replaced = |purpose: KeyPurpose| match purpose {
                KeyPurpose::DynamicSigning | KeyPurpose::StaticSigning => rotation.signing,
                KeyPurpose::RefreshMac => rotation.refresh_mac,
            };
            let next_generation = |purpose: KeyPurpose| {
                stored
                    .iter()
                    .filter(|k| k.purpose == purpose)
                    .map(|k| k.generation.saturating_add(1))
                    .max()
                    .unwrap_or(0)
            };
            let removed: Vec<String> = stored
                .iter()
                .filter(|k| replaced(k.purpose))
                .map(|k| k.kid.clone())
                .collect();
            let mut added = Vec::new();
            if rotation.signing {
                added.push(keys::dynamic_key(
                    &self.inner.config,
                    next_generation(KeyPurpose::DynamicSigning),
                    now,
                    now,
                    ms(self.inner.config.signing_key_rotation_interval),
                )?);
                let static_in_use = self
                    .inner
                    .static_key_in_use
                    .load(std::sync::atomic::Ordering::Relaxed);
                if static_in_use
                    || stored
                        .iter()
                        .any(|k| k.purpose == KeyPurpose::StaticSigning)
                {
                    added.push(keys::static_key(
                        self.inner.config.signing_algorithm,
                        next_generation(KeyPurpose::StaticSigning),
                        now,
                    )?);
                }
            }
            if rotation.refresh_mac {
                added.push(keys::refresh_mac_key(
                    next_generation(KeyPurpose::RefreshMac),
                    now,
                )?);
            }
            let sealed = added
                .iter()
                .map(|k| self.sealed_for_store(k))
                .collect::<Result<Vec<_>>>()?;
            if !self.inner.store.replace_keys(&removed, &sealed).await? {
                // Another process created a key of the same generation at
                // this moment: start again from the rows as they are now.
                continue;
            }
            let report = EmergencyRotationReport {
                removed,
                added: added.iter().map(|k| k.kid.clone()).collect(),
            };
            tracing::warn!(
                target: "tessera::keys",
                removed = ?report.removed,
                added = ?report.added,
                signing = rotation.signing,
                refresh_mac = rotation.refresh_mac,
                "emergency key rotation"
            );
            let stored = self.load_key_rows().await?;
            self.install_keys(&stored, now)?;
            return Ok(report);
        }
        Err(Error::InvalidInput(
            "the key table kept changing during the emergency rotation; try again".to_owned(),
        ))
    }

    /// Rotates the key-encryption key: re-encrypts every key row under
    /// `new_kek` in one transaction (rows this manager can read: sealed
    /// under its current KEK, or plain), then uses `new_kek` itself. Other
    /// processes still holding the old KEK keep working with the keys they
    /// have loaded but cannot load new ones: restart them with the new KEK.
    pub async fn rewrap_keys(&self, new_kek: KeyEncryptionKey) -> Result<RewrapReport> {
        let _guard = self.inner.key_lock.lock().await;
        let old = self.inner.kek.load_full();
        for _ in 0..ATTEMPTS {
            let raw = self.inner.store.load_keys().await?;
            let mut updates = Vec::with_capacity(raw.len());
            for row in &raw {
                let plain = at_rest::open_row(old.as_deref(), row)?;
                updates.push(KeySecretUpdate {
                    kid: row.kid.clone(),
                    expected: row.secret.clone(),
                    secret: at_rest::seal_secret(&new_kek, &plain)?,
                });
            }
            if self.inner.store.update_key_secrets(&updates).await? {
                let report = RewrapReport {
                    rows: updates.len(),
                    kek_id: new_kek.id(),
                };
                tracing::info!(
                    target: "tessera::keys",
                    rows = report.rows,
                    old_kek_id = old.as_deref().map(KeyEncryptionKey::id),
                    new_kek_id = %report.kek_id,
                    "keys re-encrypted under a new key-encryption key"
                );
                self.inner.kek.store(Some(Arc::new(new_kek)));
                return Ok(report);
            }
        }
        Err(Error::InvalidInput(
            "the key table kept changing during the rewrap; try again".to_owned(),
        ))
    }

    /// The id of the key-encryption key in use (`None`: keys are stored in
    /// plain text).
    pub fn key_encryption_key_id(&self) -> Option<String> {
        self.inner.kek.load().as_deref().map(KeyEncryptionKey::id)
    }
}
