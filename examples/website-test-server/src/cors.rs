//! The upstream server's CORS settings (express `cors()` with origin
//! `http://localhost:8080`, credentials, methods GET/PUT/POST/DELETE, and
//! `content-type` plus supertokens-node's CORS headers), so that the page
//! on port 8080 can call the server on port 8082.
//!
//! Like express `cors()` this answers preflights itself and adds the
//! origin and credentials headers to every other response, unless the
//! route set its own (the JWKS and discovery routes answer `*`).

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_LENGTH, VARY,
};
use http::{HeaderValue, Method, StatusCode};

/// The page's origin.
const ORIGIN: HeaderValue = HeaderValue::from_static("http://localhost:8080");
/// `content-type` and what supertokens-node's `getAllCORSHeaders()` lists.
const ALLOWED_HEADERS: HeaderValue =
    HeaderValue::from_static("content-type,anti-csrf,rid,fdi-version,authorization,st-auth-mode");
const ALLOWED_METHODS: HeaderValue = HeaderValue::from_static("GET,PUT,POST,DELETE");

/// The CORS middleware (`axum::middleware::from_fn(cors)`).
pub(crate) async fn cors(req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NO_CONTENT;
        let h = resp.headers_mut();
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN);
        h.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS);
        h.insert(ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS);
        h.insert(VARY, HeaderValue::from_static("Origin"));
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        return resp;
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if !h.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN);
        h.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.append(VARY, HeaderValue::from_static("Origin"));
    }
    resp
}
