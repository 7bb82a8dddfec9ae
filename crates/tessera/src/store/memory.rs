//! An in-process store for tests and single-process development.
//!
//! Everything lives in one `HashMap` behind a `std::sync::Mutex`; no lock is
//! held across an `.await` (the futures are ready at once).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::{
    DEFAULT_APP_ID, KeySecretUpdate, Rotation, SessionRecord, SessionStore, StoredApp, StoredKey,
    TenantFilter,
};
use crate::crypto::ct_eq;
use crate::error::{Error, Result};

/// The rows of one app.
#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, SessionRecord>,
    keys: Vec<StoredKey>,
}

/// What every view of one store shares: each app's rows and the app table.
#[derive(Debug, Default)]
struct Directory {
    rows: HashMap<String, Arc<Mutex<Inner>>>,
    apps: BTreeMap<String, Value>,
}

impl Directory {
    fn rows_of(&mut self, app_id: &str) -> Arc<Mutex<Inner>> {
        Arc::clone(self.rows.entry(app_id.to_owned()).or_default())
    }
}

/// A store that keeps everything in memory; clones share the same data.
///
/// ```
/// # async fn demo() -> tessera::Result<()> {
/// let manager = tessera::SessionManager::builder()
///     .store(tessera::store::MemoryStore::new())
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryStore {
    /// The rows of this view's app.
    inner: Arc<Mutex<Inner>>,
    /// This view's app.
    app: Arc<str>,
    /// Shared by every view of the store.
    directory: Arc<Mutex<Directory>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        let mut directory = Directory::default();
        let inner = directory.rows_of(DEFAULT_APP_ID);
        Self {
            inner,
            app: DEFAULT_APP_ID.into(),
            directory: Arc::new(Mutex::new(directory)),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-update of a
        // plain map; the data is still structurally valid.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_directory(&self) -> MutexGuard<'_, Directory> {
        self.directory.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live<'a>(inner: &'a mut Inner, handle: &str, now_ms: i64) -> Option<&'a mut SessionRecord> {
        inner
            .sessions
            .get_mut(handle)
            .filter(|r| r.expires_at_ms > now_ms)
    }
}

impl SessionStore for MemoryStore {
    fn for_app(&self, app_id: &str) -> Result<Self> {
        let inner = self.lock_directory().rows_of(app_id);
        Ok(Self {
            inner,
            app: app_id.into(),
            directory: Arc::clone(&self.directory),
        })
    }

    fn app_id(&self) -> &str {
        &self.app
    }

    async fn put_app(&self, app_id: &str, config: &Value, _now_ms: i64) -> Result<bool> {
        Ok(self
            .lock_directory()
            .apps
            .insert(app_id.to_owned(), config.clone())
            .is_none())
    }

    async fn list_apps(&self) -> Result<Vec<StoredApp>> {
        Ok(self
            .lock_directory()
            .apps
            .iter()
            .map(|(app_id, config)| StoredApp {
                app_id: app_id.clone(),
                config: config.clone(),
            })
            .collect())
    }

    async fn delete_app(&self, app_id: &str) -> Result<bool> {
        let mut directory = self.lock_directory();
        if let Some(rows) = directory.rows.get(app_id) {
            // Views made earlier hold the same rows: empty them in place.
            let mut rows = rows.lock().unwrap_or_else(|p| p.into_inner());
            rows.sessions.clear();
            rows.keys.clear();
        }
        Ok(directory.apps.remove(app_id).is_some())
    }

    async fn insert_session(&self, record: &SessionRecord) -> Result<()> {
        let mut inner = self.lock();
        if inner.sessions.contains_key(&record.handle) {
            return Err(Error::InvalidInput("session handle already exists".into()));
        }
        inner.sessions.insert(record.handle.clone(), record.clone());
        Ok(())
    }

    async fn get_session(&self, handle: &str, now_ms: i64) -> Result<Option<SessionRecord>> {
        Ok(Self::live(&mut self.lock(), handle, now_ms).map(|r| r.clone()))
    }

    async fn session_exists(&self, handle: &str, now_ms: i64) -> Result<bool> {
        Ok(Self::live(&mut self.lock(), handle, now_ms).is_some())
    }

    async fn get_session_data(&self, handle: &str, now_ms: i64) -> Result<Option<Value>> {
        Ok(Self::live(&mut self.lock(), handle, now_ms).map(|r| r.session_data.clone()))
    }

