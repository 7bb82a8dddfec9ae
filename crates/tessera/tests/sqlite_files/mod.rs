//! What the SQLite-file tests (`sqlite_durability`, `sqlite_checkpoint`)
//! share: a plain session record and a fresh directory per test. Apart
//! from `common/`, which needs the `postgres` feature too; these tests
//! build with `sqlite` alone.

use std::path::PathBuf;

use serde_json::json;
use tessera::store::{RefreshState, SessionMetadata, SessionRecord};

pub(crate) const T0: i64 = 1_700_000_000_000;
pub(crate) const HOUR: i64 = 3_600_000;

/// A plain session of user `u`, created at `T0`, expiring an hour later.
pub(crate) fn session(handle: &str) -> SessionRecord {
    SessionRecord {
        handle: handle.to_owned(),
        tenant_id: "public".to_owned(),
        user_id: "u".to_owned(),
        recipe_user_id: "u".to_owned(),
        jwt_payload: json!({}),
        session_data: json!({}),
        created_at_ms: T0,
        expires_at_ms: T0 + HOUR,
        absolute_expires_at_ms: None,
        refresh: RefreshState {
            current_hash: [1; 32],
            previous_hash: None,
            current_sealed: None,
            generation: 0,
            rotated_at_ms: T0,
        },
        metadata: SessionMetadata::default(),
    }
}

/// An empty directory `<target tmp>/<group>/<name>-<pid>`.
pub(crate) fn test_dir(group: &str, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
