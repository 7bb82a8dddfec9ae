//! `Engine(testing=True)`: a manual clock and a SQLite store that counts
//! its session-table calls, for the Python tests' behaviour table (the
//! Rust adapters' harness does the same). Built only with the `testing`
//! feature.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;
use serde_json::Value;
use tessera::ManualClock;
use tessera::store::{Rotation, SessionRecord, SessionStore, SqliteStore, StoredKey, TenantFilter};

use crate::engine::{Engine, Settings, block_on};
use crate::errors;

/// The test hooks of an engine.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub(crate) clock: ManualClock,
    calls: Arc<AtomicUsize>,
}

impl Probe {
    pub(crate) fn session_calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A SQLite engine on a manual clock with a counting store.
pub(crate) fn engine(py: Python<'_>, url: &str, settings: &Settings) -> PyResult<Engine> {
    let clock = ManualClock::starting_now();
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = block_on(py, SqliteStore::connect(url)).map_err(errors::engine)?;
    let store = Counting {
        inner,
        calls: calls.clone(),
    };
    let builder = settings
        .builder()?
        .store(store)
        .clock(clock.clone())
        .background_tasks(false);
    let manager = block_on(py, builder.build()).map_err(errors::engine)?;
    Ok(Engine {
        fdi: settings.fdi(manager)?,
        probe: Some(Probe { clock, calls }),
    })
}

/// A real store that counts its session-table calls.
#[derive(Debug, Clone)]
struct Counting<S> {
    inner: S,
    calls: Arc<AtomicUsize>,
}

impl<S> Counting<S> {
    fn hit(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl<S: SessionStore> SessionStore for Counting<S> {
    async fn insert_session(&self, record: &SessionRecord) -> tessera::Result<()> {
        self.hit();
        self.inner.insert_session(record).await
    }
    async fn get_session(
        &self,
        handle: &str,
        now_ms: i64,
    ) -> tessera::Result<Option<SessionRecord>> {
        self.hit();
        self.inner.get_session(handle, now_ms).await
    }
    async fn session_exists(&self, handle: &str, now_ms: i64) -> tessera::Result<bool> {
        self.hit();
        self.inner.session_exists(handle, now_ms).await
    }
    async fn get_session_data(&self, handle: &str, now_ms: i64) -> tessera::Result<Option<Value>> {
        self.hit();
        self.inner.get_session_data(handle, now_ms).await
    }
    async fn rotate_refresh(
        &self,
        handle: &str,
        expected_current_hash: &[u8; 32],
        rotation: &Rotation,
        now_ms: i64,
    ) -> tessera::Result<Option<SessionRecord>> {
        self.hit();
        self.inner
            .rotate_refresh(handle, expected_current_hash, rotation, now_ms)
            .await
    }
    async fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now_ms: i64,
    ) -> tessera::Result<bool> {
        self.hit();
        self.inner.update_session_data(handle, data, now_ms).await
    }
    async fn update_jwt_payload(
        &self,
        handle: &str,
        payload: &Value,
        now_ms: i64,
    ) -> tessera::Result<Option<SessionRecord>> {
        self.hit();
        self.inner.update_jwt_payload(handle, payload, now_ms).await
    }
    async fn delete_sessions(
        &self,
        handles: &[String],
        tenant: TenantFilter<'_>,
    ) -> tessera::Result<Vec<String>> {
        self.hit();
        self.inner.delete_sessions(handles, tenant).await
    }
    async fn delete_sessions_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
    ) -> tessera::Result<Vec<String>> {
        self.hit();
        self.inner.delete_sessions_for_user(user_id, tenant).await
    }
    async fn list_handles_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
        now_ms: i64,
    ) -> tessera::Result<Vec<String>> {
        self.hit();
        self.inner
            .list_handles_for_user(user_id, tenant, now_ms)
            .await
    }
    async fn delete_expired(&self, now_ms: i64, limit: u32) -> tessera::Result<u64> {
        self.hit();
        self.inner.delete_expired(now_ms, limit).await
    }
    // The key table is not counted: key maintenance is not a session call.
    async fn load_keys(&self) -> tessera::Result<Vec<StoredKey>> {
        self.inner.load_keys().await
    }
    async fn insert_key(&self, key: &StoredKey) -> tessera::Result<bool> {
        self.inner.insert_key(key).await
    }
    async fn delete_retired_keys(&self, now_ms: i64) -> tessera::Result<u64> {
        self.inner.delete_retired_keys(now_ms).await
    }
}
