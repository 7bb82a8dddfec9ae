//! Where sessions and signing keys live.
//!
//! [`SessionStore`] is the one trait every backend implements; it is small on
//! purpose and every method is a single round trip to the database (a
//! compare-and-swap where the rule needs one). The engine holds all the rules
//! about tokens: a store only keeps rows and answers exact questions.
//!
//! Every store runs the same conformance suite (`tests/store_conformance.rs`).
//!
//! Times are milliseconds since the Unix epoch (`i64`), passed in by the
//! engine so that tests can move the clock; a store never reads the clock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::error::Result;

#[cfg(feature = "testing")]
mod counting;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "sqlite", feature = "sqlite-unbundled", feature = "postgres"))]
mod sql_common;
#[cfg(any(feature = "sqlite", feature = "sqlite-unbundled"))]
pub mod sqlite;

#[cfg(feature = "testing")]
pub use counting::{CallLog, CountingStore, StoreCalls};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(any(feature = "sqlite", feature = "sqlite-unbundled"))]
pub use sqlite::SqliteStore;

/// Optional facts about the client that created a session, shown back by
/// `get_session_information` ("your active sessions").
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionMetadata {
    /// Client IP address as the application saw it.
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// A device label chosen by the application ("Alice's laptop").
    pub device: Option<String>,
}

/// The refresh-token state of a session: enough to rotate with one
/// compare-and-swap and to tell a grace-window retry from theft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshState {
    /// Hash of the refresh token that is current now.
    pub current_hash: [u8; 32],
    /// Hash of the token it replaced, if the session was ever refreshed.
    pub previous_hash: Option<[u8; 32]>,
    /// The current token sealed under the previous one, so that a retry
    /// with the previous token inside the grace window receives the same
    /// current token (several tabs end with one cookie value).
    pub current_sealed: Option<Vec<u8>>,
    /// Generation of the current token (0 at creation, +1 per rotation).
    pub generation: i64,
    /// When the current token was issued.
    pub rotated_at_ms: i64,
}

/// One session row.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The session handle (primary key).
    pub handle: String,
    /// Tenant the session belongs to (`public` by default).
    pub tenant_id: String,
    /// The (primary) user id.
    pub user_id: String,
    /// The recipe user id (equals `user_id` unless accounts are linked).
    pub recipe_user_id: String,
    /// The user's own access-token payload (a JSON object, no protected claims).
    pub jwt_payload: Value,
    /// Session data kept only in the database (a JSON object).
    pub session_data: Value,
    /// When the session was created.
    pub created_at_ms: i64,
    /// When the session expires unless refreshed (idle timeout, already
    /// capped by the absolute lifetime).
    pub expires_at_ms: i64,
    /// Absolute end of the session, whatever refreshes happen.
    pub absolute_expires_at_ms: Option<i64>,
    /// Refresh-token state.
    pub refresh: RefreshState,
    /// Client metadata.
    pub metadata: SessionMetadata,
}

/// The new state written by a successful refresh rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new refresh-token state; `previous_hash` is the old current hash.
    pub refresh: RefreshState,
    /// The new idle expiry. The store writes
    /// `min(expires_at_ms, absolute_expires_at_ms)` so that no refresh
    /// extends a session past its absolute end.
    pub expires_at_ms: i64,
}

/// What a signing or MAC key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// A rotating access-token signing key (`kid` prefix `d-`).
    DynamicSigning,
    /// The static access-token signing key (`kid` prefix `s-`).
    StaticSigning,
    /// The secret that authenticates refresh tokens and derives anti-CSRF tokens.
    RefreshMac,
}

impl KeyPurpose {
    /// The stable string stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DynamicSigning => "dynamic",
            Self::StaticSigning => "static",
            Self::RefreshMac => "refresh-mac",
        }
    }

    /// Parses [`KeyPurpose::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dynamic" => Some(Self::DynamicSigning),
            "static" => Some(Self::StaticSigning),
            "refresh-mac" => Some(Self::RefreshMac),
            _ => None,
        }
    }
}

