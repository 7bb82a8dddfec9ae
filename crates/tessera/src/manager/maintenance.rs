//! Background work: signing-key rotation, key-set reloads, and deletion of
//! expired sessions and retired keys.
//!
//! The background task wakes every [`KEY_SET_CHECK_INTERVAL`] (2 s) and
//! compares the key ids in the store with its own (one `SELECT kid`, a
//! handful of rows); when they differ it reloads the set, and when keys were
//! deleted (an emergency rotation in another process) it also purges the
//! verified-token cache. A deleted key therefore stops verifying in every
//! process within about 2 s plus one query, and the verify path itself
//! never reads the store for this. Every [`KEY_MAINTENANCE_INTERVAL`] (30 s)
//! it also publishes a successor key when one is due.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{Inner, SessionManager};
use crate::config::ms;
use crate::error::Result;
use crate::keys::{self, Jwks, KeySet};

/// How often the background task compares the store's key ids with this
/// process's set (and reloads it when they differ).
pub(crate) const KEY_SET_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// How often the background task publishes a successor key when one is due.
const KEY_MAINTENANCE_INTERVAL: Duration = Duration::from_secs(30);

/// What one cleanup pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// Expired sessions deleted.
    pub sessions_deleted: u64,
    /// Batches (statements) it took.
    pub batches: u64,
    /// Retired signing keys deleted.
    pub keys_deleted: u64,
}

impl SessionManager {
    /// Creates the static signing key now unless the store has one, and
    /// keeps it from then on like a key in use. Without this call the
    /// static key is made on first use; SuperTokens core makes it when it
    /// loads an app, so its JWKS lists it from the start (the SDKs rely on
    /// that: a v2 token, whose header names no key, is verified by trying
    /// each key of a JWKS that has several).
    pub async fn ensure_static_key(&self) -> Result<()> {
        self.inner.static_key_in_use.store(true, Ordering::Relaxed);
        if self
            .inner
            .keys
            .load()
            .signing_key(false, self.now_ms())
            .is_some()
        {
            return Ok(());
        }
        self.maintain_keys().await
    }

    /// Makes sure the store holds every key needed now (creating what is
    /// missing, once across all processes) and reloads the parsed set.
    pub(crate) async fn maintain_keys(&self) -> Result<()> {
        let _guard = self.inner.key_lock.lock().await;
        let now = self.now_ms();
        let need_static = self.inner.static_key_in_use.load(Ordering::Relaxed);
        let mut stored = self.load_key_rows().await?;
        let missing = keys::missing_keys(&stored, &self.inner.config, need_static, now)?;
        if !missing.is_empty() {
            for key in &missing {
                if self
                    .inner
                    .store
                    .insert_key(&self.sealed_for_store(key)?)
                    .await?
                {
                    tracing::info!(target: "tessera::keys", kid = %key.kid, purpose = key.purpose.as_str(), "key created");
                }
            }
            stored = self.load_key_rows().await?;
        }
        self.install_keys(&stored, now)
    }

    /// Parses and installs `stored` (plaintext rows) as the key set; when
    /// keys left the set, purges the verified-token cache of their tokens.
    pub(crate) fn install_keys(&self, stored: &[crate::store::StoredKey], now: i64) -> Result<()> {
        let previous = self.inner.keys.load_full();
        let set = KeySet::parse(stored, &previous)?;
        let removed: Vec<String> = previous
            .kids()
            .iter()
            .filter(|k| set.kids().binary_search(k).is_err())
            .cloned()
            .collect();
        self.inner.keys.store(Arc::new(set));
        self.inner.last_key_reload_ms.store(now, Ordering::Relaxed);
        if !removed.is_empty()
            && let Some(cache) = &self.inner.cache
        {
            cache.purge_keys(&removed);
        }
        Ok(())
    }

    /// Reloads the key set after an unknown `kid`, at most once per cooldown
    /// (`Config::key_reload_cooldown`); returns whether it reloaded.
    pub(crate) async fn reload_keys_for_unknown_kid(&self) -> Result<bool> {
        let now = self.now_ms();
        let cooldown = ms(self.inner.config.key_reload_cooldown);
        let last = self.inner.last_key_reload_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < cooldown {
            return Ok(false);
        }
        let Ok(_guard) = self.inner.key_lock.try_lock() else {
            // Someone is reloading right now; wait for them, then use their set.
            let _wait = self.inner.key_lock.lock().await;
            return Ok(true);
        };
        if now.saturating_sub(self.inner.last_key_reload_ms.load(Ordering::Relaxed)) < cooldown {
            return Ok(false);
        }
        self.inner.last_key_reload_ms.store(now, Ordering::Relaxed);
        let stored = self.load_key_rows().await?;
        self.install_keys(&stored, now)?;
        Ok(true)
    }

    /// The public keys of every access token that may still be live, for
    /// `/.well-known/jwks.json`. Reads no store.
    pub fn jwks(&self) -> Arc<Jwks> {
        self.inner.keys.load().jwks().clone()
    }

    /// `Cache-Control: max-age` to serve JWKS with.
    pub fn jwks_max_age(&self) -> Duration {
        self.inner.config.jwks_max_age
    }

