//! Fixtures for the store conformance suite: one per store, each giving a
//! fresh, isolated database (the memory store: a new map; SQLite: a new file
//! in its own directory; PostgreSQL: a new schema) that is removed when the
//! fixture is dropped, even when the test panics.

// Fixture helpers are not `#[test]` functions, so clippy's
// `allow-expect-in-tests` does not reach them; a setup that fails must fail
// the test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write as _;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tessera::store::postgres::PostgresStoreOptions;
use tessera::store::{
    KeyPurpose, MemoryStore, PostgresStore, SessionStore, SqliteStore, StoredKey,
};

/// The variable that names the PostgreSQL server for the suite.
pub(crate) const POSTGRES_URL_VAR: &str = "TESSERA_TEST_POSTGRES_URL";

// The records every store test starts from (feature-neutral, shared with
// the SQLite-only tests).
#[allow(unused_imports)]
pub(crate) use super::records::{HOUR, T0, hash, session};

/// A signing key row with no end of validity.
pub(crate) fn key(kid: &str, purpose: KeyPurpose, generation: i64) -> StoredKey {
    StoredKey {
        kid: kid.to_owned(),
        purpose,
        generation,
        algorithm: "RS256".to_owned(),
        secret: vec![0x30, 0x82, 0x04, 0xa4, 0x00, 0xff],
        public_der: vec![0x30, 0x82, 0x01, 0x0a],
        created_at_ms: T0,
        not_before_ms: T0,
        not_after_ms: None,
        retire_after_ms: None,
    }
}

/// Ways a test damages a row behind the store's back.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Damage<'a> {
    /// `jwt_payload` of this session is no longer JSON.
    PayloadNotJson(&'a str),
    /// `session_data` of this session is no longer JSON.
    DataNotJson(&'a str),
    /// `current_hash` of this session is 2 bytes long.
    ShortHash(&'a str),
    /// This key's purpose is a word tessera does not know.
    UnknownPurpose(&'a str),
}

/// A fresh database for one test, and ways to reach it again.
pub(crate) trait Fixture: Sized {
    /// The store under test.
    type Store: SessionStore + Clone;

    /// A fresh, empty database; `None` when this store cannot run here (the
    /// test then returns after saying so on stderr).
    async fn setup() -> Option<Self>;

    /// The store on the fresh database.
    fn store(&self) -> &Self::Store;

    /// A second, independent store on the same database (for SQL stores: its
    /// own pools, as another process would have), migrations run again.
    async fn reopen(&self) -> tessera::Result<Self::Store>;

    /// Opens `n` stores at the same time on a database nobody opened before.
    async fn open_new_concurrently(&self, n: usize) -> Vec<tessera::Result<Self::Store>>;

    /// Damages a row with raw SQL; `false` where rows cannot be damaged
    /// (the memory store keeps typed values).
    async fn damage(&self, damage: Damage<'_>) -> bool;
}

/// A unique suffix for things a test creates (pid, counter, time).
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{n}_{nanos}", std::process::id())
}

// ---------------------------------------------------------------- memory

/// The memory store: "the same database" is a clone.
#[derive(Debug)]
pub(crate) struct MemoryFixture {
    store: MemoryStore,
}

impl Fixture for MemoryFixture {
    type Store = MemoryStore;

    async fn setup() -> Option<Self> {
        Some(Self {
            store: MemoryStore::new(),
        })
    }

    fn store(&self) -> &MemoryStore {
        &self.store
    }

    async fn reopen(&self) -> tessera::Result<MemoryStore> {
        Ok(self.store.clone())
    }

    async fn open_new_concurrently(&self, n: usize) -> Vec<tessera::Result<MemoryStore>> {
        let fresh = MemoryStore::new();
        (0..n).map(|_| Ok(fresh.clone())).collect()
    }

    async fn damage(&self, _damage: Damage<'_>) -> bool {
        false
    }
}

// ---------------------------------------------------------------- sqlite

/// A SQLite file in a directory of its own under Cargo's per-target temp
/// directory; the directory is removed on drop.
#[derive(Debug)]
pub(crate) struct SqliteFixture {
    dir: PathBuf,
    store: SqliteStore,
}

impl SqliteFixture {
    /// The database file.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join("tessera.db")
    }

    async fn raw(&self) -> SqliteConnection {
        let options = SqliteConnectOptions::new().filename(self.path());
        SqliteConnection::connect_with(&options)
            .await
            .expect("raw SQLite connection")
    }

    /// Runs a statement on the file over a connection of its own.
    pub(crate) async fn execute(&self, sql: &str, bind: &str) {
        let mut conn = self.raw().await;
        sqlx::query(sql)
            .bind(bind)
            .execute(&mut conn)
            .await
            .expect("raw SQLite statement");
        conn.close().await.ok();
    }

    /// Runs a one-value query on the file over a connection of its own.
    pub(crate) async fn fetch_string(&self, sql: &str) -> String {
        let mut conn = self.raw().await;
        let value: String = sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .expect("raw SQLite query");
        conn.close().await.ok();
        value
    }
}

impl Drop for SqliteFixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Fixture for SqliteFixture {
    type Store = SqliteStore;

    async fn setup() -> Option<Self> {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("store-conformance")
            .join(format!("sqlite_{}", unique_suffix()));
        std::fs::create_dir_all(&dir).expect("test directory");
        let store = SqliteStore::open(dir.join("tessera.db"))
            .await
            .expect("open SQLite store");
        Some(Self { dir, store })
    }

    fn store(&self) -> &SqliteStore {
        &self.store
    }

    async fn reopen(&self) -> tessera::Result<SqliteStore> {
        SqliteStore::open(self.path()).await
    }

    async fn open_new_concurrently(&self, n: usize) -> Vec<tessera::Result<SqliteStore>> {
        let url = format!("sqlite://{}", self.dir.join("fresh.db").display());
        let opens = (0..n).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { SqliteStore::connect(&url).await })
        });
        let mut stores = Vec::new();
        for open in opens.collect::<Vec<_>>() {
            stores.push(open.await.expect("open task"));
        }
        stores
    }

    async fn damage(&self, damage: Damage<'_>) -> bool {
        let (sql, id) = match damage {
            Damage::PayloadNotJson(h) => (
                "UPDATE tessera_sessions SET jwt_payload = '{not json' WHERE handle = ?1",
                h,
            ),
            Damage::DataNotJson(h) => (
                "UPDATE tessera_sessions SET session_data = 'nope' WHERE handle = ?1",
                h,
            ),
            Damage::ShortHash(h) => (
                "UPDATE tessera_sessions SET current_hash = x'0102' WHERE handle = ?1",
                h,
            ),
            Damage::UnknownPurpose(k) => (
                "UPDATE tessera_keys SET purpose = 'bogus' WHERE kid = ?1",
                k,
            ),
        };
        self.execute(sql, id).await;
        true
    }
}

