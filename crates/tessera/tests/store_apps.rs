//! Apps in the stores: every store view made by `for_app` sees only its own
//! app's sessions and keys, the apps table keeps each app's settings, and
//! deleting an app takes its rows with it. Run against every store (the
//! PostgreSQL one needs `TESSERA_TEST_POSTGRES_URL`); the schema migration
//! that moved existing rows into `public` is checked on a version-1 SQLite
//! file and a version-1 PostgreSQL schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::str::FromStr;

use serde_json::json;
use sqlx::Connection as _;
use tessera::store::{
    KeyPurpose, PostgresStore, SessionStore, SqliteStore, StoredApp, TenantFilter,
};

use common::stores::{
    Fixture, MemoryFixture, POSTGRES_URL_VAR, PostgresFixture, SqliteFixture, T0, key, session,
};

async fn views_of_two_apps_never_see_each_other<F: Fixture>() {
    let Some(fx) = F::setup().await else { return };
    let public = fx.store();
    let a = public.for_app("a").unwrap();
    let b = public.for_app("b").unwrap();
    assert_eq!(public.app_id(), "public");
    assert_eq!(a.app_id(), "a");

    a.insert_session(&session("h-a", "user", "public"))
        .await
        .unwrap();
    public
        .insert_session(&session("h-public", "user", "public"))
        .await
        .unwrap();

    assert!(a.get_session("h-a", T0).await.unwrap().is_some());
    assert!(b.get_session("h-a", T0).await.unwrap().is_none());
    assert!(public.get_session("h-a", T0).await.unwrap().is_none());
    assert!(!b.session_exists("h-a", T0).await.unwrap());
    assert!(b.get_session_data("h-a", T0).await.unwrap().is_none());
    assert!(
        !b.update_session_data("h-a", &json!({"x": 1}), T0)
            .await
            .unwrap()
    );
    assert!(
        b.update_jwt_payload("h-a", &json!({"x": 1}), T0)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        a.list_handles_for_user("user", TenantFilter::All, T0)
            .await
            .unwrap(),
        vec!["h-a".to_owned()]
    );
    assert!(
        b.list_handles_for_user("user", TenantFilter::All, T0)
            .await
            .unwrap()
            .is_empty()
    );
    // Deletes in another app touch nothing.
    assert!(
        b.delete_sessions(&["h-a".to_owned()], TenantFilter::All)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        b.delete_sessions_for_user("user", TenantFilter::All)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        public
            .delete_sessions_for_user("user", TenantFilter::All)
            .await
            .unwrap(),
        vec!["h-public".to_owned()]
    );
    assert!(a.get_session("h-a", T0).await.unwrap().is_some());

    // Each app has its own key generations.
    assert!(
        a.insert_key(&key("d-a0", KeyPurpose::DynamicSigning, 0))
            .await
            .unwrap()
    );
    assert!(
        b.insert_key(&key("d-b0", KeyPurpose::DynamicSigning, 0))
            .await
            .unwrap()
    );
    let kids = |keys: Vec<tessera::store::StoredKey>| -> Vec<String> {
        keys.into_iter().map(|k| k.kid).collect()
    };
    assert_eq!(kids(a.load_keys().await.unwrap()), vec!["d-a0".to_owned()]);
    assert_eq!(kids(b.load_keys().await.unwrap()), vec!["d-b0".to_owned()]);
    assert!(public.load_keys().await.unwrap().is_empty());
    assert_eq!(b.key_ids().await.unwrap(), vec!["d-b0".to_owned()]);
    // Replacing keys in one app cannot remove another's.
    assert!(b.replace_keys(&["d-a0".to_owned()], &[]).await.unwrap());
    assert_eq!(kids(a.load_keys().await.unwrap()), vec!["d-a0".to_owned()]);
}

async fn the_apps_table_keeps_settings_and_delete_takes_the_rows<F: Fixture>() {
    let Some(fx) = F::setup().await else { return };
    let public = fx.store();
    assert!(public.list_apps().await.unwrap().is_empty());
    assert!(
        public
            .put_app("a", &json!({"access_token_validity": 2}), T0)
            .await
            .unwrap()
    );
    assert!(
        !public
            .put_app("a", &json!({"access_token_validity": 5}), T0)
            .await
            .unwrap()
    );
    assert!(public.put_app("b", &json!({}), T0).await.unwrap());
    assert_eq!(
        public.list_apps().await.unwrap(),
        vec![
            StoredApp {
                app_id: "a".into(),
                config: json!({"access_token_validity": 5})
            },
            StoredApp {
                app_id: "b".into(),
                config: json!({})
            },
        ]
    );
    let a = public.for_app("a").unwrap();
    let b = public.for_app("b").unwrap();
    a.insert_session(&session("h-a", "user", "public"))
        .await
        .unwrap();
    a.insert_key(&key("d-a0", KeyPurpose::DynamicSigning, 0))
        .await
        .unwrap();
    b.insert_session(&session("h-b", "user", "public"))
        .await
        .unwrap();

    assert!(public.delete_app("a").await.unwrap());
    assert!(!public.delete_app("a").await.unwrap());
    assert!(a.get_session("h-a", T0).await.unwrap().is_none());
    assert!(a.load_keys().await.unwrap().is_empty());
    assert!(b.get_session("h-b", T0).await.unwrap().is_some());
    assert_eq!(public.list_apps().await.unwrap().len(), 1);
    // A view of a new app is empty; closing it leaves the shared pool open.
    let c = public.for_app("c").unwrap();
    c.close().await;
    assert!(b.get_session("h-b", T0).await.unwrap().is_some());
}