    /// Publishes a new rotating signing key. With `immediately` it signs
    /// from now on; otherwise it starts signing after the configured publish
    /// lead, so caches of JWKS pick it up first. Older keys keep verifying
    /// until their tokens expire — for a compromised key use
    /// [`SessionManager::emergency_rotate`], which deletes it. Returns the
    /// new key's id.
    pub async fn rotate_signing_key(&self, immediately: bool) -> Result<String> {
        let _guard = self.inner.key_lock.lock().await;
        let now = self.now_ms();
        loop {
            let stored = self.inner.store.load_keys().await?;
            let generation = stored
                .iter()
                .filter(|k| k.purpose == crate::store::KeyPurpose::DynamicSigning)
                .map(|k| k.generation + 1)
                .max()
                .unwrap_or(0);
            let starts = if immediately {
                now
            } else {
                now + ms(self.inner.config.signing_key_publish_lead)
            };
            let key = keys::dynamic_key(
                &self.inner.config,
                generation,
                now,
                starts,
                ms(self.inner.config.signing_key_rotation_interval),
            )?;
            if self
                .inner
                .store
                .insert_key(&self.sealed_for_store(&key)?)
                .await?
            {
                tracing::info!(target: "tessera::keys", kid = %key.kid, "signing key rotated");
                let stored = self.load_key_rows().await?;
                self.install_keys(&stored, now)?;
                return Ok(key.kid);
            }
            // Another process took this generation at the same moment: retry
            // with the next one.
        }
    }

    /// Deletes expired sessions in batches of `Config::cleanup_batch_size`
    /// (yielding between batches, so requests are never blocked for long)
    /// and signing keys whose tokens have all expired.
    pub async fn run_cleanup(&self) -> Result<CleanupReport> {
        let now = self.now_ms();
        let batch = self.inner.config.cleanup_batch_size;
        let mut report = CleanupReport::default();
        loop {
            let n = self.inner.store.delete_expired(now, batch).await?;
            report.sessions_deleted += n;
            report.batches += 1;
            if n < u64::from(batch) {
                break;
            }
            tokio::task::yield_now().await;
        }
        report.keys_deleted = self.inner.store.delete_retired_keys(now).await?;
        if report.keys_deleted > 0 {
            let stored = self.load_key_rows().await?;
            self.install_keys(&stored, now)?;
        }
        if report.sessions_deleted > 0 || report.keys_deleted > 0 {
            tracing::info!(
                target: "tessera::cleanup",
                sessions = report.sessions_deleted,
                keys = report.keys_deleted,
                "cleanup"
            );
        }
        Ok(report)
    }

    /// Publishes the dynamic signing key that is due now, if one is: when
    /// no dynamic key signs any more, or the newest one ends within the
    /// publish lead without a successor. Otherwise it reads nothing (one
    /// look at the parsed key set). JWKS endpoints call it, as SuperTokens
    /// core rotates its keys when they are listed: a client that polls JWKS
    /// sees each new key even while nothing signs (the background task does
    /// the same every 30 s, too slowly for the seconds-long intervals of
    /// test mode).
    pub async fn publish_due_keys(&self) -> Result<()> {
        let now = self.now_ms();
        let lead = ms(self.inner.config.signing_key_publish_lead);
        if self.inner.keys.load().dynamic_key_due(now, lead) {
            self.maintain_keys().await?;
        }
        Ok(())
    }

    /// One pass of everything the background task does: key maintenance and
    /// cleanup.
    pub async fn run_maintenance(&self) -> Result<CleanupReport> {
        self.maintain_keys().await?;
        self.run_cleanup().await
    }
}

/// Starts the background task; it ends when the last manager is dropped.
pub(super) fn spawn_background(inner: Weak<Inner>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut since_cleanup = Duration::ZERO;
        let mut since_maintenance = Duration::ZERO;
        loop {
            tokio::time::sleep(KEY_SET_CHECK_INTERVAL).await;
            since_cleanup += KEY_SET_CHECK_INTERVAL;
            since_maintenance += KEY_SET_CHECK_INTERVAL;
            let Some(inner) = inner.upgrade() else { return };
            let manager = SessionManager { inner };
            if let Err(e) = manager.check_key_set().await {
                tracing::warn!(target: "tessera::keys", error = %e, "key-set check failed");
            }
            if since_maintenance < KEY_MAINTENANCE_INTERVAL {
                continue;
            }
            since_maintenance = Duration::ZERO;
            if let Err(e) = manager.maintain_keys().await {
                tracing::warn!(target: "tessera::keys", error = %e, "key maintenance failed");
            }
            if since_cleanup >= manager.inner.config.cleanup_interval {
                since_cleanup = Duration::ZERO;
                if let Err(e) = manager.run_cleanup().await {
                    tracing::warn!(target: "tessera::cleanup", error = %e, "cleanup failed");
                }
            }
        }
    })
}

impl SessionManager {
    /// Checks that the store answers (one cheap read), for health probes.
    pub async fn health_check(&self) -> Result<()> {
        self.inner
            .store
            .session_exists("tessera-health-check", self.now_ms())
            .await
            .map(|_| ())
    }

    /// Stops the background task and closes the store's connections (a
    /// SQLite store checkpoints its WAL). Other clones of this manager fail
    /// on their next database call.
    pub async fn close(&self) {
        if let Some(task) = self.inner.background.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
        self.inner.store.close().await;
    }
}