    async fn rotate_refresh(
        &self,
        handle: &str,
        expected_current_hash: &[u8; 32],
        rotation: &Rotation,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>> {
        let mut inner = self.lock();
        let Some(record) = Self::live(&mut inner, handle, now_ms) else {
            return Ok(None);
        };
        if !ct_eq(&record.refresh.current_hash, expected_current_hash) {
            return Ok(None);
        }
        record.refresh = rotation.refresh.clone();
        record.expires_at_ms = record
            .absolute_expires_at_ms
            .map_or(rotation.expires_at_ms, |abs| {
                rotation.expires_at_ms.min(abs)
            });
        Ok(Some(record.clone()))
    }

    async fn update_session_data(&self, handle: &str, data: &Value, now_ms: i64) -> Result<bool> {
        let mut inner = self.lock();
        match Self::live(&mut inner, handle, now_ms) {
            Some(r) => {
                r.session_data = data.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn update_jwt_payload(
        &self,
        handle: &str,
        payload: &Value,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>> {
        let mut inner = self.lock();
        Ok(Self::live(&mut inner, handle, now_ms).map(|r| {
            r.jwt_payload = payload.clone();
            r.clone()
        }))
    }

    async fn delete_sessions(
        &self,
        handles: &[String],
        tenant: TenantFilter<'_>,
    ) -> Result<Vec<String>> {
        let mut inner = self.lock();
        let mut deleted = Vec::new();
        for h in handles {
            let admitted = inner
                .sessions
                .get(h)
                .is_some_and(|r| tenant.admits(&r.tenant_id));
            if admitted && inner.sessions.remove(h).is_some() {
                deleted.push(h.clone());
            }
        }
        Ok(deleted)
    }

    async fn delete_sessions_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
    ) -> Result<Vec<String>> {
        let mut inner = self.lock();
        let mut deleted = Vec::new();
        inner.sessions.retain(|h, r| {
            let hit = r.user_id == user_id && tenant.admits(&r.tenant_id);
            if hit {
                deleted.push(h.clone());
            }
            !hit
        });
        Ok(deleted)
    }

    async fn list_handles_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
        now_ms: i64,
    ) -> Result<Vec<String>> {
        let inner = self.lock();
        let mut found: Vec<(i64, String)> = inner
            .sessions
            .values()
            .filter(|r| {
                r.user_id == user_id && tenant.admits(&r.tenant_id) && r.expires_at_ms > now_ms
            })
            .map(|r| (r.created_at_ms, r.handle.clone()))
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, h)| h).collect())
    }

    async fn delete_expired(&self, now_ms: i64, limit: u32) -> Result<u64> {
        let mut inner = self.lock();
        let expired: Vec<String> = inner
            .sessions
            .values()
            .filter(|r| r.expires_at_ms <= now_ms)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|r| r.handle.clone())
            .collect();
        for h in &expired {
            inner.sessions.remove(h);
        }
        Ok(expired.len() as u64)
    }

    async fn load_keys(&self) -> Result<Vec<StoredKey>> {
        Ok(self.lock().keys.clone())
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<bool> {
        let mut inner = self.lock();
        let clash = inner.keys.iter().any(|k| {
            k.kid == key.kid || (k.purpose == key.purpose && k.generation == key.generation)
        });
        if clash {
            return Ok(false);
        }
        inner.keys.push(key.clone());
        Ok(true)
    }

    async fn delete_retired_keys(&self, now_ms: i64) -> Result<u64> {
        let mut inner = self.lock();
        let before = inner.keys.len();
        inner
            .keys
            .retain(|k| k.retire_after_ms.is_none_or(|t| t > now_ms));
        Ok((before - inner.keys.len()) as u64)
    }

    async fn replace_keys(&self, remove: &[String], add: &[StoredKey]) -> Result<bool> {
        let mut inner = self.lock();
        let mut keys: Vec<StoredKey> = inner
            .keys
            .iter()
            .filter(|k| !remove.contains(&k.kid))
            .cloned()
            .collect();
        for key in add {
            let clash = keys.iter().any(|k| {
                k.kid == key.kid || (k.purpose == key.purpose && k.generation == key.generation)
            });
            if clash {
                return Ok(false);
            }
            keys.push(key.clone());
        }
        inner.keys = keys;
        Ok(true)
    }

    async fn update_key_secrets(&self, updates: &[KeySecretUpdate]) -> Result<bool> {
        let mut inner = self.lock();
        let all_match = updates.iter().all(|u| {
            inner
                .keys
                .iter()
                .any(|k| k.kid == u.kid && ct_eq(&k.secret, &u.expected))
        });
        if !all_match {
            return Ok(false);
        }
        for u in updates {
            if let Some(k) = inner.keys.iter_mut().find(|k| k.kid == u.kid) {
                k.secret.clone_from(&u.secret);
            }
        }
        Ok(true)
    }
}
