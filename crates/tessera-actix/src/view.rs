//! The two small translations this adapter owes the FDI core: an actix-web
//! request as a [`RequestView`], and a response's headers as
//! [`ResponseHeaders`].

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use tessera_http::{RequestView, ResponseHeaders};

/// The standard headers the core reads on every request, without parsing
/// the name (a `&str` lookup parses and validates it each time).
fn standard(name: &str) -> Option<HeaderName> {
    match name {
        "cookie" => Some(actix_web::http::header::COOKIE),
        "authorization" => Some(actix_web::http::header::AUTHORIZATION),
        _ => None,
    }
}

/// A request, seen by the core.
pub(crate) struct View<'a>(pub(crate) &'a HttpRequest);

impl RequestView for View<'_> {
    fn method(&self) -> &str {
        self.0.method().as_str()
    }

    fn path(&self) -> &str {
        self.0.path()
    }

    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let all = match standard(name) {
            Some(known) => self.0.headers().get_all(known),
            None => self.0.headers().get_all(name),
        };
        all.filter_map(|v| v.to_str().ok())
    }

    fn header_bytes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let all = match standard(name) {
            Some(known) => self.0.headers().get_all(known),
            None => self.0.headers().get_all(name),
        };
        all.map(HeaderValue::as_bytes)
    }

    fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        match standard(name) {
            Some(known) => self.0.headers().get(known),
            None => self.0.headers().get(name),
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