// ---------------------------------------------------------------- postgres

/// A schema of its own in the database `TESSERA_TEST_POSTGRES_URL` names;
/// every schema the fixture created is dropped on drop.
#[derive(Debug)]
pub(crate) struct PostgresFixture {
    url: String,
    schema: String,
    created: Mutex<Vec<String>>,
    roles: Mutex<Vec<String>>,
    store: PostgresStore,
}

/// The server URL, or `None` after saying loudly that the tests skip.
pub(crate) fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Straight to stderr: `eprintln!` output is captured by the test
            // harness and would hide the skip.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPING postgres conformance: {POSTGRES_URL_VAR} not set"
            );
            None
        }
    }
}

impl PostgresFixture {
    /// The URL of the test server.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The fixture's schema.
    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }

    fn new_schema(&self) -> String {
        let schema = format!("tessera_test_{}", unique_suffix());
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(schema.clone());
        schema
    }

    /// Creates a login role that may only read and write the fixture's
    /// tables (no `CREATE` anywhere), dropped with the fixture; returns a
    /// URL that logs in as it (the test server trusts local logins).
    pub(crate) async fn dml_only_role_url(&self) -> String {
        let role = format!("tessera_test_role_{}", unique_suffix());
        self.roles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(role.clone());
        let schema = &self.schema;
        let mut conn = self.raw().await;
        for sql in [
            format!("CREATE ROLE \"{role}\" LOGIN"),
            format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\""),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{schema}\" \
                 TO \"{role}\""
            ),
        ] {
            sqlx::raw_sql(&sql)
                .execute(&mut conn)
                .await
                .expect("set up role");
        }
        conn.close().await.ok();
        with_user(&self.url, &role)
    }

    /// A raw connection whose `search_path` is the fixture's schema.
    pub(crate) async fn raw(&self) -> PgConnection {
        let options = PgConnectOptions::from_str(&self.url)
            .expect("test URL")
            .options([("search_path", self.schema.as_str())]);
        PgConnection::connect_with(&options)
            .await
            .expect("raw PostgreSQL connection")
    }
}

