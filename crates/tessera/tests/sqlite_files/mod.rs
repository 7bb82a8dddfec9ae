//! What the SQLite-file tests (`sqlite_durability`, `sqlite_checkpoint`)
//! share: a plain session record and a fresh directory per test. Apart
//! from `common/`, whose store fixtures need the `postgres` feature too;
//! these tests build with `sqlite` alone, and take the records from
//! `common/records.rs`, which needs neither.

use std::path::PathBuf;

use tessera::store::SessionRecord;

#[allow(dead_code)]
#[path = "../common/records.rs"]
mod records;

pub(crate) use records::T0;

/// A plain session of user `u` in tenant `public`, created at `T0`,
/// expiring an hour later.
pub(crate) fn session(handle: &str) -> SessionRecord {
    records::session(handle, "u", "public")
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
