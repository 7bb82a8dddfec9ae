//! What the SQL stores share: column lists, the migration runner's
//! bookkeeping, and turning rows into records.
//!
//! Both SQL stores name their columns alike, so one generic decoder serves
//! both. A row that cannot be turned into a record (JSON that does not parse,
//! a hash that is not 32 bytes, an unknown key purpose, a column of the wrong
//! type) is [`Error::CorruptData`], never a panic.

use serde_json::Value;
#[cfg(feature = "postgres")]
use sqlx::{ColumnIndex, Decode, Row, Type};

#[cfg(feature = "postgres")]
use super::{KeyPurpose, RefreshState, SessionMetadata, SessionRecord, StoredApp, StoredKey};
use crate::error::{Error, Result};

/// The session columns in the order every `SELECT`/`RETURNING` lists them
/// (a macro so that statements can be built with `concat!` at compile time).
macro_rules! session_columns {
    () => {
        "handle, tenant_id, user_id, recipe_user_id, jwt_payload, session_data, \
         created_at_ms, expires_at_ms, absolute_expires_at_ms, current_hash, previous_hash, \
         current_sealed, generation, rotated_at_ms, ip, user_agent, device"
    };
}
pub(super) use session_columns;

/// The key columns in the order every `SELECT`/`INSERT` lists them.
macro_rules! key_columns {
    () => {
        "kid, purpose, generation, algorithm, secret, public_der, created_at_ms, \
         not_before_ms, not_after_ms, retire_after_ms"
    };
}
pub(super) use key_columns;

/// One schema change, applied once, in order, inside the migration
/// transaction. Versions start at 1 and never change meaning once released.
#[derive(Debug)]
pub(super) struct Migration {
    /// The version the schema has after this step.
    pub(super) version: i64,
    /// What the step does (stored beside the version).
    pub(super) description: &'static str,
    /// The statements, run one by one.
    pub(super) statements: &'static [&'static str],
}

/// Refuses a database whose schema is newer than this build knows: running
/// old code against a schema it has never seen could lose data silently.
pub(super) fn check_schema_version(current: i64, migrations: &[Migration]) -> Result<()> {
    let latest = migrations.last().map_or(0, |m| m.version);
    if current > latest {
        return Err(Error::CorruptData(format!(
            "database schema version {current} is newer than this tessera supports ({latest}); \
             upgrade tessera"
        )));
    }
    Ok(())
}

/// A JSON value as the text stored in the database.
pub(super) fn json_text(value: &Value) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::InvalidInput(format!("value cannot be stored as JSON: {e}")))
}

/// `sqlx` reports a column of the wrong type as a decode error; for us that
/// is a corrupt row, not an unavailable database.
#[cfg(feature = "postgres")]
fn column_error(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::ColumnDecode { index, source } => {
            Error::CorruptData(format!("column {index} undecodable: {source}"))
        }
        other => Error::Store(other),
    }
}

#[cfg(feature = "postgres")]
fn col<'r, R, T>(row: &'r R, name: &'static str) -> Result<T>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(name).map_err(column_error)
}

/// Parses a stored JSON column; text that is not JSON is a corrupt row.
pub(super) fn parse_json(text: &str, what: &str, handle: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::CorruptData(format!("session {handle}: {what} is not JSON: {e}")))
}

/// A stored refresh-token hash; anything but 32 bytes is a corrupt row.
pub(super) fn hash(bytes: &[u8], what: &str, handle: &str) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|_| {
        Error::CorruptData(format!(
            "session {handle}: {what} has {} bytes, expected 32",
            bytes.len()
        ))
    })
}

/// Decodes a row selected with `session_columns!()`.
#[cfg(feature = "postgres")]
pub(super) fn session_from_row<R>(row: &R) -> Result<SessionRecord>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let handle: String = col(row, "handle")?;
    let jwt_payload: String = col(row, "jwt_payload")?;
    let session_data: String = col(row, "session_data")?;
    let current_hash: Vec<u8> = col(row, "current_hash")?;
    let previous_hash: Option<Vec<u8>> = col(row, "previous_hash")?;
    Ok(SessionRecord {
        tenant_id: col(row, "tenant_id")?,
        user_id: col(row, "user_id")?,
        recipe_user_id: col(row, "recipe_user_id")?,
        jwt_payload: parse_json(&jwt_payload, "jwt_payload", &handle)?,
        session_data: parse_json(&session_data, "session_data", &handle)?,
        created_at_ms: col(row, "created_at_ms")?,
        expires_at_ms: col(row, "expires_at_ms")?,
        absolute_expires_at_ms: col(row, "absolute_expires_at_ms")?,
        refresh: RefreshState {
            current_hash: hash(&current_hash, "current_hash", &handle)?,
            previous_hash: previous_hash
                .map(|h| hash(&h, "previous_hash", &handle))
                .transpose()?,
            current_sealed: col(row, "current_sealed")?,
            generation: col(row, "generation")?,
            rotated_at_ms: col(row, "rotated_at_ms")?,
        },
        metadata: SessionMetadata {
            ip: col(row, "ip")?,
            user_agent: col(row, "user_agent")?,
            device: col(row, "device")?,
        },
        handle,
    })
}

/// Decodes a row selected with `key_columns!()`.
#[cfg(feature = "postgres")]
pub(super) fn key_from_row<R>(row: &R) -> Result<StoredKey>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let kid: String = col(row, "kid")?;
    let purpose: String = col(row, "purpose")?;
    let purpose = KeyPurpose::parse(&purpose)
        .ok_or_else(|| Error::CorruptData(format!("key {kid}: unknown purpose `{purpose}`")))?;
    Ok(StoredKey {
        purpose,
        generation: col(row, "generation")?,
        algorithm: col(row, "algorithm")?,
        secret: col(row, "secret")?,
        public_der: col(row, "public_der")?,
        created_at_ms: col(row, "created_at_ms")?,
        not_before_ms: col(row, "not_before_ms")?,
        not_after_ms: col(row, "not_after_ms")?,
        retire_after_ms: col(row, "retire_after_ms")?,
        kid,
    })
}

/// Decodes a row selected as `app_id, config` from `tessera_apps`.
#[cfg(feature = "postgres")]
pub(super) fn app_from_row<R>(row: &R) -> Result<StoredApp>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let app_id: String = col(row, "app_id")?;
    let config: String = col(row, "config")?;
    let config = serde_json::from_str(&config)
        .map_err(|e| Error::CorruptData(format!("app {app_id}: config is not JSON: {e}")))?;
    Ok(StoredApp { app_id, config })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_newer_than_this_build_is_refused() {
        const STEPS: &[Migration] = &[Migration {
            version: 1,
            description: "one",
            statements: &[],
        }];
        assert!(check_schema_version(0, STEPS).is_ok());
        assert!(check_schema_version(1, STEPS).is_ok());
        assert!(matches!(
            check_schema_version(2, STEPS),
            Err(Error::CorruptData(_))
        ));
    }
}
