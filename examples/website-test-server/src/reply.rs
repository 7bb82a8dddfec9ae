//! [`Reply`]: a route's answer on plain types, which each adapter turns
//! into its framework's response.

use serde_json::Value;

/// A route's answer: status, content type, extra headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<&'static str>,
    /// Other headers (name, value).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// `200`, `text/html` (what express' `res.send(string)` answers).
    pub fn text(s: impl Into<String>) -> Self {
        Self {
            status: 200,
            content_type: Some("text/html; charset=utf-8"),
            headers: Vec::new(),
            body: s.into().into_bytes(),
        }
    }

    /// `200`, `application/json`.
    pub fn json(v: &Value) -> Self {
        Self {
            status: 200,
            content_type: Some("application/json"),
            headers: Vec::new(),
            body: v.to_string().into_bytes(),
        }
    }

    /// A `text/plain` answer with this status.
    pub fn plain(status: u16, s: &str) -> Self {
        Self {
            status,
            content_type: Some("text/plain; charset=utf-8"),
            headers: Vec::new(),
            body: s.as_bytes().to_vec(),
        }
    }

    /// `404`, no body.
    pub fn not_found() -> Self {
        Self {
            status: 404,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The same answer with another status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The same answer with another content type.
    pub fn content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }

    /// The same answer with one more header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}
