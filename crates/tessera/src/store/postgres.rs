//! The PostgreSQL store, for deployments where many app servers share one
//! database (`postgres://…`).
//!
//! # Design
//!
//! - **Every operation is one round trip.** `rotate_refresh` is a single
//!   `UPDATE … WHERE handle = $1 AND current_hash = $2 AND expires_at_ms > $3
//!   RETURNING …`. Under `READ COMMITTED`, concurrent updates of one row wait
//!   for its lock and then re-check the `WHERE` clause against the committed
//!   row, so of many rotations with the same expected hash exactly one
//!   matches; no explicit transaction or `SELECT … FOR UPDATE` is needed.
//!   The exceptions are the rare multi-row key operations (`replace_keys`,
//!   `update_key_secrets`), each one transaction of a few statements.
//!   Deletes report what they removed with `DELETE … RETURNING handle`, a list
//!   of handles travels as one array parameter (`handle = ANY($1)`), and
//!   `insert_key` is `INSERT … ON CONFLICT DO NOTHING`.
//! - **Cleanup in bounded batches.** `delete_expired` deletes the rows of a
//!   `SELECT … LIMIT n FOR UPDATE SKIP LOCKED` sub-select: each statement
//!   holds few locks for a short time, and several servers cleaning up at
//!   once split the work instead of queueing behind each other.
//! - **Statements are prepared once per connection** (`sqlx`'s statement
//!   cache) and connections are pooled ([`PostgresStoreOptions::max_connections`]).
//! - **Migrations run on connect**, embedded in this file, in one transaction
//!   that first takes `pg_advisory_xact_lock` (keyed by the schema name):
//!   servers starting together take turns, and PostgreSQL's transactional DDL
//!   means a failed step leaves nothing half-done. The applied versions are
//!   kept in `tessera_schema_version`.
//! - **An optional schema** ([`PostgresStoreOptions::schema`]) is created if
//!   missing and set as the connections' `search_path` in their startup
//!   options, so every statement uses unqualified table names. Tests use it
//!   to isolate themselves.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use super::sql_common::{
    Migration, app_from_row, check_schema_version, json_text, key_columns, key_from_row,
    session_columns, session_from_row,
};
use super::{
    DEFAULT_APP_ID, KeySecretUpdate, Rotation, SessionRecord, SessionStore, StoredApp, StoredKey,
    TenantFilter,
};
use crate::error::{Error, Result};

/// Pool size unless [`PostgresStoreOptions::max_connections`] says otherwise.
const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// First half of the advisory-lock key that serialises migrations (the
/// second half is a hash of the schema name): ASCII `tess`.
const MIGRATION_LOCK_CLASS: i32 = 0x7465_7373;

/// The schema, one step per version. Never edit a released step: add one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "sessions and signing keys",
        statements: &[
            "CREATE TABLE tessera_sessions (
            handle                 TEXT   NOT NULL PRIMARY KEY,
            tenant_id              TEXT   NOT NULL,
            user_id                TEXT   NOT NULL,
            recipe_user_id         TEXT   NOT NULL,
            jwt_payload            TEXT   NOT NULL,
            session_data           TEXT   NOT NULL,
            created_at_ms          BIGINT NOT NULL,
            expires_at_ms          BIGINT NOT NULL,
            absolute_expires_at_ms BIGINT,
            current_hash           BYTEA  NOT NULL,
            previous_hash          BYTEA,
            current_sealed         BYTEA,
            generation             BIGINT NOT NULL,
            rotated_at_ms          BIGINT NOT NULL,
            ip                     TEXT,
            user_agent             TEXT,
            device                 TEXT
        )",
            "CREATE INDEX tessera_sessions_by_user ON tessera_sessions (user_id, tenant_id)",
            "CREATE INDEX tessera_sessions_by_expiry ON tessera_sessions (expires_at_ms)",
            "CREATE TABLE tessera_keys (
            kid             TEXT   NOT NULL PRIMARY KEY,
            purpose         TEXT   NOT NULL,
            generation      BIGINT NOT NULL,
            algorithm       TEXT   NOT NULL,
            secret          BYTEA  NOT NULL,
            public_der      BYTEA  NOT NULL,
            created_at_ms   BIGINT NOT NULL,
            not_before_ms   BIGINT NOT NULL,
            not_after_ms    BIGINT,
            retire_after_ms BIGINT,
            UNIQUE (purpose, generation)
        )",
        ],
    },
    Migration {
        version: 2,
        description: "apps: every session and key row belongs to an app; existing rows to `public`",
        statements: &[
            "ALTER TABLE tessera_sessions ADD COLUMN app_id TEXT NOT NULL DEFAULT 'public'",
            "DROP INDEX tessera_sessions_by_user",
            "CREATE INDEX tessera_sessions_by_user ON tessera_sessions (app_id, user_id, tenant_id)",
            "ALTER TABLE tessera_keys ADD COLUMN app_id TEXT NOT NULL DEFAULT 'public'",
            "ALTER TABLE tessera_keys DROP CONSTRAINT tessera_keys_purpose_generation_key",
            "ALTER TABLE tessera_keys ADD CONSTRAINT tessera_keys_app_purpose_generation_key
             UNIQUE (app_id, purpose, generation)",
            "CREATE TABLE tessera_apps (
            app_id        TEXT   NOT NULL PRIMARY KEY,
            config        TEXT   NOT NULL,
            created_at_ms BIGINT NOT NULL
        )",
        ],
    },
];