macro_rules! per_store {
    ($name:ident, $fixture:ty) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn views_of_two_apps_never_see_each_other() {
                super::views_of_two_apps_never_see_each_other::<$fixture>().await;
            }

            #[tokio::test]
            async fn the_apps_table_keeps_settings_and_delete_takes_the_rows() {
                super::the_apps_table_keeps_settings_and_delete_takes_the_rows::<$fixture>().await;
            }
        }
    };
}

per_store!(memory, MemoryFixture);
per_store!(sqlite, SqliteFixture);
per_store!(postgres, PostgresFixture);

/// Version 1 of the schema, as released (the same statements for both SQL
/// stores but for the types).
const V1_SESSIONS: &str = "CREATE TABLE tessera_sessions (
    handle TEXT NOT NULL PRIMARY KEY, tenant_id TEXT NOT NULL, user_id TEXT NOT NULL,
    recipe_user_id TEXT NOT NULL, jwt_payload TEXT NOT NULL, session_data TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL, expires_at_ms BIGINT NOT NULL, absolute_expires_at_ms BIGINT,
    current_hash BLOBTYPE NOT NULL, previous_hash BLOBTYPE, current_sealed BLOBTYPE,
    generation BIGINT NOT NULL, rotated_at_ms BIGINT NOT NULL, ip TEXT, user_agent TEXT,
    device TEXT)";
const V1_KEYS: &str = "CREATE TABLE tessera_keys (
    kid TEXT NOT NULL PRIMARY KEY, purpose TEXT NOT NULL, generation BIGINT NOT NULL,
    algorithm TEXT NOT NULL, secret BLOBTYPE NOT NULL, public_der BLOBTYPE NOT NULL,
    created_at_ms BIGINT NOT NULL, not_before_ms BIGINT NOT NULL, not_after_ms BIGINT,
    retire_after_ms BIGINT, UNIQUE (purpose, generation))";
const V1_ROWS: &[&str] = &[
    "CREATE INDEX tessera_sessions_by_user ON tessera_sessions (user_id, tenant_id)",
    "CREATE INDEX tessera_sessions_by_expiry ON tessera_sessions (expires_at_ms)",
    "CREATE TABLE tessera_schema_version (version BIGINT NOT NULL PRIMARY KEY,
        description TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
    "INSERT INTO tessera_schema_version VALUES (1, 'sessions and signing keys', 0)",
    "INSERT INTO tessera_sessions (handle, tenant_id, user_id, recipe_user_id, jwt_payload,
        session_data, created_at_ms, expires_at_ms, current_hash, generation, rotated_at_ms)
     VALUES ('h-old', 'public', 'user', 'user', '{}', '{}', 1700000000000, 9999999999999,
        CURRENTHASH, 0, 1700000000000)",
    "INSERT INTO tessera_keys (kid, purpose, generation, algorithm, secret, public_der,
        created_at_ms, not_before_ms) VALUES ('mac-old', 'refresh-mac', 0, 'HS256', SECRET,
        EMPTY, 1700000000000, 1700000000000)",
];

async fn rows_of_version_1_belong_to_public<S: SessionStore>(store: &S) {
    assert!(store.get_session("h-old", T0).await.unwrap().is_some());
    assert_eq!(store.key_ids().await.unwrap(), vec!["mac-old".to_owned()]);
    let other = store.for_app("other").unwrap();
    assert!(other.get_session("h-old", T0).await.unwrap().is_none());
    assert!(other.key_ids().await.unwrap().is_empty());
    // Another app may now have a key of the same purpose and generation.
    assert!(
        other
            .insert_key(&key("mac-other", KeyPurpose::RefreshMac, 0))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn sqlite_migration_2_moves_existing_rows_to_public() {
    let dir = std::env::temp_dir().join(format!("tessera-apps-v1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("v1.db");
    let _ = std::fs::remove_file(&file);
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        let fill = |s: &str| {
            s.replace("BLOBTYPE", "BLOB")
                .replace("CURRENTHASH", "zeroblob(32)")
                .replace("SECRET", "zeroblob(32)")
                .replace("EMPTY", "x''")
        };
        for statement in [V1_SESSIONS, V1_KEYS]
            .into_iter()
            .chain(V1_ROWS.iter().copied())
        {
            sqlx::query(&fill(statement))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
    }
    let store = SqliteStore::open(&file).await.unwrap();
    rows_of_version_1_belong_to_public(&store).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgres_migration_2_moves_existing_rows_to_public() {
    let Ok(url) = std::env::var(POSTGRES_URL_VAR) else {
        eprintln!("SKIPPING postgres migration test: {POSTGRES_URL_VAR} is not set");
        return;
    };
    let schema = format!("tessera_apps_v1_{}", std::process::id());
    let options = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
    let mut conn = sqlx::PgConnection::connect_with(&options).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("SET search_path TO {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let fill = |s: &str| {
        s.replace("BLOBTYPE", "BYTEA")
            .replace("CURRENTHASH", "decode(repeat('00', 32), 'hex')")
            .replace("SECRET", "decode(repeat('00', 32), 'hex')")
            .replace("EMPTY", "''::bytea")
    };
    for statement in [V1_SESSIONS, V1_KEYS]
        .into_iter()
        .chain(V1_ROWS.iter().copied())
    {
        sqlx::query(&fill(statement))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    rows_of_version_1_belong_to_public(&store).await;
    store.close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap();
}
