//! The embedded SQLite store, tessera's default (`sqlite://tessera.db`).
//!
//! # Design
//!
//! - **One writer, a few readers.** SQLite lets one connection write to a
//!   database file at a time. Instead of letting many pooled connections race
//!   for that lock (and spin on `SQLITE_BUSY`), the store keeps two pools on
//!   the same file: a *write pool* with exactly one connection, through which
//!   every `INSERT`, `UPDATE` and `DELETE` goes, and a *read pool* of a few
//!   connections (opened with `PRAGMA query_only`) for the `SELECT`s. Writers
//!   inside one process queue fairly, without busy-waiting, in the write
//!   pool; in WAL mode readers never wait for the writer.
//! - **Other processes on the same file** are kept apart by SQLite's own file
//!   locks with a `busy_timeout` of 5 s. Every session write is a single
//!   autocommit statement, which takes its write lock when it starts, so a
//!   conflicting writer waits in SQLite's busy handler instead of failing
//!   halfway through a transaction. The two multi-row key operations
//!   (`replace_keys`, `update_key_secrets`: emergency rotation, sealing and
//!   re-encrypting keys) are transactions opened with `BEGIN IMMEDIATE`,
//!   which likewise take the write lock up front.
//! - **Every operation is one statement.** `rotate_refresh` is a single
//!   `UPDATE … WHERE handle = ? AND current_hash = ? AND expires_at_ms > ?
//!   RETURNING …`: the compare-and-swap is the `WHERE` clause. Deletes return
//!   the handles they removed with `RETURNING handle`; a list of handles is
//!   passed as one JSON array parameter (`json_each`), so any number of
//!   handles costs one statement. `delete_expired` deletes a bounded batch
//!   chosen by a `LIMIT` sub-select.
//! - **Pragmas:** `journal_mode=WAL`, `synchronous=NORMAL` (durable across an
//!   application crash; a power cut may lose the last commits but never
//!   corrupts the file), `foreign_keys=ON`, `busy_timeout=5000`. WAL mode is
//!   switched on after connecting, with retries, not as a connect pragma:
//!   SQLite refuses the switch with an immediate `SQLITE_BUSY` (no busy
//!   handler) when two processes make it on a new file at the same moment.
//! - **Migrations run on open**, embedded in this file, inside one
//!   `BEGIN IMMEDIATE` transaction: two processes opening a new file at once
//!   take turns, and the second finds the schema up to date. The applied
//!   versions are kept in `tessera_schema_version`.
//! - **`STRICT` tables**: times are epoch-millisecond integers and SQLite
//!   refuses anything else.
//! - **In memory** (`sqlite::memory:`): each connection to an in-memory
//!   database would see a database of its own, so the store uses one
//!   connection for both roles and keeps it open for its whole life.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::sql_common::{
    Migration, app_from_row, check_schema_version, json_text, key_columns, key_from_row,
    session_columns, session_from_row,
};
use super::{
    DEFAULT_APP_ID, KeySecretUpdate, Rotation, SessionRecord, SessionStore, StoredApp, StoredKey,
    TenantFilter,
};
use crate::error::{Error, Result};

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in the read pool.
const READ_CONNECTIONS: u32 = 4;

