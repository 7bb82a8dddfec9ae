//! The embedded SQLite store, tessera's default (`sqlite://tessera.db`).
//!
//! # Design
//!
//! - **Statements run where the request runs.** A session read or write on
//!   SQLite takes a few microseconds, less than handing it to another thread
//!   and back (the design of sqlx's SQLite driver, where two context
//!   switches per statement cost more than the statement). So the store
//!   holds its own `rusqlite` connections and runs each statement on the
//!   calling task's thread, with the statement prepared once per connection
//!   and cached.
//! - **One writer, a few readers.** SQLite lets one connection write to a
//!   database file at a time. Every `INSERT`, `UPDATE` and `DELETE` goes
//!   through one writer connection behind a fair async mutex: writers inside
//!   one process queue without busy-waiting and without blocking a worker
//!   thread. `SELECT`s take a connection from a small pool of readers (opened
//!   with `PRAGMA query_only`); in WAL mode readers never wait for the writer.
//! - **Other processes on the same file** are kept apart by SQLite's own file
//!   locks. A statement first runs with no busy handler; if another process
//!   holds the lock (`SQLITE_BUSY`, nothing was changed), it runs again on
//!   tokio's blocking pool with a `busy_timeout` of 5 s, so a wait for
//!   another process never stalls the async workers. Every session write is
//!   a single autocommit statement, which takes its write lock when it
//!   starts. The multi-row operations (`replace_keys`, `update_key_secrets`,
//!   apps) are transactions opened with `BEGIN IMMEDIATE`, which likewise
//!   take the write lock up front, and roll back on any error.
//! - **Every operation is one statement.** `rotate_refresh` is a single
//!   `UPDATE … WHERE handle = ? AND current_hash = ? AND expires_at_ms > ?
//!   RETURNING …`: the compare-and-swap is the `WHERE` clause. Deletes return
//!   the handles they removed with `RETURNING handle`; a list of handles is
//!   passed as one JSON array parameter (`json_each`), so any number of
//!   handles costs one statement. `delete_expired` deletes a bounded batch
//!   chosen by a `LIMIT` sub-select.
//! - **Pragmas:** `journal_mode=WAL`, `synchronous=NORMAL` (durable across an
//!   application crash: a write is in the WAL file, in the OS's page cache,
//!   before the call returns; a power cut may lose the last commits but never
//!   corrupts the file), `foreign_keys=ON`. WAL mode is switched on after
//!   connecting, with retries: SQLite refuses the switch with an immediate
//!   `SQLITE_BUSY` (no busy handler) when two processes make it on a new file
//!   at the same moment.
//! - **Checkpoints run on a thread of their own** (`tessera-ckpt`, see
//!   `sqlite/checkpoint.rs`). SQLite's automatic checkpoint runs inside the
//!   commit that crosses 1000 WAL pages, on the committing connection: here
//!   the writer, on a tokio worker, with the writer mutex held; it made about
//!   three `fsync`s per 1000 writes on the worker (measured with `strace`
//!   under the data load, BENCHMARKS.md). The request connections therefore
//!   run with `wal_autocheckpoint=0`, and the store's checkpointer thread
//!   checkpoints every 1000 writes (or 1 s after the last write): the bulk
//!   without the writer mutex, the rest and the WAL restart with it (writers
//!   queue on the async mutex; no worker thread waits). Writers wait for it
//!   once 8000 writes went into the WAL since its last cycle, so the WAL is
//!   bounded. Dropping or closing the store stops and joins the thread.
//!   Durability is unchanged: checkpoints sync the WAL and the database file
//!   as SQLite's own do.
//! - **Migrations run on open**, embedded in this file, inside one
//!   `BEGIN IMMEDIATE` transaction: two processes opening a new file at once
//!   take turns, and the second finds the schema up to date. The applied
//!   versions are kept in `tessera_schema_version`.
//! - **`STRICT` tables**: times are epoch-millisecond integers and SQLite
//!   refuses anything else.
//! - **In memory** (`sqlite::memory:`): each connection to an in-memory
//!   database would see a database of its own, so the store uses its one
//!   writer connection for reads too.
//! - **Errors**: SQLite's errors are reported as [`Error::Store`] holding a
//!   `sqlx::Error::Database` whose `code()` is SQLite's extended result code
//!   (as the store's sqlx-based predecessor reported them); a column of the
//!   wrong type is [`Error::CorruptData`].

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use rusqlite::types::FromSql;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use serde_json::Value;
use tokio::sync::Mutex as AsyncMutex;

