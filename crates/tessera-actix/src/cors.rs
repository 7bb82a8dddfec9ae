//! [`cors`]: actix-cors configured for supertokens-website.

use actix_cors::Cors;
use tessera_http::names::{CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS};

/// An actix-cors middleware for a website on other origins: the given
/// origins only (exact match, e.g. `"https://app.example.com"`),
/// credentials allowed, the request headers the SDK sends (`rid`,
/// `fdi-version`, `anti-csrf`, `st-auth-mode`, `authorization`,
/// `content-type`) and the response headers it reads (`front-token`,
/// `anti-csrf`, `st-access-token`, `st-refresh-token`) exposed. Wrap it
/// outside [`SessionMiddleware`](crate::SessionMiddleware) (`wrap` it
/// last) so preflights are answered before sessions are looked at.
///
/// actix-cors refuses a request whose `Origin` is not in the list — the
/// page's own origin too, which browsers send on same-origin `POST`s: list
/// it as well when the API also serves a page.
pub fn cors(origins: &[&str]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
        .allowed_headers(CORS_ALLOWED_HEADERS.iter().copied())
        .expose_headers(CORS_EXPOSED_HEADERS.iter().copied())
        .supports_credentials()
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