/// The schema, one step per version. Never edit a released step: add one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "sessions and signing keys",
        statements: &[
            "CREATE TABLE tessera_sessions (
            handle                 TEXT    NOT NULL PRIMARY KEY,
            tenant_id              TEXT    NOT NULL,
            user_id                TEXT    NOT NULL,
            recipe_user_id         TEXT    NOT NULL,
            jwt_payload            TEXT    NOT NULL,
            session_data           TEXT    NOT NULL,
            created_at_ms          INTEGER NOT NULL,
            expires_at_ms          INTEGER NOT NULL,
            absolute_expires_at_ms INTEGER,
            current_hash           BLOB    NOT NULL,
            previous_hash          BLOB,
            current_sealed         BLOB,
            generation             INTEGER NOT NULL,
            rotated_at_ms          INTEGER NOT NULL,
            ip                     TEXT,
            user_agent             TEXT,
            device                 TEXT
        ) STRICT",
            "CREATE INDEX tessera_sessions_by_user ON tessera_sessions (user_id, tenant_id)",
            "CREATE INDEX tessera_sessions_by_expiry ON tessera_sessions (expires_at_ms)",
            "CREATE TABLE tessera_keys (
            kid             TEXT    NOT NULL PRIMARY KEY,
            purpose         TEXT    NOT NULL,
            generation      INTEGER NOT NULL,
            algorithm       TEXT    NOT NULL,
            secret          BLOB    NOT NULL,
            public_der      BLOB    NOT NULL,
            created_at_ms   INTEGER NOT NULL,
            not_before_ms   INTEGER NOT NULL,
            not_after_ms    INTEGER,
            retire_after_ms INTEGER,
            UNIQUE (purpose, generation)
        ) STRICT",
        ],
    },
    Migration {
        version: 2,
        description: "apps: every session and key row belongs to an app; existing rows to `public`",
        statements: &[
            "ALTER TABLE tessera_sessions ADD COLUMN app_id TEXT NOT NULL DEFAULT 'public'",
            "DROP INDEX tessera_sessions_by_user",
            "CREATE INDEX tessera_sessions_by_user ON tessera_sessions (app_id, user_id, tenant_id)",
            "CREATE TABLE tessera_keys_v2 (
            app_id          TEXT    NOT NULL,
            kid             TEXT    NOT NULL PRIMARY KEY,
            purpose         TEXT    NOT NULL,
            generation      INTEGER NOT NULL,
            algorithm       TEXT    NOT NULL,
            secret          BLOB    NOT NULL,
            public_der      BLOB    NOT NULL,
            created_at_ms   INTEGER NOT NULL,
            not_before_ms   INTEGER NOT NULL,
            not_after_ms    INTEGER,
            retire_after_ms INTEGER,
            UNIQUE (app_id, purpose, generation)
        ) STRICT",
            "INSERT INTO tessera_keys_v2 (app_id, kid, purpose, generation, algorithm, secret,
             public_der, created_at_ms, not_before_ms, not_after_ms, retire_after_ms)
         SELECT 'public', kid, purpose, generation, algorithm, secret, public_der,
             created_at_ms, not_before_ms, not_after_ms, retire_after_ms
         FROM tessera_keys",
            "DROP TABLE tessera_keys",
            "ALTER TABLE tessera_keys_v2 RENAME TO tessera_keys",
            "CREATE TABLE tessera_apps (
            app_id        TEXT    NOT NULL PRIMARY KEY,
            config        TEXT    NOT NULL,
            created_at_ms INTEGER NOT NULL
        ) STRICT",
        ],
    },
];

const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS tessera_schema_version (
    version       INTEGER NOT NULL PRIMARY KEY,
    description   TEXT    NOT NULL,
    applied_at_ms INTEGER NOT NULL
) STRICT";

const RECORD_VERSION: &str =
    "INSERT INTO tessera_schema_version (version, description, applied_at_ms)
     VALUES (?1, ?2, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))";