use super::sql_common::{
    Migration, check_schema_version, hash, json_text, key_columns, parse_json, session_columns,
};
use super::{
    DEFAULT_APP_ID, KeyPurpose, KeySecretUpdate, RefreshState, Rotation, SessionMetadata,
    SessionRecord, SessionStore, StoredApp, StoredKey, TenantFilter,
};
use crate::error::{Error, Result};

mod checkpoint;

use checkpoint::Checkpointer;

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle reader connections kept open; more are opened when more statements
/// read at once (each worker thread runs at most one at a time, plus the
/// rare retry on the blocking pool) and closed again when returned.
const READ_CONNECTIONS: usize = 4;

/// Prepared statements cached per connection (the store has about 30).
const STATEMENT_CACHE: usize = 48;

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

/// A [`SessionStore`] in one SQLite database file. Clones share the
/// connections.
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
    /// The connections, shared by clones and app views.
    shared: Arc<Shared>,
    /// The app whose rows this view reads and writes (`public` unless
    /// [`SessionStore::for_app`] made it).
    app: Arc<str>,
    /// Whether [`SessionStore::close`] closes the connections: only the
    /// store that opened them does; app views share them.
    owner: bool,
}

/// What clones of one store share.
struct Shared {
    /// The WAL checkpointer (a file database whose thread started); first,
    /// so that dropping the store stops its thread before the connections
    /// close.
    checkpointer: Option<Checkpointer>,
    /// The one connection every write goes through; `None` once closed.
    writer: checkpoint::Writer,
    /// Reader connections; `None` in memory, where reads use the writer.
    readers: Option<ReadPool>,
    /// The file path, or `:memory:`; for `Debug`.
    location: String,
}

/// Idle `query_only` connections to the file, opened on demand.
struct ReadPool {
    path: PathBuf,
    idle: StdMutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl ReadPool {
    /// An idle reader, or a new one.
    fn take(&self) -> Result<Connection> {
        let idle = {
            let mut idle = lock(&self.idle);
            if self.closed.load(Ordering::Acquire) {
                return Err(closed());
            }
            idle.pop()
        };
        match idle {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path),
        }
    }

    /// Returns a reader after use; closed if enough are idle already.
    fn give(&self, conn: Connection) {
        let mut idle = lock(&self.idle);
        if !self.closed.load(Ordering::Acquire) && idle.len() < READ_CONNECTIONS {
            idle.push(conn);
        }
    }

    /// Closes the idle readers and refuses to hand out more.
    fn close(&self) -> Vec<Connection> {
        let mut idle = lock(&self.idle);
        self.closed.store(true, Ordering::Release);
        std::mem::take(&mut *idle)
    }

    fn idle_count(&self) -> usize {
        lock(&self.idle).len()
    }
}

