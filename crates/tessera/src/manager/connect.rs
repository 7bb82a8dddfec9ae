//! Choosing a store by URL.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::store::{DynStore, MemoryStore, PostgresStore, SqliteStore};

/// Opens the store a URL names: `sqlite://…`, `postgres://…`,
/// `postgresql://…` or `memory:`.
pub(crate) async fn open_url(url: &str) -> Result<Arc<dyn DynStore>> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "memory" => Ok(Arc::new(MemoryStore::new())),
        "sqlite" => Ok(Arc::new(SqliteStore::connect(url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PostgresStore::connect(url).await?)),
        _ => Err(Error::InvalidInput(format!(
            "unsupported database URL scheme `{scheme}` (expected sqlite://, postgres:// or memory:)"
        ))),
    }
}
