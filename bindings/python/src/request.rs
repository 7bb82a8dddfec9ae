//! The two translations the FDI core needs, on plain data from Python: a
//! request as a [`RequestView`] (method, path, ASGI headers), and a
//! response's ASGI header list as [`ResponseHeaders`].

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use tessera_http::names::{
    ANTI_CSRF_HEADER, AUTH_MODE_HEADER, AUTHORIZATION, COOKIE, RID_HEADER, USER_AGENT,
};
use tessera_http::{RequestView, ResponseHeaders};

/// ASGI's header list: `(name, value)` byte pairs.
pub(crate) type AsgiHeaders = Vec<(Vec<u8>, Vec<u8>)>;

/// The request headers the FDI core reads (`tessera_http`'s request side:
/// the tokens, anti-CSRF, the auth mode, `rid`, the browser hints, and the
/// user agent of a new session). Only these are copied out of Python.
const READ_HEADERS: &[&str] = &[
    COOKIE,
    AUTHORIZATION,
    ANTI_CSRF_HEADER,
    AUTH_MODE_HEADER,
    RID_HEADER,
    USER_AGENT,
    "sec-fetch-mode",
    "sec-fetch-dest",
];

/// A request as Python describes it: header names lower case, only the
/// headers the core reads, values as sent (bytes).
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(&'static str, Vec<u8>)>,
}

impl Req {
    /// From ASGI's header list (`(name, value)` byte pairs), copying only
    /// the headers in [`READ_HEADERS`], their values as bytes (the core
    /// reads the `Cookie` header as bytes, as the Rust adapters do, and
    /// other headers only when they are UTF-8). Anything but a sequence of
    /// byte pairs is a `TypeError`.
    pub(crate) fn from_asgi(
        method: String,
        path: String,
        raw: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        if raw.is_instance_of::<PyString>() || raw.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err(
                "headers must be a sequence of (name, value) byte pairs",
            ));
        }
        let mut headers = Vec::new();
        for item in raw.try_iter()? {
            let item = item?;
            let (name, value) = match item.cast::<PyTuple>() {
                Ok(pair) if pair.len() == 2 => (pair.get_item(0)?, pair.get_item(1)?),
                _ => item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?,
            };
            let name = name.cast::<PyBytes>()?.as_bytes();
            let value = value.cast::<PyBytes>()?;
            let Some(known) = READ_HEADERS
                .iter()
                .find(|k| k.as_bytes().eq_ignore_ascii_case(name))
            else {
                continue;
            };
            headers.push((*known, value.as_bytes().to_vec()));
        }
        Ok(Self {
            method,
            path,
            headers,
        })
    }
}

impl RequestView for Req {
    fn method(&self) -> &str {
        &self.method
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| *n == name)
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
    }

    fn header_bytes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// A response's ASGI header list.
#[derive(Debug, Default)]
pub(crate) struct Headers(pub(crate) AsgiHeaders);

/// Whether `value` can go in an HTTP header (visible ASCII, space, tab).
fn valid_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

impl ResponseHeaders for Headers {
    fn values(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .filter_map(|(_, v)| String::from_utf8(v.clone()).ok())
            .collect()
    }

    fn append(&mut self, name: &'static str, value: &str) -> bool {
        if !valid_value(value) {
            return false;
        }
        self.0
            .push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
        true
    }

    fn insert(&mut self, name: &'static str, value: &str) -> bool {
        if !valid_value(value) {
            return false;
        }
        self.remove(name);
        self.append(name, value)
    }

    fn remove(&mut self, name: &'static str) {
        self.0
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()));
    }
}