/// A std mutex held for a push or a pop; a panic elsewhere while it was
/// held leaves a list that is still valid, so poisoning is ignored.
fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.shared.location)
            .field("app", &self.app)
            .field(
                "idle_readers",
                &self.shared.readers.as_ref().map_or(0, ReadPool::idle_count),
            )
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
        Self::open_file(path.as_ref().to_path_buf()).await
    }

    /// Opens the database a URL names: `sqlite://path/to/file.db` (relative
    /// to the working directory; `sqlite:///abs/path.db` for an absolute
    /// path; `%XX` escapes are decoded), created if missing, or
    /// `sqlite::memory:` (also `sqlite://:memory:`, or any URL with
    /// `?mode=memory`) for a private in-memory database that lives as long
    /// as the store. The only query parameters understood are `mode=memory`
    /// and `mode=rwc` (the default); any other is refused.
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
        match parse_url(url)? {
            Target::Memory => Self::open_memory().await,
            Target::File(path) => Self::open_file(path).await,
        }
    }

    /// Stops the WAL checkpointer thread and closes the connections (the
    /// last one checkpoints the WAL into the database file), waiting for a
    /// write or checkpoint in progress to finish. Every later call fails with
    /// [`Error::Store`].
    pub async fn close(&self) {
        if self.shared.checkpointer.is_some() {
            // Joins the thread (at most one cycle): blocking.
            let shared = Arc::clone(&self.shared);
            let _ = run_blocking(move || {
                if let Some(checkpointer) = &shared.checkpointer {
                    checkpointer.stop();
                }
                Ok(())
            })
            .await;
        }
        let readers = self
            .shared
            .readers
            .as_ref()
            .map(ReadPool::close)
            .unwrap_or_default();
        let writer = self.shared.writer.lock().await.take();
        // Closing the last connection checkpoints: file I/O, off the workers.
        let _ = run_blocking(move || {
            drop(readers);
            drop(writer);
            Ok(())
        })
        .await;
    }

    async fn open_file(path: PathBuf) -> Result<Self> {
        if path.as_os_str().is_empty() {
            // SQLite would open a private temporary database per connection:
            // the readers would not see what the writer writes.
            return Err(Error::InvalidInput(
                "the SQLite file name is empty".to_owned(),
            ));
        }
        let (writer, checkpointer, path) = run_blocking(move || {
            let writer: checkpoint::Writer = Arc::new(AsyncMutex::new(Some(open_writer(&path)?)));
            let checkpointer = start_checkpointer(&path, &writer)?;
            Ok((writer, checkpointer, path))
        })
        .await?;
        Ok(Self::new(writer, checkpointer, Some(path)))
    }

    async fn open_memory() -> Result<Self> {
        let writer = run_blocking(|| {
            let mut conn = Connection::open_with_flags(":memory:", flags(true))?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            migrate(&mut conn)?;
            configure_for_requests(&conn)?;
            Ok(conn)
        })
        .await?;
        Ok(Self::new(
            Arc::new(AsyncMutex::new(Some(writer))),
            None,
            None,
        ))
    }

    fn new(
        writer: checkpoint::Writer,
        checkpointer: Option<Checkpointer>,
        path: Option<PathBuf>,
    ) -> Self {
        let location = path
            .as_ref()
            .map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string());
        let readers = path.map(|path| ReadPool {
            path,
            idle: StdMutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        });
        Self {
            shared: Arc::new(Shared {
                checkpointer,
                writer,
                readers,
                location,
            }),
            app: DEFAULT_APP_ID.into(),
            owner: true,
        }
    }

    /// Runs `f` on the writer connection: first at once on this thread with
    /// no busy handler, and, if another process holds the database lock
    /// (nothing was changed), again on the blocking pool with the full busy
    /// timeout. `f` must leave no transaction open when it fails.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut Connection) -> Result<T> + Send + 'static,
    {
        let checkpointer = self.shared.checkpointer.as_ref();
        let mut guard = loop {
            let guard = Arc::clone(&self.shared.writer).lock_owned().await;
            match checkpointer {
                // The WAL is at its bound: wait for the checkpointer.
                Some(c) if c.must_wait() => {
                    let ended = c.cycle_ended();
                    drop(guard);
                    ended.await;
                }
                _ => break guard,
            }
        };
        let first = match guard.as_mut() {
            Some(conn) => f(conn),
            None => return Err(closed()),
        };
        let result = match first {
            Err(e) if is_busy(&e) => {
                run_blocking(move || match guard.as_mut() {
                    Some(conn) => patiently(conn, &f),
                    None => Err(closed()),
                })
                .await
            }
            other => other,
        };
        if let (Ok(_), Some(c)) = (&result, checkpointer) {
            // After the mutex was released: a count, not an ordering.
            c.wrote();
        }
        result
    }

    /// Runs `f` on a reader connection (the writer in memory), as
    /// [`SqliteStore::write`] does.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut Connection) -> Result<T> + Send + 'static,
    {
        let Some(pool) = &self.shared.readers else {
            return self.write(f).await;
        };
        let mut conn = pool.take()?;
        match f(&mut conn) {
            Err(e) if is_busy(&e) => {
                let shared = Arc::clone(&self.shared);
                run_blocking(move || {
                    let result = patiently(&mut conn, &f);
                    if let Some(pool) = &shared.readers {
                        pool.give(conn);
                    }
                    result
                })
                .await
            }
            other => {
                pool.give(conn);
                other
            }
        }
    }
}

/// Runs `f` with the busy timeout on (on the blocking pool), then turns it
/// off again.
fn patiently<T>(conn: &mut Connection, f: &impl Fn(&mut Connection) -> Result<T>) -> Result<T> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let result = f(conn);
    conn.busy_timeout(Duration::ZERO)?;
    result
}