const CREATE_VERSION_TABLE: &str = "CREATE TABLE tessera_schema_version (
    version       BIGINT NOT NULL PRIMARY KEY,
    description   TEXT   NOT NULL,
    applied_at_ms BIGINT NOT NULL
)";

const RECORD_VERSION: &str =
    "INSERT INTO tessera_schema_version (version, description, applied_at_ms)
     VALUES ($1, $2, CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT))";

/// How to connect a [`PostgresStore`]: the URL, an optional schema and the
/// pool size.
///
/// ```no_run
/// # async fn demo() -> tessera::Result<()> {
/// use tessera::store::PostgresStore;
/// use tessera::store::postgres::PostgresStoreOptions;
///
/// let options = PostgresStoreOptions::new("postgres://app@db.internal/app")
///     .schema("sessions")
///     .max_connections(20);
/// let store = PostgresStore::connect_with(options).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStoreOptions {
    url: String,
    schema: Option<String>,
    max_connections: u32,
}

impl fmt::Debug for PostgresStoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: show only where it points.
        f.debug_struct("PostgresStoreOptions")
            .field("server", &describe_url(&self.url))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl PostgresStoreOptions {
    /// Options for the database at `url` (`postgres://user:password@host:port/database`),
    /// in the connection's default schema, with a pool of 10 connections.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// Keeps the tables in this schema, created if missing. The name must be
    /// a plain lower-case identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes),
    /// so that it needs no quoting anywhere; [`PostgresStore::connect_with`]
    /// refuses any other.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The most connections the pool opens (at least 1).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }
}

/// A [`SessionStore`] in a PostgreSQL database. Clones share the pool.
///
/// ```no_run
/// # async fn demo() -> tessera::Result<()> {
/// use tessera::store::PostgresStore;
///
/// let store = PostgresStore::connect("postgres://app@db.internal/app").await?;
/// let manager = tessera::SessionManager::builder().store(store).build().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    about: Arc<About>,
    /// The app whose rows this view reads and writes.
    app: Arc<str>,
    /// Whether [`SessionStore::close`] closes the pool (app views share it).
    owner: bool,
}

