//! [`cors`]: tower-http's `CorsLayer` configured for supertokens-website.

use http::{HeaderName, HeaderValue, Method};
use tessera_http::names::{CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// A `CorsLayer` for a website on other origins: the given origins only
/// (exact match, e.g. `"https://app.example.com"`; values that are not
/// valid header values are left out), credentials allowed, the request
/// headers the SDK sends (`rid`, `fdi-version`, `anti-csrf`,
/// `st-auth-mode`, `authorization`, `content-type`) and the response
/// headers it reads (`front-token`, `anti-csrf`, `st-access-token`,
/// `st-refresh-token`) exposed. Layer it outside
/// [`SessionLayer`](crate::SessionLayer) (`.layer(cors(..))` after it).
///
/// ```
/// # async fn demo() -> tessera::Result<()> {
/// use tessera_axum::{SessionLayer, cors};
///
/// let layer = SessionLayer::new(tessera::SessionManager::in_memory().await?);
/// let app: axum::Router = layer
///     .routes()
///     .layer(layer)
///     .layer(cors(&["https://app.example.com"]));
/// # Ok(()) }
/// ```
pub fn cors(origins: &[&str]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
        ])
        .allow_headers(names(CORS_ALLOWED_HEADERS))
        .expose_headers(names(CORS_EXPOSED_HEADERS))
        .max_age(std::time::Duration::from_secs(3600))
}

fn names(list: &[&'static str]) -> Vec<HeaderName> {
    list.iter().map(|n| HeaderName::from_static(n)).collect()
}