/// Runs blocking work on tokio's blocking pool, or right here outside a
/// runtime.
async fn run_blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.spawn_blocking(f).await.map_err(|e| {
            tracing::error!(error = %e, "tessera: SQLite task failed");
            Error::Store(sqlx::Error::WorkerCrashed)
        })?,
        Err(_) => f(),
    }
}

/// Open flags: read-write (creating the file for the writer), no URI
/// parsing of the file name, no SQLite mutex (each connection is used by
/// one thread at a time, behind the store's own locks).
fn flags(create: bool) -> OpenFlags {
    let base = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        base | OpenFlags::SQLITE_OPEN_CREATE
    } else {
        base
    }
}

/// The settings of a connection that serves requests: no busy handler (see
/// [`SqliteStore::write`]) and a statement cache.
fn configure_for_requests(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Opens the writer: creates the file if missing, switches it to WAL mode,
/// and migrates the schema. Blocking.
fn open_writer(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open_with_flags(path, flags(true))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    enable_wal(&conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(&mut conn)?;
    configure_for_requests(&conn)?;
    Ok(conn)
}

/// Starts the WAL checkpointer of a file database and turns SQLite's
/// automatic checkpoint off on the writer; if the thread cannot start, the
/// automatic checkpoint stays on. Blocking.
fn start_checkpointer(path: &Path, writer: &checkpoint::Writer) -> Result<Option<Checkpointer>> {
    let guard = writer.blocking_lock();
    let Some(conn) = guard.as_ref() else {
        return Err(closed());
    };
    checkpoint::configure_writer(conn)?;
    match Checkpointer::start(path, writer) {
        Ok(checkpointer) => Ok(Some(checkpointer)),
        Err(e) => {
            tracing::warn!(error = %e, "tessera: SQLite checkpointer not started; SQLite checkpoints in commits");
            checkpoint::configure_writer_without(conn)?;
            Ok(None)
        }
    }
}

/// Opens one more reader on a file that exists and is in WAL mode.
fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags(false))?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    configure_for_requests(&conn)?;
    Ok(conn)
}

/// What a URL names.
enum Target {
    Memory,
    File(PathBuf),
}

fn parse_url(url: &str) -> Result<Target> {
    let invalid = |why: &str| Error::InvalidInput(format!("invalid SQLite URL: {why}"));
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(Error::InvalidInput(
            "a SQLite URL starts with `sqlite:`".to_owned(),
        ));
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut memory = database == ":memory:";
    for param in query.split('&').filter(|p| !p.is_empty()) {
        match param {
            "mode=memory" => memory = true,
            "mode=rwc" => {}
            other => return Err(invalid(&format!("unsupported parameter `{other}`"))),
        }
    }
    if memory {
        return Ok(Target::Memory);
    }
    let path = percent_decode(database).ok_or_else(|| invalid("bad %-escape in the path"))?;
    if path.is_empty() {
        return Err(Error::InvalidInput(
            "the SQLite file name is empty".to_owned(),
        ));
    }
    Ok(Target::File(PathBuf::from(path)))
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Switches the file to WAL mode (a lasting property of the file) unless it
/// already is in it. Blocking.
///
/// This is not left to the busy handler because switching upgrades a read
/// lock to an exclusive one, and SQLite answers such an upgrade with
/// `SQLITE_BUSY` at once: two processes opening a new file together would
/// see one of them fail. So the switch is retried for up to
/// [`BUSY_TIMEOUT`]; once any process has switched, the others find the
/// file in WAL mode already.
fn enable_wal(conn: &Connection) -> Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        let attempt: Result<String> = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(Error::from);
        match attempt {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                // E.g. a file system without shared memory. Still correct
                // (the busy timeout covers the extra locking), only slower.
                tracing::warn!(
                    mode,
                    "tessera: SQLite refused WAL mode; continuing without it"
                );
                return Ok(());
            }
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Brings the schema up to date inside one `BEGIN IMMEDIATE` transaction,
/// which takes the database's write lock at once: a second process opening
/// the same file waits (busy timeout) and then finds nothing left to do.
/// Blocking.
fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(CREATE_VERSION_TABLE)?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM tessera_schema_version",
        [],
        |row| row.get(0),
    )?;
    check_schema_version(current, MIGRATIONS)?;
    for step in MIGRATIONS.iter().filter(|m| m.version > current) {
        for statement in step.statements {
            tx.execute_batch(statement)?;
        }
        tx.execute(RECORD_VERSION, params![step.version, step.description])?;
        tracing::info!(
            version = step.version,
            description = step.description,
            "tessera: applied SQLite schema migration"
        );
    }
    tx.commit()?;
    Ok(())
}

