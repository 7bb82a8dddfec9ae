//! The two translations the FDI core needs, on plain data from Python: a
//! request as a [`RequestView`] (method, path, ASGI headers), and a
//! response's ASGI header list as [`ResponseHeaders`].

use tessera_http::{RequestView, ResponseHeaders};

/// ASGI's header list: `(name, value)` byte pairs.
pub(crate) type AsgiHeaders = Vec<(Vec<u8>, Vec<u8>)>;

/// A request as Python describes it: ASGI header names are lower case.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Req {
    /// From ASGI's `(name, value)` byte pairs; values that are not UTF-8
    /// are left out (the core would not read them either).
    pub(crate) fn new(method: String, path: String, raw: AsgiHeaders) -> Self {
        let headers = raw
            .into_iter()
            .filter_map(|(n, v)| {
                let n = String::from_utf8(n).ok()?.to_ascii_lowercase();
                let v = String::from_utf8(v).ok()?;
                Some((n, v))
            })
            .collect();
        Self {
            method,
            path,
            headers,
        }
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
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
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