/// What `Debug` shows: where the store points, never credentials.
struct About {
    server: String,
    schema: Option<String>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("server", &self.about.server)
            .field("schema", &self.about.schema)
            .field("app", &self.app)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` with default options and brings its
    /// schema up to date.
    ///
    /// ```no_run
    /// # async fn demo() -> tessera::Result<()> {
    /// let store = tessera::store::PostgresStore::connect("postgres://app@localhost/app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(PostgresStoreOptions::new(url)).await
    }

    /// Connects to the database at `url`, keeping the tables in `schema`
    /// (created if missing; see [`PostgresStoreOptions::schema`] for the
    /// names allowed), with the default pool size.
    ///
    /// ```no_run
    /// # async fn demo() -> tessera::Result<()> {
    /// let store = tessera::store::PostgresStore::connect_with_schema(
    ///     "postgres://app@localhost/app",
    ///     "tessera",
    /// )
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self> {
        Self::connect_with(PostgresStoreOptions::new(url).schema(schema)).await
    }

    /// Connects as `options` say, creates the schema if one is named and
    /// missing, and brings the tables up to date.
    ///
    /// ```no_run
    /// # async fn demo() -> tessera::Result<()> {
    /// use tessera::store::PostgresStore;
    /// use tessera::store::postgres::PostgresStoreOptions;
    ///
    /// let store = PostgresStore::connect_with(
    ///     PostgresStoreOptions::new("postgres://app@localhost/app").schema("tessera"),
    /// )
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(options: PostgresStoreOptions) -> Result<Self> {
        if !(options.url.starts_with("postgres://") || options.url.starts_with("postgresql://")) {
            return Err(Error::InvalidInput(
                "a PostgreSQL URL starts with `postgres://` or `postgresql://`".to_owned(),
            ));
        }
        let mut connect = PgConnectOptions::from_str(&options.url)
            .map_err(|e| Error::InvalidInput(format!("invalid PostgreSQL URL: {e}")))?
            .application_name("tessera");
        if let Some(schema) = &options.schema {
            if !is_plain_identifier(schema) {
                return Err(Error::InvalidInput(format!(
                    "schema name `{schema}` is not a plain lower-case identifier"
                )));
            }
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let server = describe_options(&connect);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .connect_with(connect)
            .await?;
        migrate(&pool, options.schema.as_deref()).await?;
        Ok(Self {
            pool,
            about: Arc::new(About {
                server,
                schema: options.schema,
            }),
            app: DEFAULT_APP_ID.into(),
            owner: true,
        })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    /// Every later call fails with [`Error::Store`].
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `[a-z_][a-z0-9_]*`, at most 63 bytes (PostgreSQL's identifier limit):
/// the same name quoted or not, in DDL and in `search_path`.
fn is_plain_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    first_ok
        && name.len() <= 63
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn describe_options(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

fn describe_url(url: &str) -> String {
    PgConnectOptions::from_str(url)
        .map_or_else(|_| "<unparsable URL>".to_owned(), |o| describe_options(&o))
}

/// Brings the schema up to date in one transaction that holds a
/// transaction-scoped advisory lock: concurrent connects take turns, and the
/// later ones find nothing left to do. Creating the schema happens under the
/// lock too (two concurrent `CREATE SCHEMA`s can fail on a unique index).
/// A database that is up to date gets no DDL at all.
///
/// Statements go through `sqlx::query(..).persistent(false)`, not
/// `sqlx::raw_sql`: a `raw_sql(..).execute(&mut *tx)` makes this future
/// (and so the constructors') not `Send` for rustc, which would forbid
/// `tokio::spawn(PostgresStore::connect(..))`. The unit test below guards that.
async fn migrate(pool: &PgPool, schema: Option<&str>) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(MIGRATION_LOCK_CLASS)
        .bind(schema.unwrap_or(""))
        .execute(&mut *tx)
        .await?;
    // Look before any DDL: PostgreSQL checks the CREATE privilege even for
    // `CREATE … IF NOT EXISTS` on something that exists, and an application
    // role that may only read and write must still connect once an
    // administrator has migrated.
    if let Some(schema) = schema {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                .bind(schema)
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            // `schema` is a checked plain identifier; quoting keeps it verbatim.
            let ddl = format!("CREATE SCHEMA \"{schema}\"");
            sqlx::query(&ddl)
                .persistent(false)
                .execute(&mut *tx)
                .await?;
        }
    }
    let has_version_table: bool =
        sqlx::query_scalar("SELECT to_regclass('tessera_schema_version') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
    if !has_version_table {
        sqlx::query(CREATE_VERSION_TABLE)
            .persistent(false)
            .execute(&mut *tx)
            .await?;
    }
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
            schema = schema.unwrap_or_default(),
            "tessera: applied PostgreSQL schema migration"
        );
    }
    tx.commit().await?;
    Ok(())
}

const INSERT_SESSION: &str = concat!(
    "INSERT INTO tessera_sessions (",
    session_columns!(),
    ", app_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (handle) DO NOTHING"
);

const GET_SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM tessera_sessions WHERE handle = $1 AND expires_at_ms > $2 AND app_id = $3"
);

const SESSION_EXISTS: &str =
    "SELECT 1 FROM tessera_sessions WHERE handle = $1 AND expires_at_ms > $2 AND app_id = $3";

const GET_SESSION_DATA: &str = "SELECT session_data FROM tessera_sessions WHERE handle = $1 AND expires_at_ms > $2 AND app_id = $3";