/// A SQLite error in the shape the store has always reported:
/// `sqlx::Error::Database`, `code()` the extended result code.
#[derive(Debug)]
struct SqliteError {
    code: Option<i32>,
    message: String,
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "(code: {code}) {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SqliteError {}

impl sqlx::error::DatabaseError for SqliteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|c| Cow::Owned(c.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use sqlx::error::ErrorKind;
        match self.code {
            Some(1555 | 2067) => ErrorKind::UniqueViolation,
            Some(787) => ErrorKind::ForeignKeyViolation,
            Some(1299) => ErrorKind::NotNullViolation,
            Some(275) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        match e {
            E::InvalidColumnType(..)
            | E::FromSqlConversionFailure(..)
            | E::IntegralValueOutOfRange(..)
            | E::Utf8Error(_) => Error::CorruptData(format!("column undecodable: {e}")),
            E::SqliteFailure(failure, message) => {
                let message = message.unwrap_or_else(|| failure.to_string());
                database_error(Some(failure.extended_code), message)
            }
            other => database_error(None, other.to_string()),
        }
    }
}

impl From<rusqlite::types::FromSqlError> for Error {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        Error::CorruptData(format!("column undecodable: {e}"))
    }
}

fn database_error(code: Option<i32>, message: String) -> Error {
    Error::Store(sqlx::Error::Database(Box::new(SqliteError {
        code,
        message,
    })))
}

/// What every call after [`SqliteStore::close`] fails with.
fn closed() -> Error {
    Error::Store(sqlx::Error::PoolClosed)
}

/// `SQLITE_BUSY` in any of its extended forms.
fn is_busy(e: &Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    match e {
        Error::Store(sqlx::Error::Database(db)) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == SQLITE_BUSY),
        _ => false,
    }
}

/// A column by index, typed; a wrong type is [`Error::CorruptData`].
fn col<T: FromSql>(row: &rusqlite::Row<'_>, index: usize) -> Result<T> {
    Ok(row.get(index)?)
}

/// A JSON text column, parsed without copying the text first.
fn json_col(row: &rusqlite::Row<'_>, index: usize, what: &str, handle: &str) -> Result<Value> {
    let text = row.get_ref(index)?.as_str()?;
    parse_json(text, what, handle)
}

/// Decodes a row selected with `session_columns!()`.
fn session_from_row(row: &rusqlite::Row<'_>) -> Result<SessionRecord> {
    let handle: String = col(row, 0)?;
    let current_hash: Vec<u8> = col(row, 9)?;
    let previous_hash: Option<Vec<u8>> = col(row, 10)?;
    Ok(SessionRecord {
        tenant_id: col(row, 1)?,
        user_id: col(row, 2)?,
        recipe_user_id: col(row, 3)?,
        jwt_payload: json_col(row, 4, "jwt_payload", &handle)?,
        session_data: json_col(row, 5, "session_data", &handle)?,
        created_at_ms: col(row, 6)?,
        expires_at_ms: col(row, 7)?,
        absolute_expires_at_ms: col(row, 8)?,
        refresh: RefreshState {
            current_hash: hash(&current_hash, "current_hash", &handle)?,
            previous_hash: previous_hash
                .map(|h| hash(&h, "previous_hash", &handle))
                .transpose()?,
            current_sealed: col(row, 11)?,
            generation: col(row, 12)?,
            rotated_at_ms: col(row, 13)?,
        },
        metadata: SessionMetadata {
            ip: col(row, 14)?,
            user_agent: col(row, 15)?,
            device: col(row, 16)?,
        },
        handle,
    })
}

/// Decodes a row selected with `key_columns!()`.
fn key_from_row(row: &rusqlite::Row<'_>) -> Result<StoredKey> {
    let kid: String = col(row, 0)?;
    let purpose: String = col(row, 1)?;
    let purpose = KeyPurpose::parse(&purpose)
        .ok_or_else(|| Error::CorruptData(format!("key {kid}: unknown purpose `{purpose}`")))?;
    Ok(StoredKey {
        purpose,
        generation: col(row, 2)?,
        algorithm: col(row, 3)?,
        secret: col(row, 4)?,
        public_der: col(row, 5)?,
        created_at_ms: col(row, 6)?,
        not_before_ms: col(row, 7)?,
        not_after_ms: col(row, 8)?,
        retire_after_ms: col(row, 9)?,
        kid,
    })
}