/// A [`SessionStore`] in one SQLite database file. Clones share the pools.
///
/// ```no_run
/// # async fn demo() -> tessera::Result<()> {
/// use tessera::store::SqliteStore;
///
/// // Creates the file (and its tables) if missing.
/// let store = SqliteStore::open("tessera.db").await?;
/// let manager = tessera::SessionManager::builder().store(store).build().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    /// Exactly one connection; every write goes through it.
    write: SqlitePool,
    /// Reads (`query_only` connections); the same pool as `write` in memory.
    read: SqlitePool,
    /// The file path, or `:memory:`; for `Debug`.
    location: Arc<str>,
    /// The app whose rows this view reads and writes (`public` unless
    /// [`SessionStore::for_app`] made it).
    app: Arc<str>,
    /// Whether [`SessionStore::close`] closes the pools: only the store
    /// that opened them does; app views share them.
    owner: bool,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .field("app", &self.app)
            .field("read_connections", &self.read.size())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it if missing) the database file at `path`, and brings
    /// its schema up to date.
    ///
    /// ```no_run
    /// # async fn demo() -> tessera::Result<()> {
    /// let store = tessera::store::SqliteStore::open("/var/lib/myapp/sessions.db").await?;
    /// # Ok(()) }
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let options = SqliteConnectOptions::new().filename(path);
        Self::open_file(options, path.display().to_string()).await
    }

    /// Opens the database a URL names: `sqlite://path/to/file.db` (relative
    /// to the working directory; `sqlite:///abs/path.db` for an absolute
    /// path), created if missing, or `sqlite::memory:` for a private
    /// in-memory database that lives as long as the store.
    ///
    /// ```no_run
    /// # async fn demo() -> tessera::Result<()> {
    /// use tessera::store::SqliteStore;
    ///
    /// let on_disk = SqliteStore::connect("sqlite://tessera.db").await?;
    /// let in_memory = SqliteStore::connect("sqlite::memory:").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self> {
        if !url.starts_with("sqlite:") {
            return Err(Error::InvalidInput(
                "a SQLite URL starts with `sqlite:`".to_owned(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::InvalidInput(format!("invalid SQLite URL: {e}")))?;
        if is_memory_url(url) {
            return Self::open_memory(options).await;
        }
        let location = options.get_filename().display().to_string();
        Self::open_file(options, location).await
    }

    /// Closes both pools, waiting for connections in use to be returned.
    /// Every later call fails with [`Error::Store`].
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    async fn open_file(options: SqliteConnectOptions, location: String) -> Result<Self> {
        if location.is_empty() {
            // SQLite would open a private temporary database per connection:
            // the read pool would not see what the write pool writes.
            return Err(Error::InvalidInput(
                "the SQLite file name is empty".to_owned(),
            ));
        }
        let base = options
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Normal);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(base.clone().create_if_missing(true))
            .await?;
        enable_wal(&write).await?;
        migrate(&write).await?;
        // The file exists and is in WAL mode (a persistent setting) by now.
        let read = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .test_before_acquire(false)
            .connect_lazy_with(base.pragma("query_only", "ON"));
        Ok(Self {
            write,
            read,
            location: location.into(),
            app: DEFAULT_APP_ID.into(),
            owner: true,
        })
    }

    async fn open_memory(options: SqliteConnectOptions) -> Result<Self> {
        // An in-memory database disappears with its last connection: keep
        // exactly one, forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(options.foreign_keys(true))
            .await?;
        migrate(&pool).await?;
        Ok(Self {
            write: pool.clone(),
            read: pool,
            location: ":memory:".into(),
            app: DEFAULT_APP_ID.into(),
            owner: true,
        })
    }
}

/// `sqlite::memory:`, `sqlite://:memory:` or any URL with `mode=memory`
/// (the forms `sqlx` treats as in-memory).
fn is_memory_url(url: &str) -> bool {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|p| p == "mode=memory")
}

/// Switches the file to WAL mode (a lasting property of the file) unless it
/// already is in it.
///
/// This is not left to a connect-time pragma because switching upgrades a
/// read lock to an exclusive one, and SQLite answers such an upgrade with
/// `SQLITE_BUSY` at once, without waiting in the busy handler: two processes
/// opening a new file together would see one of them fail. So the switch
/// runs on its own and is retried for up to [`BUSY_TIMEOUT`]; once any
/// process has switched, the others find the file in WAL mode already.
async fn enable_wal(pool: &SqlitePool) -> Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        let attempt: std::result::Result<String, sqlx::Error> =
            sqlx::query_scalar("PRAGMA journal_mode = WAL")
                .persistent(false)
                .fetch_one(pool)
                .await;
        match attempt {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                // E.g. a file system without shared memory. Still correct
                // (busy_timeout covers the extra locking), only slower.
                tracing::warn!(
                    mode,
                    "tessera: SQLite refused WAL mode; continuing without it"
                );
                return Ok(());
            }
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// `SQLITE_BUSY` in any of its extended forms.
fn is_busy(e: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == SQLITE_BUSY),
        _ => false,
    }
}

