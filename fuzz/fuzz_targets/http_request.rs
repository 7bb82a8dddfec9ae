//! Shared by the HTTP targets: a request from fuzz bytes.
//!
//! Format (bytes): the first line is `METHOD PATH`, then `name: value`
//! header lines up to an empty line, then the body. Lines end with `\n`; a
//! header that is not valid HTTP is skipped (a client cannot send it).

#![allow(dead_code)]

use axum::body::Body;
use http::{HeaderName, HeaderValue, Method, Request};

pub fn parse(data: &[u8]) -> Option<Request<Body>> {
    let mut rest = data;
    let next_line = |rest: &mut &[u8]| -> Option<Vec<u8>> {
        if rest.is_empty() {
            return None;
        }
        let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]).to_vec();
        *rest = rest.get(end + 1..).unwrap_or_default();
        Some(line)
    };
    let first = next_line(&mut rest)?;
    let first = String::from_utf8_lossy(&first).into_owned();
    let (method, path) = first.split_once(' ').unwrap_or(("GET", first.as_str()));
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let mut builder = Request::builder().method(method).uri(path);
    while let Some(line) = next_line(&mut rest) {
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        builder = builder.header(name, value);
    }
    builder.body(Body::from(rest.to_vec())).ok()
}

/// A seed file in the format above.
pub fn render(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("{method} {path}\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push('\n');
    out.push_str(body);
    out.into_bytes()
}