/// Decodes a row selected as `app_id, config` from `tessera_apps`.
fn app_from_row(row: &rusqlite::Row<'_>) -> Result<StoredApp> {
    let app_id: String = col(row, 0)?;
    let config = row.get_ref(1)?.as_str()?;
    let config = serde_json::from_str(config)
        .map_err(|e| Error::CorruptData(format!("app {app_id}: config is not JSON: {e}")))?;
    Ok(StoredApp { app_id, config })
}

/// Runs a statement that returns at most one row (a `SELECT` by key or an
/// `UPDATE … RETURNING`), decodes it, and steps the statement to its end so
/// that an autocommit write is committed (and its errors seen) before this
/// returns.
fn one_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let first = match rows.next()? {
        Some(row) => Some(decode(row)?),
        None => return Ok(None),
    };
    while rows.next()?.is_some() {}
    Ok(first)
}

/// Runs a statement and decodes every row.
fn all_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Runs a statement that returns no rows; the number of rows changed.
fn execute(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

/// The `handle` column of a row.
fn handle_of(row: &rusqlite::Row<'_>) -> Result<String> {
    col(row, 0)
}

impl SessionStore for SqliteStore {
    async fn close(&self) {
        // The inherent method: closes the connections (an app view leaves
        // them).
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
        let app_id = app_id.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists = one_row(&tx, APP_EXISTS, params![app_id], |_| Ok(()))?.is_some();
            if exists {
                execute(&tx, UPDATE_APP, params![app_id, config])?;
            } else {
                execute(&tx, INSERT_APP, params![app_id, config, now_ms])?;
            }
            tx.commit()?;
            Ok(!exists)
        })
        .await
    }

    async fn list_apps(&self) -> Result<Vec<StoredApp>> {
        self.read(|conn| all_rows(conn, LIST_APPS, [], app_from_row))
            .await
    }

    async fn delete_app(&self, app_id: &str) -> Result<bool> {
        let app_id = app_id.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for statement in [DELETE_APP_SESSIONS, DELETE_APP_KEYS] {
                execute(&tx, statement, params![app_id])?;
            }
            let deleted = execute(&tx, DELETE_APP, params![app_id])?;
            tx.commit()?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn insert_session(&self, record: &SessionRecord) -> Result<()> {
        let jwt_payload = json_text(&record.jwt_payload)?;
        let session_data = json_text(&record.session_data)?;
        let record = record.clone();
        let app = Arc::clone(&self.app);
        let inserted = self
            .write(move |conn| {
                let refresh = &record.refresh;
                execute(
                    conn,
                    INSERT_SESSION,
                    params![
                        record.handle,
                        record.tenant_id,
                        record.user_id,
                        record.recipe_user_id,
                        jwt_payload,
                        session_data,
                        record.created_at_ms,
                        record.expires_at_ms,
                        record.absolute_expires_at_ms,
                        &refresh.current_hash[..],
                        refresh.previous_hash.as_ref().map(|h| &h[..]),
                        refresh.current_sealed.as_deref(),
                        refresh.generation,
                        refresh.rotated_at_ms,
                        record.metadata.ip.as_deref(),
                        record.metadata.user_agent.as_deref(),
                        record.metadata.device.as_deref(),
                        &*app,
                    ],
                )
            })
            .await?;
        if inserted == 0 {
            return Err(Error::InvalidInput("session handle already exists".into()));
        }
        Ok(())
    }

    async fn get_session(&self, handle: &str, now_ms: i64) -> Result<Option<SessionRecord>> {
        let handle = handle.to_owned();
        let app = Arc::clone(&self.app);
        self.read(move |conn| {
            one_row(
                conn,
                GET_SESSION,
                params![handle, now_ms, &*app],
                session_from_row,
            )
        })
        .await
    }

    async fn session_exists(&self, handle: &str, now_ms: i64) -> Result<bool> {
        let handle = handle.to_owned();
        let app = Arc::clone(&self.app);
        self.read(move |conn| {
            Ok(
                one_row(conn, SESSION_EXISTS, params![handle, now_ms, &*app], |_| {
                    Ok(())
                })?
                .is_some(),
            )
        })
        .await
    }

    async fn get_session_data(&self, handle: &str, now_ms: i64) -> Result<Option<Value>> {
        let handle = handle.to_owned();
        let app = Arc::clone(&self.app);
        self.read(move |conn| {
            one_row(
                conn,
                GET_SESSION_DATA,
                params![handle, now_ms, &*app],
                |row| json_col(row, 0, "session_data", &handle),
            )
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        handle: &str,
        expected_current_hash: &[u8; 32],
        rotation: &Rotation,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>> {
        let handle = handle.to_owned();
        let expected = *expected_current_hash;
        let rotation = rotation.clone();
        let app = Arc::clone(&self.app);
        self.write(move |conn| {
            let new = &rotation.refresh;
            one_row(
                conn,
                ROTATE_REFRESH,
                params![
                    &new.current_hash[..],
                    new.previous_hash.as_ref().map(|h| &h[..]),
                    new.current_sealed.as_deref(),
                    new.generation,
                    new.rotated_at_ms,
                    rotation.expires_at_ms,
                    handle,
                    &expected[..],
                    now_ms,
                    &*app,
                ],
                session_from_row,
            )
        })
        .await
    }

    async fn update_session_data(&self, handle: &str, data: &Value, now_ms: i64) -> Result<bool> {
        let data = json_text(data)?;
        let handle = handle.to_owned();
        let app = Arc::clone(&self.app);
        self.write(move |conn| {
            Ok(execute(
                conn,
                UPDATE_SESSION_DATA,
                params![data, handle, now_ms, &*app],
            )? > 0)
        })
        .await
    }

    async fn update_jwt_payload(
        &self,
        handle: &str,
        payload: &Value,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>> {
        let payload = json_text(payload)?;
        let handle = handle.to_owned();
        let app = Arc::clone(&self.app);
        self.write(move |conn| {
            one_row(
                conn,
                UPDATE_JWT_PAYLOAD,
                params![payload, handle, now_ms, &*app],
                session_from_row,
            )
        })
        .await
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
        let tenant = tenant_owned(tenant);
        let app = Arc::clone(&self.app);
        self.write(move |conn| match &tenant {
            None => all_rows(
                conn,
                DELETE_SESSIONS_ALL_TENANTS,
                params![handles, &*app],
                handle_of,
            ),
            Some(t) => all_rows(
                conn,
                DELETE_SESSIONS_IN_TENANT,
                params![handles, t, &*app],
                handle_of,
            ),
        })
        .await
    }

    async fn delete_sessions_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
    ) -> Result<Vec<String>> {
        let user_id = user_id.to_owned();
        let tenant = tenant_owned(tenant);
        let app = Arc::clone(&self.app);
        self.write(move |conn| match &tenant {
            None => all_rows(
                conn,
                DELETE_USER_ALL_TENANTS,
                params![user_id, &*app],
                handle_of,
            ),
            Some(t) => all_rows(
                conn,
                DELETE_USER_IN_TENANT,
                params![user_id, t, &*app],
                handle_of,
            ),
        })
        .await
    }

    async fn list_handles_for_user(
        &self,
        user_id: &str,
        tenant: TenantFilter<'_>,
        now_ms: i64,
    ) -> Result<Vec<String>> {
        let user_id = user_id.to_owned();
        let tenant = tenant_owned(tenant);
        let app = Arc::clone(&self.app);
        self.read(move |conn| match &tenant {
            None => all_rows(
                conn,
                LIST_USER_ALL_TENANTS,
                params![user_id, now_ms, &*app],
                handle_of,
            ),
            Some(t) => all_rows(
                conn,
                LIST_USER_IN_TENANT,
                params![user_id, now_ms, t, &*app],
                handle_of,
            ),
        })
        .await
    }

    async fn delete_expired(&self, now_ms: i64, limit: u32) -> Result<u64> {
        let deleted = self
            .write(move |conn| execute(conn, DELETE_EXPIRED, params![now_ms, i64::from(limit)]))
            .await?;
        Ok(deleted as u64)
    }

    async fn load_keys(&self) -> Result<Vec<StoredKey>> {
        let app = Arc::clone(&self.app);
        self.read(move |conn| all_rows(conn, LOAD_KEYS, params![&*app], key_from_row))
            .await
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<bool> {
        let key = key.clone();
        let app = Arc::clone(&self.app);
        self.write(move |conn| Ok(insert_key(conn, &key, &app)? > 0))
            .await
    }

    async fn delete_retired_keys(&self, now_ms: i64) -> Result<u64> {
        let app = Arc::clone(&self.app);
        let deleted = self
            .write(move |conn| execute(conn, DELETE_RETIRED_KEYS, params![now_ms, &*app]))
            .await?;
        Ok(deleted as u64)
    }

    async fn key_ids(&self) -> Result<Vec<String>> {
        // On the writer, as before: a process that just inserted a key sees it.
        let app = Arc::clone(&self.app);
        self.write(move |conn| all_rows(conn, KEY_IDS, params![&*app], |row| col(row, 0)))
            .await
    }

    async fn replace_keys(&self, remove: &[String], add: &[StoredKey]) -> Result<bool> {
        let remove = remove.to_vec();
        let add = add.to_vec();
        let app = Arc::clone(&self.app);
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for kid in &remove {
                execute(&tx, DELETE_KEY, params![kid, &*app])?;
            }
            for key in &add {
                if insert_key(&tx, key, &app)? == 0 {
                    // Dropping `tx` rolls back.
                    return Ok(false);
                }
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn update_key_secrets(&self, updates: &[KeySecretUpdate]) -> Result<bool> {
        let updates = updates.to_vec();
        let app = Arc::clone(&self.app);
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for u in &updates {
                let changed = execute(
                    &tx,
                    UPDATE_KEY_SECRET,
                    params![&u.secret[..], u.kid, &u.expected[..], &*app],
                )?;
                if changed != 1 {
                    return Ok(false);
                }
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }
}

/// A tenant filter the store's closures can own.
fn tenant_owned(tenant: TenantFilter<'_>) -> Option<String> {
    match tenant {
        TenantFilter::All => None,
        TenantFilter::Only(t) => Some(t.to_owned()),
    }
}

/// Runs `INSERT_KEY` for `key`; the number of rows inserted (0 on a clash).
fn insert_key(conn: &Connection, key: &StoredKey, app: &str) -> Result<usize> {
    execute(
        conn,
        INSERT_KEY,
        params![
            key.kid,
            key.purpose.as_str(),
            key.generation,
            key.algorithm,
            &key.secret[..],
            &key.public_der[..],
            key.created_at_ms,
            key.not_before_ms,
            key.not_after_ms,
            key.retire_after_ms,
            app,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: T) {}

    #[test]
    fn constructors_are_send() {
        assert_send(SqliteStore::open("x"));
        assert_send(SqliteStore::connect("sqlite::memory:"));
    }

    #[test]
    fn urls_name_a_file_or_memory() {
        let file = |url| match parse_url(url) {
            Ok(Target::File(p)) => Some(p),
            _ => None,
        };
        assert_eq!(file("sqlite://a/b.db"), Some(PathBuf::from("a/b.db")));
        assert_eq!(file("sqlite:///abs/b.db"), Some(PathBuf::from("/abs/b.db")));
        assert_eq!(file("sqlite:c.db"), Some(PathBuf::from("c.db")));
        assert_eq!(file("sqlite://my%20db.db"), Some(PathBuf::from("my db.db")));
        assert_eq!(file("sqlite://x.db?mode=rwc"), Some(PathBuf::from("x.db")));
        for memory in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://x.db?mode=memory",
        ] {
            assert!(matches!(parse_url(memory), Ok(Target::Memory)), "{memory}");
        }
        for bad in [
            "sqlite:",
            "sqlite://",
            "sqlite://x.db?cache=shared",
            "sqlite://%zz",
            "postgres://x",
        ] {
            assert!(
                matches!(parse_url(bad), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn sqlite_errors_keep_their_extended_code() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(517), // SQLITE_BUSY_SNAPSHOT
            Some("database is locked".to_owned()),
        );
        let e = Error::from(busy);
        assert!(is_busy(&e), "{e:?}");
        assert!(matches!(e, Error::Store(sqlx::Error::Database(_))));
        let wrong_type =
            rusqlite::Error::InvalidColumnType(0, "x".to_owned(), rusqlite::types::Type::Text);
        assert!(matches!(Error::from(wrong_type), Error::CorruptData(_)));
    }
}