/// Brings the schema up to date inside one `BEGIN IMMEDIATE` transaction,
/// which takes the database's write lock at once: a second process opening
/// the same file waits (busy timeout) and then finds nothing left to do.
///
/// Statements go through `sqlx::query(..).persistent(false)`, not
/// `sqlx::raw_sql`: a `raw_sql(..).execute(&mut *tx)` makes this future
/// (and so the constructors') not `Send` for rustc, which would forbid
/// `tokio::spawn(SqliteStore::open(..))`. The unit test below guards that.
async fn migrate(pool: &SqlitePool) -> Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(CREATE_VERSION_TABLE)
        .persistent(false)
        .execute(&mut *tx)
        .await?;
    let current: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM tessera_schema_version")
            .fetch_one(&mut *tx)
            .await?;
    check_schema_version(current, MIGRATIONS)?;
    for step in MIGRATIONS.iter().filter(|m| m.version > current) {
        for statement in step.statements {
            sqlx::query(statement)
                .persistent(false)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(RECORD_VERSION)
            .bind(step.version)
            .bind(step.description)
            .execute(&mut *tx)
            .await?;
        tracing::info!(
            version = step.version,
            description = step.description,
            "tessera: applied SQLite schema migration"
        );
    }
    tx.commit().await?;
    Ok(())
}

const INSERT_SESSION: &str = concat!(
    "INSERT INTO tessera_sessions (",
    session_columns!(),
    ", app_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
     ON CONFLICT (handle) DO NOTHING"
);

const GET_SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM tessera_sessions WHERE handle = ?1 AND expires_at_ms > ?2 AND app_id = ?3"
);

const SESSION_EXISTS: &str =
    "SELECT 1 FROM tessera_sessions WHERE handle = ?1 AND expires_at_ms > ?2 AND app_id = ?3";

const GET_SESSION_DATA: &str = "SELECT session_data FROM tessera_sessions WHERE handle = ?1 AND expires_at_ms > ?2 AND app_id = ?3";

/// The compare-and-swap: the `WHERE` clause is the whole rule. The new idle
/// expiry is capped at the row's absolute end (`NULL < x` is not true, so a
/// session without one takes the new expiry as it is).
const ROTATE_REFRESH: &str = concat!(
    "UPDATE tessera_sessions
     SET current_hash = ?1, previous_hash = ?2, current_sealed = ?3, generation = ?4,
         rotated_at_ms = ?5,
         expires_at_ms = CASE WHEN absolute_expires_at_ms < ?6
                              THEN absolute_expires_at_ms ELSE ?6 END
     WHERE handle = ?7 AND current_hash = ?8 AND expires_at_ms > ?9 AND app_id = ?10
     RETURNING ",
    session_columns!()
);

const UPDATE_SESSION_DATA: &str = "UPDATE tessera_sessions SET session_data = ?1
     WHERE handle = ?2 AND expires_at_ms > ?3 AND app_id = ?4";

const UPDATE_JWT_PAYLOAD: &str = concat!(
    "UPDATE tessera_sessions SET jwt_payload = ?1
     WHERE handle = ?2 AND expires_at_ms > ?3 AND app_id = ?4
     RETURNING ",
    session_columns!()
);

const DELETE_SESSIONS_ALL_TENANTS: &str = "DELETE FROM tessera_sessions
     WHERE handle IN (SELECT value FROM json_each(?1)) AND app_id = ?2
     RETURNING handle";

const DELETE_SESSIONS_IN_TENANT: &str = "DELETE FROM tessera_sessions
     WHERE handle IN (SELECT value FROM json_each(?1)) AND tenant_id = ?2 AND app_id = ?3
     RETURNING handle";

const DELETE_USER_ALL_TENANTS: &str =
    "DELETE FROM tessera_sessions WHERE user_id = ?1 AND app_id = ?2 RETURNING handle";

const DELETE_USER_IN_TENANT: &str = "DELETE FROM tessera_sessions WHERE user_id = ?1 AND tenant_id = ?2 AND app_id = ?3 RETURNING handle";

