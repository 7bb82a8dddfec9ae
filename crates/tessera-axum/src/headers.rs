//! The two small translations this adapter owes the FDI core: an axum
//! request as a [`RequestView`], and a response's headers as
//! [`ResponseHeaders`].

use axum::extract::OriginalUri;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};
use tessera_http::{RequestView, ResponseHeaders};

/// The standard headers the core reads on every request, without parsing
/// the name (a `&str` lookup parses and validates it each time).
fn standard(name: &str) -> Option<HeaderName> {
    match name {
        "cookie" => Some(http::header::COOKIE),
        "authorization" => Some(http::header::AUTHORIZATION),
        _ => None,
    }
}

/// A request's head, seen by the core.
pub(crate) struct PartsView<'a>(pub(crate) &'a Parts);

impl RequestView for PartsView<'_> {
    fn method(&self) -> &str {
        self.0.method.as_str()
    }

    fn path(&self) -> &str {
        // Under `nest`, the path the client asked for.
        self.0
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| self.0.uri.path(), |u| u.0.path())
    }

    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let all = match standard(name) {
            Some(known) => self.0.headers.get_all(known),
            None => self.0.headers.get_all(name),
        };
        all.into_iter().filter_map(|v| v.to_str().ok())
    }

    fn header_bytes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let all = match standard(name) {
            Some(known) => self.0.headers.get_all(known),
            None => self.0.headers.get_all(name),
        };
        all.into_iter().map(HeaderValue::as_bytes)
    }

    fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        match standard(name) {
            Some(known) => self.0.headers.get(known),
            None => self.0.headers.get(name),
        }?
        .to_str()
        .ok()
    }
}

/// A response's headers, written by the core.
pub(crate) struct Headers<'a>(pub(crate) &'a mut HeaderMap);

impl ResponseHeaders for Headers<'_> {
    fn values(&self, name: &str) -> Vec<String> {
        self.0
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    fn append(&mut self, name: &'static str, value: &str) -> bool {
        match HeaderValue::from_str(value) {
            Ok(v) => {
                self.0.append(HeaderName::from_static(name), v);
                true
            }
            Err(_) => false,
        }
    }

    fn insert(&mut self, name: &'static str, value: &str) -> bool {
        match HeaderValue::from_str(value) {
            Ok(v) => {
                self.0.insert(HeaderName::from_static(name), v);
                true
            }
            Err(_) => false,
        }
    }

    fn remove(&mut self, name: &'static str) {
        self.0.remove(name);
    }
}