/// The compare-and-swap: the `WHERE` clause is the whole rule. The new idle
/// expiry is capped at the row's absolute end (`NULL < x` is not true, so a
/// session without one takes the new expiry as it is).
const ROTATE_REFRESH: &str = concat!(
    "UPDATE tessera_sessions
     SET current_hash = $1, previous_hash = $2, current_sealed = $3, generation = $4,
         rotated_at_ms = $5,
         expires_at_ms = CASE WHEN absolute_expires_at_ms < $6
                              THEN absolute_expires_at_ms ELSE $6 END
     WHERE handle = $7 AND current_hash = $8 AND expires_at_ms > $9 AND app_id = $10
     RETURNING ",
    session_columns!()
);

const UPDATE_SESSION_DATA: &str = "UPDATE tessera_sessions SET session_data = $1
     WHERE handle = $2 AND expires_at_ms > $3 AND app_id = $4";

const UPDATE_JWT_PAYLOAD: &str = concat!(
    "UPDATE tessera_sessions SET jwt_payload = $1
     WHERE handle = $2 AND expires_at_ms > $3 AND app_id = $4
     RETURNING ",
    session_columns!()
);

const DELETE_SESSIONS_ALL_TENANTS: &str =
    "DELETE FROM tessera_sessions WHERE handle = ANY($1) AND app_id = $2 RETURNING handle";

const DELETE_SESSIONS_IN_TENANT: &str =
    "DELETE FROM tessera_sessions WHERE handle = ANY($1) AND tenant_id = $2 AND app_id = $3
     RETURNING handle";

const DELETE_USER_ALL_TENANTS: &str =
    "DELETE FROM tessera_sessions WHERE user_id = $1 AND app_id = $2 RETURNING handle";

const DELETE_USER_IN_TENANT: &str =
    "DELETE FROM tessera_sessions WHERE user_id = $1 AND tenant_id = $2 AND app_id = $3
     RETURNING handle";

// The liveness test is written `expires_at_ms - $2 > 0`, not
// `expires_at_ms > $2`, so that it cannot use the expiry index: with stale
// statistics (after a bulk load) the planner was seen to AND a bitmap of the
// whole expiry index (1.1M rows, 16 ms) with the per-user index (10 rows).
// A user has few sessions; the user index plus a filter is always right.
const LIST_USER_ALL_TENANTS: &str = "SELECT handle FROM tessera_sessions
     WHERE user_id = $1 AND expires_at_ms - $2 > 0 AND app_id = $3
     ORDER BY created_at_ms, handle";

const LIST_USER_IN_TENANT: &str = "SELECT handle FROM tessera_sessions
     WHERE user_id = $1 AND expires_at_ms - $2 > 0 AND tenant_id = $3 AND app_id = $4
     ORDER BY created_at_ms, handle";

/// A bounded batch; rows another transaction holds (a refresh in flight, a
/// cleanup on another server) are skipped rather than waited for.
const DELETE_EXPIRED: &str = "DELETE FROM tessera_sessions
     WHERE handle IN (SELECT handle FROM tessera_sessions
                      WHERE expires_at_ms <= $1
                      LIMIT $2
                      FOR UPDATE SKIP LOCKED)";

const LOAD_KEYS: &str = concat!(
    "SELECT ",
    key_columns!(),
    " FROM tessera_keys WHERE app_id = $1 ORDER BY purpose, generation"
);

/// `DO NOTHING` without a conflict target covers both the `kid` primary key
/// and `UNIQUE (purpose, generation)`.
const INSERT_KEY: &str = concat!(
    "INSERT INTO tessera_keys (",
    key_columns!(),
    ", app_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
);

const KEY_IDS: &str = "SELECT kid FROM tessera_keys WHERE app_id = $1";

const DELETE_KEY: &str = "DELETE FROM tessera_keys WHERE kid = $1 AND app_id = $2";

/// The compare-and-swap of a stored secret: the `WHERE` clause.
const UPDATE_KEY_SECRET: &str =
    "UPDATE tessera_keys SET secret = $1 WHERE kid = $2 AND secret = $3 AND app_id = $4";

const DELETE_RETIRED_KEYS: &str =
    "DELETE FROM tessera_keys WHERE retire_after_ms <= $1 AND app_id = $2";

/// Creates or replaces an app row; `xmax = 0` tells an insert from an update.
const PUT_APP: &str = "INSERT INTO tessera_apps (app_id, config, created_at_ms) VALUES ($1, $2, $3)
     ON CONFLICT (app_id) DO UPDATE SET config = EXCLUDED.config
     RETURNING (xmax = 0) AS inserted";

const LIST_APPS: &str = "SELECT app_id, config FROM tessera_apps ORDER BY app_id";

const DELETE_APP_SESSIONS: &str = "DELETE FROM tessera_sessions WHERE app_id = $1";

