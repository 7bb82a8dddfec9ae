//! Choosing a store by URL.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::store::{DynStore, MemoryStore};

/// Opens the store a URL names: `sqlite://…`, `postgres://…`,
/// `postgresql://…` or `memory:`. A scheme whose store was left out at
/// build time (cargo features `sqlite`, `postgres`) is an error that names
/// the feature.
pub(crate) async fn open_url(url: &str) -> Result<Arc<dyn DynStore>> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "memory" => Ok(Arc::new(MemoryStore::new())),
        #[cfg(any(feature = "sqlite", feature = "sqlite-unbundled"))]
        "sqlite" => Ok(Arc::new(crate::store::SqliteStore::connect(url).await?)),
        #[cfg(not(any(feature = "sqlite", feature = "sqlite-unbundled")))]
        "sqlite" => Err(disabled("sqlite", "`sqlite` (or `sqlite-unbundled`)")),
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => Ok(Arc::new(crate::store::PostgresStore::connect(url).await?)),
        #[cfg(not(feature = "postgres"))]
        "postgres" | "postgresql" => Err(disabled(scheme, "`postgres`")),
        _ => Err(Error::InvalidInput(format!(
            "unsupported database URL scheme `{scheme}` (expected sqlite://, postgres:// or memory:)"
        ))),
    }
}

/// The error for a store this build left out.
#[cfg(not(all(
    any(feature = "sqlite", feature = "sqlite-unbundled"),
    feature = "postgres"
)))]
fn disabled(scheme: &str, feature: &str) -> Error {
    Error::InvalidInput(format!(
        "database URL scheme `{scheme}://` needs the {feature} cargo feature of tessera-session, \
         which this build does not enable"
    ))
}
