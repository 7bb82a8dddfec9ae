//! Keeping web browsers out of the CDI.
//!
//! The SDKs that call `tessera serve` run on servers: they send no `Origin`
//! and no `Sec-Fetch-Site`, and they name the core by the address they were
//! configured with. A web page, on the other hand, can make a visitor's
//! browser send requests to `127.0.0.1:3567`: cross-origin ones (which
//! carry `Origin`, and `Sec-Fetch-Site: cross-site` from every current
//! browser), or, after DNS rebinding, same-origin ones under the attacker's
//! host name (which carry `Host: attacker.example`, and `Sec-Fetch-Site:
//! same-origin`). So, on every route behind the API key (the CDI,
//! `/apiversion`, `/metrics`):
//!
//! - a request that carries `Origin` (any value, `null` included), or a
//!   `Sec-Fetch-Site` other than `none` (a URL the user typed), is refused
//!   `403 Browser requests not allowed`, with or without API keys;
//! - on a server without API keys, a `Host` (or HTTP/2 authority) that is
//!   not a loopback name — `localhost`, `127.x.y.z`, `[::1]`, any port — is
//!   refused `403 Host not allowed`. A request with no `Host` at all
//!   (HTTP/1.0) passes: every browser sends one, so it is not a browser's.
//!   When the operator has chosen a keyless server on a non-loopback
//!   address (`--insecure-no-api-key`), IP literals pass too: DNS rebinding
//!   always puts a *name* in `Host`.
//!
//! `/`, `/hello`, `/{tenant}/hello` and `/.well-known/jwks.json` are left
//! open to every origin and host, as they are to every caller in
//! SuperTokens core: they change nothing and say nothing secret (a health
//! check; public keys, which browsers and gateways may fetch).
//!
//! Request bodies are checked where they are read: see `input.rs` (`415`
//! unless `Content-Type` is `application/json`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;

/// Which `Host` values a server without API keys accepts (a server with
/// API keys accepts any: a page cannot present the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostPolicy {
    /// Only loopback names: `localhost`, `127.x.y.z`, `[::1]`, with or
    /// without a port. The rule for a server on a loopback address.
    #[default]
    Loopback,
    /// Loopback names and any IP literal (`10.0.0.5:3567`, `[fd00::1]`),
    /// never another name: for a keyless server the operator has chosen to
    /// expose on the network (`--insecure-no-api-key`).
    LoopbackOrIp,
}

/// Refuses browser requests (see the module documentation) before the
/// API key is checked.
pub(crate) async fn refuse_browsers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match check(&state, &request) {
        Ok(()) => next.run(request).await,
        Err(e) => {
            tracing::debug!(target: "tessera_server::guard", path = %request.uri().path(), "refused a browser request");
            e.into_response()
        }
    }
}

fn check(state: &AppState, request: &Request) -> Result<(), ApiError> {
    if from_a_browser(request.headers()) {
        return Err(ApiError::Forbidden("Browser requests not allowed"));
    }
    if state.api_keys().is_empty() {
        let policy = state.host_policy();
        let authority = request.uri().authority().map(|a| a.as_str().as_bytes());
        let hosts = request.headers().get_all(HOST).iter().map(|v| v.as_bytes());
        if !authority
            .into_iter()
            .chain(hosts)
            .all(|h| host_allowed(h, policy))
        {
            return Err(ApiError::Forbidden("Host not allowed"));
        }
    }
    Ok(())
}

/// Whether the headers are a browser's: any `Origin`, or a `Sec-Fetch-Site`
/// other than `none`. (`Sec-Fetch-Mode` alone is not: Node's `fetch` sends
/// `Sec-Fetch-Mode: cors` from servers.)
fn from_a_browser(headers: &HeaderMap) -> bool {
    headers.contains_key(ORIGIN)
        || headers
            .get_all("sec-fetch-site")
            .iter()
            .any(|v| !v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"none"))
}

/// Whether a `Host` value (`name[:port]`, `[v6][:port]`) is allowed.
fn host_allowed(value: &[u8], policy: HostPolicy) -> bool {
    let Ok(value) = std::str::from_utf8(value.trim_ascii()) else {
        return false;
    };
    let Some(host) = host_without_port(value) else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        None => host.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    };
    match ip {
        Some(ip) => ip.to_canonical().is_loopback() || policy == HostPolicy::LoopbackOrIp,
        None => false,
    }
}

/// The host part of `host[:port]`, `None` when the port is not a number.
fn host_without_port(value: &str) -> Option<&str> {
    let (host, port) = if value.starts_with('[') {
        match value.find(']') {
            Some(end) => (&value[..=end], &value[end + 1..]),
            None => return None,
        }
    } else {
        match value.rsplit_once(':') {
            Some((host, _)) => (host, &value[host.len()..]),
            None => (value, ""),
        }
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
        });
    (port_ok && !host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::{HostPolicy, from_a_browser, host_allowed};

    #[test]
    fn loopback_names_with_or_without_a_port_are_allowed() {
        for host in [
            "localhost",
            "LocalHost:3567",
            "127.0.0.1",
            "127.0.0.1:3567",
            "127.8.9.10:80",
            "[::1]",
            "[::1]:3567",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(
                host_allowed(host.as_bytes(), HostPolicy::Loopback),
                "{host}"
            );
        }
    }

    #[test]
    fn other_names_and_addresses_are_refused() {
        for host in [
            "",
            "evil.example",
            "evil.example:3567",
            "localhost.evil.example",
            "localhost.",
            "127.0.0.1.nip.io",
            "0.0.0.0:3567",
            "192.168.1.5",
            "[::2]",
            "[::1",
            "::1",
            "127.1",
            "localhost:",
            "localhost:abc",
            "localhost:123456",
            "localhost:3567:1",
            "[::1]x",
        ] {
            assert!(
                !host_allowed(host.as_bytes(), HostPolicy::Loopback),
                "{host}"
            );
        }
        assert!(!host_allowed(b"\xff", HostPolicy::Loopback));
    }

    #[test]
    fn an_exposed_keyless_server_also_takes_ip_literals_but_no_other_name() {
        for host in [
            "10.0.0.5:3567",
            "192.168.1.5",
            "[fd00::1]:3567",
            "localhost",
        ] {
            assert!(
                host_allowed(host.as_bytes(), HostPolicy::LoopbackOrIp),
                "{host}"
            );
        }
        for host in ["evil.example:3567", "tessera:3567", "10.0.0.5.nip.io"] {
            assert!(
                !host_allowed(host.as_bytes(), HostPolicy::LoopbackOrIp),
                "{host}"
            );
        }
    }

    #[test]
    fn origin_or_a_fetch_site_other_than_none_marks_a_browser() {
        let mut h = HeaderMap::new();
        assert!(!from_a_browser(&h));
        h.insert("sec-fetch-mode", HeaderValue::from_static("cors"));
        assert!(!from_a_browser(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("none"));
        assert!(!from_a_browser(&h));
        for site in ["same-origin", "same-site", "cross-site", ""] {
            h.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert!(from_a_browser(&h), "{site}");
        }
        let mut h = HeaderMap::new();
        h.insert("origin", HeaderValue::from_static("null"));
        assert!(from_a_browser(&h));
    }
}