/// `url` with its user name (and password) replaced by `user`.
fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL with a scheme");
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{user}@{host}{tail}")
}

impl Drop for PostgresFixture {
    fn drop(&mut self) {
        let schemas = std::mem::take(self.created.get_mut().unwrap_or_else(|p| p.into_inner()));
        let roles = std::mem::take(self.roles.get_mut().unwrap_or_else(|p| p.into_inner()));
        let url = self.url.clone();
        // Drop cannot await, and the test's runtime may be the one running
        // this drop: clean up on a thread with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async move {
                let options = PgConnectOptions::from_str(&url).expect("test URL");
                let mut conn = PgConnection::connect_with(&options)
                    .await
                    .expect("cleanup connection");
                for schema in schemas {
                    let ddl = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                    sqlx::raw_sql(&ddl)
                        .execute(&mut conn)
                        .await
                        .expect("drop test schema");
                }
                for role in roles {
                    for ddl in [
                        format!("DROP OWNED BY \"{role}\""),
                        format!("DROP ROLE IF EXISTS \"{role}\""),
                    ] {
                        sqlx::raw_sql(&ddl)
                            .execute(&mut conn)
                            .await
                            .expect("drop test role");
                    }
                }
                conn.close().await.ok();
            });
        });
        let _ = cleanup.join();
    }
}

impl Fixture for PostgresFixture {
    type Store = PostgresStore;

    async fn setup() -> Option<Self> {
        let url = postgres_url()?;
        let schema = format!("tessera_test_{}", unique_suffix());
        let store = PostgresStore::connect_with(
            PostgresStoreOptions::new(url.clone())
                .schema(schema.clone())
                .max_connections(8),
        )
        .await
        .expect("connect PostgreSQL store");
        Some(Self {
            url,
            created: Mutex::new(vec![schema.clone()]),
            roles: Mutex::new(Vec::new()),
            schema,
            store,
        })
    }

    fn store(&self) -> &PostgresStore {
        &self.store
    }

    async fn reopen(&self) -> tessera::Result<PostgresStore> {
        PostgresStore::connect_with(
            PostgresStoreOptions::new(self.url.clone())
                .schema(self.schema.clone())
                .max_connections(8),
        )
        .await
    }

    async fn open_new_concurrently(&self, n: usize) -> Vec<tessera::Result<PostgresStore>> {
        let options = PostgresStoreOptions::new(self.url.clone())
            .schema(self.new_schema())
            .max_connections(2);
        let opens: Vec<_> = (0..n)
            .map(|_| tokio::spawn(PostgresStore::connect_with(options.clone())))
            .collect();
        let mut stores = Vec::new();
        for open in opens {
            stores.push(open.await.expect("connect task"));
        }
        stores
    }

    async fn damage(&self, damage: Damage<'_>) -> bool {
        let (sql, id) = match damage {
            Damage::PayloadNotJson(h) => (
                "UPDATE tessera_sessions SET jwt_payload = '{not json' WHERE handle = $1",
                h,
            ),
            Damage::DataNotJson(h) => (
                "UPDATE tessera_sessions SET session_data = 'nope' WHERE handle = $1",
                h,
            ),
            Damage::ShortHash(h) => (
                "UPDATE tessera_sessions SET current_hash = '\\x0102'::bytea WHERE handle = $1",
                h,
            ),
            Damage::UnknownPurpose(k) => (
                "UPDATE tessera_keys SET purpose = 'bogus' WHERE kid = $1",
                k,
            ),
        };
        let mut conn = self.raw().await;
        sqlx::query(sql)
            .bind(id)
            .execute(&mut conn)
            .await
            .expect("raw PostgreSQL statement");
        conn.close().await.ok();
        true
    }
}