const LIST_USER_ALL_TENANTS: &str = "SELECT handle FROM tessera_sessions
     WHERE user_id = ?1 AND expires_at_ms > ?2 AND app_id = ?3
     ORDER BY created_at_ms, handle";

const LIST_USER_IN_TENANT: &str = "SELECT handle FROM tessera_sessions
     WHERE user_id = ?1 AND expires_at_ms > ?2 AND tenant_id = ?3 AND app_id = ?4
     ORDER BY created_at_ms, handle";

/// A bounded batch: the sub-select walks the expiry index and stops at the
/// limit, so one statement never holds the write lock for long.
const DELETE_EXPIRED: &str = "DELETE FROM tessera_sessions
     WHERE handle IN (SELECT handle FROM tessera_sessions WHERE expires_at_ms <= ?1 LIMIT ?2)";

const LOAD_KEYS: &str = concat!(
    "SELECT ",
    key_columns!(),
    " FROM tessera_keys WHERE app_id = ?1 ORDER BY purpose, generation"
);

/// `DO NOTHING` without a conflict target covers both the `kid` primary key
/// and `UNIQUE (purpose, generation)`.
const INSERT_KEY: &str = concat!(
    "INSERT INTO tessera_keys (",
    key_columns!(),
    ", app_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT DO NOTHING"
);

const KEY_IDS: &str = "SELECT kid FROM tessera_keys WHERE app_id = ?1";

const DELETE_KEY: &str = "DELETE FROM tessera_keys WHERE kid = ?1 AND app_id = ?2";

/// The compare-and-swap of a stored secret: the `WHERE` clause.
const UPDATE_KEY_SECRET: &str =
    "UPDATE tessera_keys SET secret = ?1 WHERE kid = ?2 AND secret = ?3 AND app_id = ?4";

const DELETE_RETIRED_KEYS: &str =
    "DELETE FROM tessera_keys WHERE retire_after_ms <= ?1 AND app_id = ?2";

const APP_EXISTS: &str = "SELECT 1 FROM tessera_apps WHERE app_id = ?1";

const INSERT_APP: &str =
    "INSERT INTO tessera_apps (app_id, config, created_at_ms) VALUES (?1, ?2, ?3)";

const UPDATE_APP: &str = "UPDATE tessera_apps SET config = ?2 WHERE app_id = ?1";

const LIST_APPS: &str = "SELECT app_id, config FROM tessera_apps ORDER BY app_id";

const DELETE_APP_SESSIONS: &str = "DELETE FROM tessera_sessions WHERE app_id = ?1";

const DELETE_APP_KEYS: &str = "DELETE FROM tessera_keys WHERE app_id = ?1";

const DELETE_APP: &str = "DELETE FROM tessera_apps WHERE app_id = ?1";

impl SessionStore for SqliteStore {
    async fn close(&self) {
        // The inherent method: closes the pools (an app view leaves them).
        if self.owner {
            SqliteStore::close(self).await;
        }
    }

    fn for_app(&self, app_id: &str) -> Result<Self> {
        Ok(Self {
            app: app_id.into(),
            owner: false,
            ..self.clone()
        })
    }

    fn app_id(&self) -> &str {
        &self.app
    }