const DELETE_APP_KEYS: &str = "DELETE FROM tessera_keys WHERE app_id = $1";

const DELETE_APP: &str = "DELETE FROM tessera_apps WHERE app_id = $1";

impl SessionStore for PostgresStore {
    async fn close(&self) {
        // The inherent method: closes the pool (an app view leaves it).
        if self.owner {
            PostgresStore::close(self).await;
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
        let inserted: bool = sqlx::query_scalar(PUT_APP)
            .bind(app_id)
            .bind(json_text(config)?)
            .bind(now_ms)
            .fetch_one(&self.pool)
            .await?;
        Ok(inserted)
    }

    async fn list_apps(&self) -> Result<Vec<StoredApp>> {
        let rows = sqlx::query(LIST_APPS).fetch_all(&self.pool).await?;
        rows.iter().map(app_from_row).collect()
    }

    async fn delete_app(&self, app_id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
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
            .execute(&self.pool)
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
            .fetch_optional(&self.pool)
            .await?
            .map(|row| session_from_row(&row))
            .transpose()
    }

    async fn session_exists(&self, handle: &str, now_ms: i64) -> Result<bool> {
        let row = sqlx::query(SESSION_EXISTS)
            .bind(handle)
            .bind(now_ms)
            .bind(&*self.app)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn get_session_data(&self, handle: &str, now_ms: i64) -> Result<Option<Value>> {
        let text: Option<String> = sqlx::query_scalar(GET_SESSION_DATA)
            .bind(handle)
            .bind(now_ms)
            .bind(&*self.app)
            .fetch_optional(&self.pool)
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
            .fetch_optional(&self.pool)
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
            .execute(&self.pool)
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
            .fetch_optional(&self.pool)
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
        let query = match tenant {
            TenantFilter::All => sqlx::query(DELETE_SESSIONS_ALL_TENANTS)
                .bind(handles)
                .bind(&*self.app),
            TenantFilter::Only(t) => sqlx::query(DELETE_SESSIONS_IN_TENANT)
                .bind(handles)
                .bind(t)
                .bind(&*self.app),
        };
        let rows = query.fetch_all(&self.pool).await?;
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
        let rows = query.fetch_all(&self.pool).await?;
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
        let rows = query.fetch_all(&self.pool).await?;
        handles_of(&rows)
    }

    async fn delete_expired(&self, now_ms: i64, limit: u32) -> Result<u64> {
        let done = sqlx::query(DELETE_EXPIRED)
            .bind(now_ms)
            .bind(i64::from(limit))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn load_keys(&self) -> Result<Vec<StoredKey>> {
        let rows = sqlx::query(LOAD_KEYS)
            .bind(&*self.app)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<bool> {
        let done = insert_key_query(key, &self.app).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_retired_keys(&self, now_ms: i64) -> Result<u64> {
        let done = sqlx::query(DELETE_RETIRED_KEYS)
            .bind(now_ms)
            .bind(&*self.app)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn key_ids(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(KEY_IDS)
            .bind(&*self.app)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| row.try_get("kid").map_err(Error::from))
            .collect()
    }

    async fn replace_keys(&self, remove: &[String], add: &[StoredKey]) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
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
) -> sqlx::query::Query<'a, sqlx::Postgres, sqlx::postgres::PgArguments> {
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
fn handles_of(rows: &[PgRow]) -> Result<Vec<String>> {
    rows.iter()
        .map(|row| row.try_get("handle").map_err(Error::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_lower_case_identifiers() {
        for ok in ["tessera", "_x", "t_1", &"a".repeat(63)] {
            assert!(is_plain_identifier(ok), "{ok}");
        }
        for bad in ["", "1abc", "Tessera", "a-b", "a\"b", "a b", &"a".repeat(64)] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn options_debug_hides_the_password() {
        let options = PostgresStoreOptions::new("postgres://app:hunter2@db.internal:6543/app");
        let shown = format!("{options:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.internal:6543/app"), "{shown}");
    }
}

#[cfg(test)]
mod send_check {
    fn assert_send<T: Send>(_: T) {}

    #[test]
    fn constructors_are_send() {
        assert_send(super::PostgresStore::connect("postgres://localhost/x"));
        assert_send(super::PostgresStore::connect_with_schema(
            "postgres://localhost/x",
            "s",
        ));
        assert_send(super::PostgresStore::connect_with(
            super::PostgresStoreOptions::new("postgres://localhost/x"),
        ));
    }
}
