//! A minimal HTTP/1.1 keep-alive client for the load generator.
//!
//! Requests are pre-serialised bytes; a response is read until its
//! `Content-Length` is complete, and only the status and (on request) the
//! `Set-Cookie` pairs are kept. That keeps the generator's cost per request
//! far below the servers', so that on a shared 2-core machine the servers,
//! not the generator, are what is measured.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most headers a response may have.
const MAX_HEADERS: usize = 48;

/// A serialised `GET` request.
pub fn get(path: &str, host: &str, cookie: Option<&str>) -> Vec<u8> {
    request("GET", path, host, cookie)
}

/// A serialised `POST` request with an empty body.
pub fn post(path: &str, host: &str, cookie: Option<&str>) -> Vec<u8> {
    request("POST", path, host, cookie)
}

/// A serialised `POST` request with a JSON body and extra headers.
pub fn post_json(path: &str, host: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut r = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (n, v) in headers {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    r.into_bytes()
}

fn request(method: &str, path: &str, host: &str, cookie: Option<&str>) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    if let Some(c) = cookie {
        r.push_str("Cookie: ");
        r.push_str(c);
        r.push_str("\r\n");
    }
    if method != "GET" {
        r.push_str("Content-Length: 0\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// What the generator keeps of a response.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// `name=value` of every `Set-Cookie` with a non-empty value (only when
    /// asked for).
    pub set_cookies: Vec<(String, String)>,
    /// The body (only when asked for).
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the cookie `name` that the response set.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A `Cookie` header value with every cookie the response set, but
    /// those named in `except` (e.g. the refresh token, whose `Path` keeps
    /// a browser from sending it to other routes).
    pub fn cookie_header(&self, except: &[&str]) -> String {
        let mut out = String::new();
        for (n, v) in &self.set_cookies {
            if except.contains(&n.as_str()) {
                continue;
            }
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(n);
            out.push('=');
            out.push_str(v);
        }
        out
    }
}

/// One keep-alive connection.
#[derive(Debug)]
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    /// A connection to `addr`, opened now.
    pub async fn open(addr: SocketAddr) -> io::Result<Self> {
        let mut c = Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        };
        c.connect().await?;
        Ok(c)
    }

    async fn connect(&mut self) -> io::Result<()> {
        let s = TcpStream::connect(self.addr).await?;
        s.set_nodelay(true)?;
        self.stream = Some(s);
        self.buf.clear();
        Ok(())
    }

    /// Sends one request and reads its response. `keep` says whether to
    /// keep the `Set-Cookie` pairs and the body. After an I/O error the
    /// next call reconnects.
    pub async fn send(&mut self, req: &[u8], keep: bool) -> io::Result<Response> {
        if self.stream.is_none() {
            self.connect().await?;
        }
        let result = self.exchange(req, keep).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(&mut self, req: &[u8], keep: bool) -> io::Result<Response> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "no stream"));
        };
        stream.write_all(req).await?;
        loop {
            if let Some((head, length, mut resp, close)) = parse(&self.buf, keep)? {
                let total = head + length;
                if self.buf.len() >= total {
                    if keep {
                        resp.body = self.buf[head..total].to_vec();
                    }
                    self.buf.drain(..total);
                    if close {
                        self.stream = None;
                    }
                    return Ok(resp);
                }
            }
            self.buf.reserve(8192);
            let n = stream.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before the response was complete",
                ));
            }
        }
    }
}

/// What [`parse`] found: head length, body length, the response (body not
/// yet filled in), and whether the server closes the connection.
type Parsed = (usize, usize, Response, bool);

/// Parses the head in `buf`: `None` while incomplete.
fn parse(buf: &[u8], keep: bool) -> io::Result<Option<Parsed>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut r = httparse::Response::new(&mut headers);
    let head = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
    };
    let mut length = None;
    let mut close = false;
    let mut set_cookies = Vec::new();
    for h in r.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunked responses are not supported by the generator",
            ));
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        } else if keep && h.name.eq_ignore_ascii_case("set-cookie") {
            let v = String::from_utf8_lossy(h.value);
            let pair = v.split(';').next().unwrap_or("");
            if let Some((n, val)) = pair.split_once('=') {
                let val = val.trim().trim_matches('"');
                if !val.is_empty() {
                    set_cookies.push((n.trim().to_owned(), val.to_owned()));
                }
            }
        }
    }
    let status = r.code.unwrap_or(0);
    let length = match length {
        Some(l) => l,
        None if status == 204 || status == 304 || (100..200).contains(&status) => 0,
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("response {status} without Content-Length"),
            ));
        }
    };
    let resp = Response {
        status,
        set_cookies,
        body: Vec::new(),
    };
    Ok(Some((head, length, resp, close)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_complete_response_with_cookies() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nset-cookie: sAccessToken=abc; Path=/\r\nset-cookie: sRefreshToken=def; Path=/auth/session/refresh\r\nset-cookie: gone=; Max-Age=0\r\n\r\n{}";
        let (head, length, resp, close) = parse(raw, true).unwrap().unwrap();
        assert_eq!(head + length, raw.len());
        assert_eq!(resp.status, 200);
        assert!(!close);
        assert_eq!(resp.cookie("sRefreshToken"), Some("def"));
        assert_eq!(resp.cookie_header(&["sRefreshToken"]), "sAccessToken=abc");
    }

    #[test]
    fn partial_heads_wait() {
        assert!(
            parse(b"HTTP/1.1 200 OK\r\ncontent-le", false)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn requests_are_well_formed() {
        let r = post("/data", "127.0.0.1:1", Some("id=x"));
        assert_eq!(
            r,
            b"POST /data HTTP/1.1\r\nHost: 127.0.0.1:1\r\nCookie: id=x\r\nContent-Length: 0\r\n\r\n"
        );
    }
}
