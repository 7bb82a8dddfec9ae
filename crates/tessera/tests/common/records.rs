//! Session records and times for store-level tests. Needs no store
//! feature: the SQLite-only tests (`sqlite_files`) include this file too.

use serde_json::json;
use tessera::SessionMetadata;
use tessera::store::{RefreshState, SessionRecord};

/// An arbitrary "now" for records; tests pass times explicitly.
pub(crate) const T0: i64 = 1_700_000_000_000;
/// One hour in milliseconds.
pub(crate) const HOUR: i64 = 3_600_000;

/// A 32-byte hash that differs per seed and uses many byte values.
pub(crate) fn hash(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| {
        seed.wrapping_mul(37)
            .wrapping_add(u8::try_from(i).unwrap_or(0).wrapping_mul(73))
    })
}

/// A plain session created at `T0`, expiring an hour later.
pub(crate) fn session(handle: &str, user_id: &str, tenant_id: &str) -> SessionRecord {
    SessionRecord {
        handle: handle.to_owned(),
        tenant_id: tenant_id.to_owned(),
        user_id: user_id.to_owned(),
        recipe_user_id: user_id.to_owned(),
        jwt_payload: json!({}),
        session_data: json!({}),
        created_at_ms: T0,
        expires_at_ms: T0 + HOUR,
        absolute_expires_at_ms: None,
        refresh: RefreshState {
            current_hash: hash(1),
            previous_hash: None,
            current_sealed: None,
            generation: 0,
            rotated_at_ms: T0,
        },
        metadata: SessionMetadata::default(),
    }
}