/// One key row. `(purpose, generation)` is unique: two processes that try to
/// create the same generation at once both succeed in the end, with one row.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Key id (`d-…`, `s-…`, or `mac-…`); primary key.
    pub kid: String,
    /// What the key is for.
    pub purpose: KeyPurpose,
    /// Rotation generation within the purpose (0, 1, 2, ...).
    pub generation: i64,
    /// The only algorithm this key may be used with: `RS256`, `EdDSA`,
    /// `ES256` (signing keys, the JWS name) or `HS256` (the refresh MAC key).
    /// Rows written before tessera offered other algorithms all say `RS256`.
    pub algorithm: String,
    /// Private key (PKCS#8 DER) or MAC secret.
    pub secret: Vec<u8>,
    /// Public key: PKCS#1 `RSAPublicKey` DER (RS256), the raw 32-byte key
    /// (EdDSA) or the 65-byte uncompressed point (ES256); empty for MAC keys.
    pub public_der: Vec<u8>,
    /// When the key was created (and published in JWKS).
    pub created_at_ms: i64,
    /// The key signs new tokens from this time ...
    pub not_before_ms: i64,
    /// ... until this time (`None`: no end).
    pub not_after_ms: Option<i64>,
    /// After this time no live token can carry the key's signature: it may be
    /// deleted. `None`: keep forever.
    pub retire_after_ms: Option<i64>,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("purpose", &self.purpose)
            .field("generation", &self.generation)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .field("created_at_ms", &self.created_at_ms)
            .field("not_before_ms", &self.not_before_ms)
            .field("not_after_ms", &self.not_after_ms)
            .field("retire_after_ms", &self.retire_after_ms)
            .finish()
    }
}

/// A compare-and-swap of one key row's stored secret (its at-rest form
/// changes: encrypted in place, or re-encrypted under a new KEK; the key
/// itself does not).
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecretUpdate {
    /// The row.
    pub kid: String,
    /// The stored secret the update expects to replace.
    pub expected: Vec<u8>,
    /// The new stored secret.
    pub secret: Vec<u8>,
}

impl fmt::Debug for KeySecretUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySecretUpdate")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The app a store opened by URL or constructor reads and writes, and the
/// default app of `tessera serve` (SuperTokens' `public`).
pub const DEFAULT_APP_ID: &str = "public";

/// One app row: the app's id and its settings as a JSON object (opaque to
/// the store; `tessera serve` keeps SuperTokens' `coreConfig` there).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredApp {
    /// The app id.
    pub app_id: String,
    /// The app's settings.
    pub config: Value,
}

/// Which sessions of a user an operation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantFilter<'a> {
    /// Sessions in every tenant.
    All,
    /// Only sessions in this tenant.
    Only(&'a str),
}

impl TenantFilter<'_> {
    /// Whether a session in `tenant_id` is covered.
    pub fn admits(&self, tenant_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(t) => *t == tenant_id,
        }
    }
}