    async fn put_app(&self, app_id: &str, config: &Value, now_ms: i64) -> Result<bool> {
        let config = json_text(config)?;
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        let exists = sqlx::query(APP_EXISTS)
            .bind(app_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let query = if exists {
            sqlx::query(UPDATE_APP).bind(app_id).bind(config)
        } else {
            sqlx::query(INSERT_APP)
                .bind(app_id)
                .bind(config)
                .bind(now_ms)
        };
        query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(!exists)
    }

    async fn list_apps(&self) -> Result<Vec<StoredApp>> {
        let rows = sqlx::query(LIST_APPS).fetch_all(&self.read).await?;
        rows.iter().map(app_from_row).collect()
    }

    async fn delete_app(&self, app_id: &str) -> Result<bool> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        for statement in [DELETE_APP_SESSIONS, DELETE_APP_KEYS] {
            sqlx::query(statement)
                .bind(app_id)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query(DELETE_APP)
            .bind(app_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_session(&self, record: &SessionRecord) -> Result<()> {
        let refresh = &record.refresh;
        let done = sqlx::query(INSERT_SESSION)
            .bind(&record.handle)
            .bind(&record.tenant_id)
            .bind(&record.user_id)
            .bind(&record.recipe_user_id)
            .bind(json_text(&record.jwt_payload)?)
            .bind(json_text(&record.session_data)?)
            .bind(record.created_at_ms)
            .bind(record.expires_at_ms)
            .bind(record.absolute_expires_at_ms)
            .bind(&refresh.current_hash[..])
            .bind(refresh.previous_hash.as_ref().map(|h| &h[..]))
            .bind(refresh.current_sealed.as_deref())
            .bind(refresh.generation)
            .bind(refresh.rotated_at_ms)
            .bind(record.metadata.ip.as_deref())
            .bind(record.metadata.user_agent.as_deref())
            .bind(record.metadata.device.as_deref())
            .bind(&*self.app)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::InvalidInput("session handle already exists".into()));
        }
        Ok(())
    }

    async fn get_session(&self, handle: &str, now_ms: i64) -> Result<Option<SessionRecord>> {
        sqlx::query(GET_SESSION)
            .bind(handle)
            .bind(now_ms)
            .bind(&*self.app)
            .fetch_optional(&self.read)
            .await?
            .map(|row| session_from_row(&row))
            .transpose()
    }

    async fn session_exists(&self, handle: &str, now_ms: i64) -> Result<bool> {
        let row = sqlx::query(SESSION_EXISTS)
            .bind(handle)
            .bind(now_ms)
            .bind(&*self.app)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    async fn get_session_data(&self, handle: &str, now_ms: i64) -> Result<Option<Value>> {
        let text: Option<String> = sqlx::query_scalar(GET_SESSION_DATA)
            .bind(handle)
            .bind(now_ms)
            .bind(&*self.app)
            .fetch_optional(&self.read)
            .await?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| {
                Error::CorruptData(format!("session {handle}: session_data is not JSON: {e}"))
            })
        })
        .transpose()
    }

    async fn rotate_refresh(
        &self,
        handle: &str,
        expected_current_hash: &[u8; 32],
        rotation: &Rotation,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>> {
        let new = &rotation.refresh;
        sqlx::query(ROTATE_REFRESH)
            .bind(&new.current_hash[..])
            .bind(new.previous_hash.as_ref().map(|h| &h[..]))
            .bind(new.current_sealed.as_deref())
            .bind(new.generation)
            .bind(new.rotated_at_ms)
            .bind(rotation.expires_at_ms)
            .bind(handle)
            .bind(&expected_current_hash[..])
            .bind(now_ms)
            .bind(&*self.app)
            .fetch_optional(&self.write)
            .await?
            .map(|row| session_from_row(&row))
            .transpose()
    }

    async fn update_session_data(&self, handle: &str, data: &Value, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(UPDATE_SESSION_DATA)
            .bind(json_text(data)?)
            .bind(handle)
            .bind(now_ms)
            .bind(&*self.app)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn update_jwt_payload(
        &self,
        handle: &str,
        payload: &Value,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>> {
        sqlx::query(UPDATE_JWT_PAYLOAD)
            .bind(json_text(payload)?)
            .bind(handle)
            .bind(now_ms)
            .bind(&*self.app)
            .fetch_optional(&self.write)
            .await?
            .map(|row| session_from_row(&row))
            .transpose()
    }

    async fn delete_sessions(
        &self,
        handles: &[String],
        tenant: TenantFilter<'_>,
    ) -> Result<Vec<String>> {
        if handles.is_empty() {
            return Ok(Vec::new());
        }
        let handles = serde_json::to_string(handles)
            .map_err(|e| Error::InvalidInput(format!("session handles: {e}")))?;
        let query = match tenant {
            TenantFilter::All => sqlx::query(DELETE_SESSIONS_ALL_TENANTS)
                .bind(handles)
                .bind(&*self.app),
            TenantFilter::Only(t) => sqlx::query(DELETE_SESSIONS_IN_TENANT)
                .bind(handles)
                .bind(t)
                .bind(&*self.app),
        };
        let rows = query.fetch_all(&self.write).await?;
        handles_of(&rows)
    }

    async fn delete_sessions_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
    ) -> Result<Vec<String>> {
        let query = match tenant {
            TenantFilter::All => sqlx::query(DELETE_USER_ALL_TENANTS)
                .bind(user_id)
                .bind(&*self.app),
            TenantFilter::Only(t) => sqlx::query(DELETE_USER_IN_TENANT)
                .bind(user_id)
                .bind(t)
                .bind(&*self.app),
        };
        let rows = query.fetch_all(&self.write).await?;
        handles_of(&rows)
    }

    async fn list_handles_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
        now_ms: i64,
    ) -> Result<Vec<String>> {
        let query = match tenant {
            TenantFilter::All => sqlx::query(LIST_USER_ALL_TENANTS)
                .bind(user_id)
                .bind(now_ms)
                .bind(&*self.app),
            TenantFilter::Only(t) => sqlx::query(LIST_USER_IN_TENANT)
                .bind(user_id)
                .bind(now_ms)
                .bind(t)
                .bind(&*self.app),
        };
        let rows = query.fetch_all(&self.read).await?;
        handles_of(&rows)
    }

    async fn delete_expired(&self, now_ms: i64, limit: u32) -> Result<u64> {
        let done = sqlx::query(DELETE_EXPIRED)
            .bind(now_ms)
            .bind(i64::from(limit))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    async fn load_keys(&self) -> Result<Vec<StoredKey>> {
        let rows = sqlx::query(LOAD_KEYS)
            .bind(&*self.app)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<bool> {
        let done = insert_key_query(key, &self.app)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_retired_keys(&self, now_ms: i64) -> Result<u64> {
        let done = sqlx::query(DELETE_RETIRED_KEYS)
            .bind(now_ms)
            .bind(&*self.app)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    async fn key_ids(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(KEY_IDS)
            .bind(&*self.app)
            .fetch_all(&self.write)
            .await?;
        rows.iter()
            .map(|row| row.try_get("kid").map_err(Error::from))
            .collect()
    }

    async fn replace_keys(&self, remove: &[String], add: &[StoredKey]) -> Result<bool> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        for kid in remove {
            sqlx::query(DELETE_KEY)
                .bind(kid)
                .bind(&*self.app)
                .execute(&mut *tx)
                .await?;
        }
        for key in add {
            if insert_key_query(key, &self.app)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 0
            {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn update_key_secrets(&self, updates: &[KeySecretUpdate]) -> Result<bool> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        for u in updates {
            let done = sqlx::query(UPDATE_KEY_SECRET)
                .bind(&u.secret[..])
                .bind(&u.kid)
                .bind(&u.expected[..])
                .bind(&*self.app)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// `INSERT_KEY` with `key` bound.
fn insert_key_query<'a>(
    key: &'a StoredKey,
    app: &'a str,
) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'a>> {
    sqlx::query(INSERT_KEY)
        .bind(&key.kid)
        .bind(key.purpose.as_str())
        .bind(key.generation)
        .bind(&key.algorithm)
        .bind(&key.secret[..])
        .bind(&key.public_der[..])
        .bind(key.created_at_ms)
        .bind(key.not_before_ms)
        .bind(key.not_after_ms)
        .bind(key.retire_after_ms)
        .bind(app)
}

/// The `handle` column of each row.
fn handles_of(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<String>> {
    rows.iter()
        .map(|row| row.try_get("handle").map_err(Error::from))
        .collect()
}

#[cfg(test)]
mod send_check {
    fn assert_send<T: Send>(_: T) {}

    #[test]
    fn constructors_are_send() {
        assert_send(super::SqliteStore::open("x"));
        assert_send(super::SqliteStore::connect("sqlite::memory:"));
    }
}
