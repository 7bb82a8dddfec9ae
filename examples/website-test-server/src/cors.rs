//! The upstream server's CORS settings (express `cors()` with origin
//! `http://localhost:8080`, credentials, methods GET/PUT/POST/DELETE, and
//! `content-type` plus supertokens-node's CORS headers), so that the page
//! on port 8080 can call the server on port 8082.
//!
//! Like express `cors()` the adapters' middleware answers preflights itself
//! ([`preflight`]) and adds [`RESPONSE_HEADERS`] to every other response,
//! unless the route set its own `Access-Control-Allow-Origin` (the JWKS and
//! discovery routes answer `*`).

use crate::reply::Reply;

/// The page's origin.
pub const ORIGIN: &str = "http://localhost:8080";
/// `content-type` and what supertokens-node's `getAllCORSHeaders()` lists.
pub const ALLOWED_HEADERS: &str =
    "content-type,anti-csrf,rid,fdi-version,authorization,st-auth-mode";
/// The methods the upstream server allows.
pub const ALLOWED_METHODS: &str = "GET,PUT,POST,DELETE";

/// What a response without its own `Access-Control-Allow-Origin` gets
/// (`Vary` appended, the others set).
pub const RESPONSE_HEADERS: [(&str, &str); 3] = [
    ("access-control-allow-origin", ORIGIN),
    ("access-control-allow-credentials", "true"),
    ("vary", "Origin"),
];

/// Whether a request is a CORS preflight (`OPTIONS` with
/// `Access-Control-Request-Method`).
pub fn is_preflight(method: &str, has_request_method: bool) -> bool {
    method == "OPTIONS" && has_request_method
}

/// The answer to a preflight: `204` with the allowed origin, credentials,
/// methods and headers.
pub fn preflight() -> Reply {
    Reply {
        status: 204,
        content_type: None,
        headers: vec![
            ("access-control-allow-origin", ORIGIN.into()),
            ("access-control-allow-credentials", "true".into()),
            ("access-control-allow-methods", ALLOWED_METHODS.into()),
            ("access-control-allow-headers", ALLOWED_HEADERS.into()),
            ("vary", "Origin".into()),
        ],
        body: Vec::new(),
    }
}
