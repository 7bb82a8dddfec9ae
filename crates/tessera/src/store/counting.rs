//! [`CountingStore`]: a real store wrapped so that tests can count the
//! calls the engine makes on the session table (the "0 database calls"
//! promise of the `Session` methods is checked with it). Built with the
//! `testing` feature only; not for production use.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use super::{
    KeySecretUpdate, Rotation, SessionRecord, SessionStore, StoredApp, StoredKey, TenantFilter,
};
use crate::error::Result;

/// What a [`CountingStore`] saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreCalls {
    /// Calls on the session table: every method but those of the key and
    /// app tables and `close`.
    pub session_calls: usize,
    /// Every value written by `update_session_data`, in order.
    pub data_writes: Vec<Value>,
    /// Every value written by `update_jwt_payload`, in order.
    pub payload_writes: Vec<Value>,
}

/// A handle on the counts of a [`CountingStore`], kept by the test while
/// the store itself goes into the session manager. Clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<StoreCalls>>);

impl CallLog {
    fn lock(&self) -> MutexGuard<'_, StoreCalls> {
        // A panic while the lock was held (in a test) leaves counts that
        // are still worth reading.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Session-table calls so far.
    pub fn session_calls(&self) -> usize {
        self.lock().session_calls
    }

    /// A copy of everything counted so far.
    pub fn snapshot(&self) -> StoreCalls {
        self.lock().clone()
    }
}

/// Wraps a real [`SessionStore`], counting its session-table calls and
/// recording the data and payload it writes; the key and app tables pass
/// through uncounted (key maintenance is not a session call).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> tessera::Result<()> {
/// use tessera::store::{CountingStore, MemoryStore};
///
/// let store = CountingStore::new(MemoryStore::new());
/// let log = store.log();
/// let manager = tessera::SessionManager::builder().store(store).build().await?;
/// manager.create_new_session("alice", serde_json::json!({}), serde_json::json!({})).await?;
/// assert_eq!(log.session_calls(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CountingStore<S> {
    inner: S,
    log: CallLog,
}

impl<S> CountingStore<S> {
    /// Wraps `inner` with fresh counts.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            log: CallLog::default(),
        }
    }

    /// The counts (shared with every clone of this store).
    pub fn log(&self) -> CallLog {
        self.log.clone()
    }

    fn hit(&self) {
        self.log.lock().session_calls += 1;
    }
}

impl<S: SessionStore> SessionStore for CountingStore<S> {
    async fn insert_session(&self, record: &SessionRecord) -> Result<()> {
        self.hit();
        self.inner.insert_session(record).await
    }
    async fn get_session(&self, handle: &str, now_ms: i64) -> Result<Option<SessionRecord>> {
        self.hit();
        self.inner.get_session(handle, now_ms).await
    }
    async fn session_exists(&self, handle: &str, now_ms: i64) -> Result<bool> {
        self.hit();
        self.inner.session_exists(handle, now_ms).await
    }
    async fn get_session_data(&self, handle: &str, now_ms: i64) -> Result<Option<Value>> {
        self.hit();
        self.inner.get_session_data(handle, now_ms).await
    }
    async fn rotate_refresh(
        &self,
        handle: &str,
        expected_current_hash: &[u8; 32],
        rotation: &Rotation,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>> {
        self.hit();
        self.inner
            .rotate_refresh(handle, expected_current_hash, rotation, now_ms)
            .await
    }
    async fn update_session_data(&self, handle: &str, data: &Value, now_ms: i64) -> Result<bool> {
        {
            let mut calls = self.log.lock();
            calls.session_calls += 1;
            calls.data_writes.push(data.clone());
        }
        self.inner.update_session_data(handle, data, now_ms).await
    }
    async fn update_jwt_payload(
        &self,
        handle: &str,
        payload: &Value,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>> {
        {
            let mut calls = self.log.lock();
            calls.session_calls += 1;
            calls.payload_writes.push(payload.clone());
        }
        self.inner.update_jwt_payload(handle, payload, now_ms).await
    }
    async fn delete_sessions(
        &self,
        handles: &[String],
        tenant: TenantFilter<'_>,
    ) -> Result<Vec<String>> {
        self.hit();
        self.inner.delete_sessions(handles, tenant).await
    }
    async fn delete_sessions_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
    ) -> Result<Vec<String>> {
        self.hit();
        self.inner.delete_sessions_for_user(user_id, tenant).await
    }
    async fn list_handles_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
        now_ms: i64,
    ) -> Result<Vec<String>> {
        self.hit();
        self.inner
            .list_handles_for_user(user_id, tenant, now_ms)
            .await
    }
    async fn delete_expired(&self, now_ms: i64, limit: u32) -> Result<u64> {
        self.hit();
        self.inner.delete_expired(now_ms, limit).await
    }
    // Key and app tables: passed through, not counted.
    async fn load_keys(&self) -> Result<Vec<StoredKey>> {
        self.inner.load_keys().await
    }
    async fn insert_key(&self, key: &StoredKey) -> Result<bool> {
        self.inner.insert_key(key).await
    }
    async fn delete_retired_keys(&self, now_ms: i64) -> Result<u64> {
        self.inner.delete_retired_keys(now_ms).await
    }
    async fn key_ids(&self) -> Result<Vec<String>> {
        self.inner.key_ids().await
    }
    async fn replace_keys(&self, remove: &[String], add: &[StoredKey]) -> Result<bool> {
        self.inner.replace_keys(remove, add).await
    }
    async fn update_key_secrets(&self, updates: &[KeySecretUpdate]) -> Result<bool> {
        self.inner.update_key_secrets(updates).await
    }
    async fn close(&self) {
        self.inner.close().await
    }
    fn for_app(&self, app_id: &str) -> Result<Self> {
        Ok(Self {
            inner: self.inner.for_app(app_id)?,
            log: self.log.clone(),
        })
    }
    fn app_id(&self) -> &str {
        self.inner.app_id()
    }
    async fn put_app(&self, app_id: &str, config: &Value, now_ms: i64) -> Result<bool> {
        self.inner.put_app(app_id, config, now_ms).await
    }
    async fn list_apps(&self) -> Result<Vec<StoredApp>> {
        self.inner.list_apps().await
    }
    async fn delete_app(&self, app_id: &str) -> Result<bool> {
        self.inner.delete_app(app_id).await
    }
}