/// Storage for sessions and keys.
///
/// Contract (checked by the conformance suite):
/// - Every method is one round trip where SQL allows it.
/// - A session whose `expires_at_ms <= now_ms` is treated as absent by every
///   method that takes `now_ms` (it is not returned, updated or rotated), even
///   before cleanup deletes it.
/// - `rotate_refresh` is a compare-and-swap: it applies only when the stored
///   `current_hash` equals `expected_current_hash`; of many concurrent calls
///   with the same expected hash exactly one succeeds.
/// - Deletes return the handles they actually deleted, so a caller can tell
///   "revoked now" from "was already gone".
/// - Updates never resurrect a deleted session.
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// Inserts a new session. The handle is new (a collision is an error).
    fn insert_session(&self, record: &SessionRecord) -> impl Future<Output = Result<()>> + Send;

    /// Reads a live session by handle.
    fn get_session(
        &self,
        handle: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<SessionRecord>>> + Send;

    /// Whether a live session with this handle exists (the blacklist check).
    fn session_exists(
        &self,
        handle: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Reads only the session data of a live session.
    fn get_session_data(
        &self,
        handle: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<Value>>> + Send;

    /// Compare-and-swap of the refresh state: when the live session's
    /// `current_hash` equals `expected_current_hash`, writes `rotation` (the
    /// expiry capped at the row's `absolute_expires_at_ms`) and returns the
    /// updated record; otherwise changes nothing and returns `None`.
    fn rotate_refresh(
        &self,
        handle: &str,
        expected_current_hash: &[u8; 32],
        rotation: &Rotation,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<SessionRecord>>> + Send;

    /// Overwrites the session data of a live session; `false` if there is none.
    fn update_session_data(
        &self,
        handle: &str,
        data: &Value,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Overwrites the user's access-token payload of a live session and
    /// returns the updated record; `None` if there is no such session.
    fn update_jwt_payload(
        &self,
        handle: &str,
        payload: &Value,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<SessionRecord>>> + Send;

    /// Deletes the given sessions (live or expired) that are in `tenant`;
    /// returns the handles deleted.
    fn delete_sessions(
        &self,
        handles: &[String],
        tenant: TenantFilter<'_>,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Deletes every session of a user in `tenant`; returns the handles deleted.
    fn delete_sessions_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Handles of a user's live sessions in `tenant`, oldest first.
    fn list_handles_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Deletes up to `limit` sessions that expired at or before `now_ms`;
    /// returns how many were deleted. Callers loop until it returns less than
    /// `limit`, so no single statement holds locks for long.
    fn delete_expired(&self, now_ms: i64, limit: u32) -> impl Future<Output = Result<u64>> + Send;

    /// All key rows.
    fn load_keys(&self) -> impl Future<Output = Result<Vec<StoredKey>>> + Send;

    /// Inserts a key unless a key with the same `(purpose, generation)` or
    /// `kid` exists; returns whether this call inserted it.
    fn insert_key(&self, key: &StoredKey) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes keys whose `retire_after_ms` is at or before `now_ms`;
    /// returns how many.
    fn delete_retired_keys(&self, now_ms: i64) -> impl Future<Output = Result<u64>> + Send;

    /// The `kid` of every key row, in any order: the cheap read with which
    /// each process notices, every few seconds, that keys were added or
    /// deleted elsewhere. The default reads every row; SQL stores select
    /// only the ids.
    fn key_ids(&self) -> impl Future<Output = Result<Vec<String>>> + Send {
        async move { Ok(self.load_keys().await?.into_iter().map(|k| k.kid).collect()) }
    }

    /// In one transaction: deletes the keys `remove` names (those that
    /// exist) and inserts `add`. When any key of `add` clashes with an
    /// existing `kid` or `(purpose, generation)`, changes nothing and
    /// returns `false`. Emergency rotation needs it; the default (for stores
    /// written before it existed) refuses.
    fn replace_keys(
        &self,
        remove: &[String],
        add: &[StoredKey],
    ) -> impl Future<Output = Result<bool>> + Send {
        let _ = (remove, add);
        async { Err(unsupported("emergency key rotation (replace_keys)")) }
    }

    /// In one transaction: sets each row's secret where it still equals the
    /// update's `expected`. When any row is missing or holds another value,
    /// changes nothing and returns `false`. Encrypting keys at rest needs
    /// it; the default (for stores written before it existed) refuses.
    fn update_key_secrets(
        &self,
        updates: &[KeySecretUpdate],
    ) -> impl Future<Output = Result<bool>> + Send {
        let _ = updates;
        async { Err(unsupported("re-encrypting key rows (update_key_secrets)")) }
    }

    /// Closes connections (a SQLite store checkpoints its WAL). The default
    /// does nothing; calls after it may fail. An app view made by
    /// [`SessionStore::for_app`] leaves the shared connections open.
    fn close(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A view of the same database that reads and writes only the rows of
    /// `app_id`: its sessions, its keys. Every method of the view is scoped
    /// to that app (a handle or `kid` of another app is "not found"), except
    /// [`SessionStore::delete_expired`], which deletes expired sessions of
    /// every app (an expired session is dead whatever app it belongs to).
    /// A store opened by URL or constructor is the view of
    /// [`DEFAULT_APP_ID`]. The default (for stores written before apps
    /// existed) refuses.
    fn for_app(&self, app_id: &str) -> Result<Self>
    where
        Self: Sized,
    {
        let _ = app_id;
        Err(unsupported("apps (for_app)"))
    }

    /// The app this view is scoped to.
    fn app_id(&self) -> &str {
        DEFAULT_APP_ID
    }

    /// Creates or replaces the row of `app_id` with `config`; returns
    /// whether the row is new. The default refuses.
    fn put_app(
        &self,
        app_id: &str,
        config: &Value,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool>> + Send {
        let _ = (app_id, config, now_ms);
        async { Err(unsupported("apps (put_app)")) }
    }

    /// Every app row, ordered by id. The default refuses.
    fn list_apps(&self) -> impl Future<Output = Result<Vec<StoredApp>>> + Send {
        async { Err(unsupported("apps (list_apps)")) }
    }

    /// In one transaction: deletes the app row of `app_id` with all of the
    /// app's sessions and keys; returns whether the app row existed. The
    /// default refuses.
    fn delete_app(&self, app_id: &str) -> impl Future<Output = Result<bool>> + Send {
        let _ = app_id;
        async { Err(unsupported("apps (delete_app)")) }
    }
}

fn unsupported(what: &str) -> crate::error::Error {
    crate::error::Error::InvalidInput(format!("this store does not support {what}"))
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe twin of [`SessionStore`] that the manager holds, so that a
/// store can be chosen at run time by URL. Implemented for every
/// `SessionStore`; the boxing costs one allocation per database call, and the
/// verify path makes none.
pub(crate) trait DynStore: Send + Sync + fmt::Debug + 'static {
    fn insert_session<'a>(&'a self, r: &'a SessionRecord) -> BoxFuture<'a, Result<()>>;
    fn get_session<'a>(
        &'a self,
        h: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>>;
    fn session_exists<'a>(&'a self, h: &'a str, now: i64) -> BoxFuture<'a, Result<bool>>;
    fn get_session_data<'a>(&'a self, h: &'a str, now: i64)
    -> BoxFuture<'a, Result<Option<Value>>>;
    fn rotate_refresh<'a>(
        &'a self,
        h: &'a str,
        expected: &'a [u8; 32],
        rotation: &'a Rotation,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>>;
    fn update_session_data<'a>(
        &'a self,
        h: &'a str,
        d: &'a Value,
        now: i64,
    ) -> BoxFuture<'a, Result<bool>>;
    fn update_jwt_payload<'a>(
        &'a self,
        h: &'a str,
        p: &'a Value,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>>;
    fn delete_sessions<'a>(
        &'a self,
        hs: &'a [String],
        t: TenantFilter<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>>>;
    fn delete_sessions_for_user<'a>(
        &'a self,
        u: &'a str,
        t: TenantFilter<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>>>;
    fn list_handles_for_user<'a>(
        &'a self,
        u: &'a str,
        t: TenantFilter<'a>,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>>>;
    fn delete_expired(&self, now: i64, limit: u32) -> BoxFuture<'_, Result<u64>>;
    fn load_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>>>;
    fn insert_key<'a>(&'a self, k: &'a StoredKey) -> BoxFuture<'a, Result<bool>>;
    fn delete_retired_keys(&self, now: i64) -> BoxFuture<'_, Result<u64>>;
    fn key_ids(&self) -> BoxFuture<'_, Result<Vec<String>>>;
    fn replace_keys<'a>(
        &'a self,
        remove: &'a [String],
        add: &'a [StoredKey],
    ) -> BoxFuture<'a, Result<bool>>;
    fn update_key_secrets<'a>(&'a self, u: &'a [KeySecretUpdate]) -> BoxFuture<'a, Result<bool>>;
    fn close(&self) -> BoxFuture<'_, ()>;
    fn for_app(&self, app_id: &str) -> Result<std::sync::Arc<dyn DynStore>>;
    fn app_id(&self) -> &str;
    fn put_app<'a>(&'a self, app: &'a str, c: &'a Value, now: i64) -> BoxFuture<'a, Result<bool>>;
    fn list_apps(&self) -> BoxFuture<'_, Result<Vec<StoredApp>>>;
    fn delete_app<'a>(&'a self, app: &'a str) -> BoxFuture<'a, Result<bool>>;
}

impl<S: SessionStore> DynStore for S {
    fn insert_session<'a>(&'a self, r: &'a SessionRecord) -> BoxFuture<'a, Result<()>> {
        Box::pin(SessionStore::insert_session(self, r))
    }
    fn get_session<'a>(
        &'a self,
        h: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>> {
        Box::pin(SessionStore::get_session(self, h, now))
    }
    fn session_exists<'a>(&'a self, h: &'a str, now: i64) -> BoxFuture<'a, Result<bool>> {
        Box::pin(SessionStore::session_exists(self, h, now))
    }
    fn get_session_data<'a>(
        &'a self,
        h: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(SessionStore::get_session_data(self, h, now))
    }
    fn rotate_refresh<'a>(
        &'a self,
        h: &'a str,
        expected: &'a [u8; 32],
        rotation: &'a Rotation,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>> {
        Box::pin(SessionStore::rotate_refresh(
            self, h, expected, rotation, now,
        ))
    }
    fn update_session_data<'a>(
        &'a self,
        h: &'a str,
        d: &'a Value,
        now: i64,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(SessionStore::update_session_data(self, h, d, now))
    }
    fn update_jwt_payload<'a>(
        &'a self,
        h: &'a str,
        p: &'a Value,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>> {
        Box::pin(SessionStore::update_jwt_payload(self, h, p, now))
    }
    fn delete_sessions<'a>(
        &'a self,
        hs: &'a [String],
        t: TenantFilter<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(SessionStore::delete_sessions(self, hs, t))
    }
    fn delete_sessions_for_user<'a>(
        &'a self,
        u: &'a str,
        t: TenantFilter<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(SessionStore::delete_sessions_for_user(self, u, t))
    }
    fn list_handles_for_user<'a>(
        &'a self,
        u: &'a str,
        t: TenantFilter<'a>,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(SessionStore::list_handles_for_user(self, u, t, now))
    }
    fn delete_expired(&self, now: i64, limit: u32) -> BoxFuture<'_, Result<u64>> {
        Box::pin(SessionStore::delete_expired(self, now, limit))
    }
    fn load_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>>> {
        Box::pin(SessionStore::load_keys(self))
    }
    fn insert_key<'a>(&'a self, k: &'a StoredKey) -> BoxFuture<'a, Result<bool>> {
        Box::pin(SessionStore::insert_key(self, k))
    }
    fn delete_retired_keys(&self, now: i64) -> BoxFuture<'_, Result<u64>> {
        Box::pin(SessionStore::delete_retired_keys(self, now))
    }
    fn key_ids(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(SessionStore::key_ids(self))
    }
    fn replace_keys<'a>(
        &'a self,
        remove: &'a [String],
        add: &'a [StoredKey],
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(SessionStore::replace_keys(self, remove, add))
    }
    fn update_key_secrets<'a>(&'a self, u: &'a [KeySecretUpdate]) -> BoxFuture<'a, Result<bool>> {
        Box::pin(SessionStore::update_key_secrets(self, u))
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(SessionStore::close(self))
    }
    fn for_app(&self, app_id: &str) -> Result<std::sync::Arc<dyn DynStore>> {
        Ok(std::sync::Arc::new(SessionStore::for_app(self, app_id)?))
    }
    fn app_id(&self) -> &str {
        SessionStore::app_id(self)
    }
    fn put_app<'a>(&'a self, app: &'a str, c: &'a Value, now: i64) -> BoxFuture<'a, Result<bool>> {
        Box::pin(SessionStore::put_app(self, app, c, now))
    }
    fn list_apps(&self) -> BoxFuture<'_, Result<Vec<StoredApp>>> {
        Box::pin(SessionStore::list_apps(self))
    }
    fn delete_app<'a>(&'a self, app: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(SessionStore::delete_app(self, app))
    }
}
