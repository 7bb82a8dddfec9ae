//! `GET /metrics`: Prometheus metrics of the server.
//!
//! Built on `prometheus-client`, the Prometheus project's own Rust client:
//! it is maintained, lock-free on the counting path (atomics; a read lock
//! per labelled family lookup), and its encoder gets the exposition format
//! (escaping, histogram `_bucket`/`_sum`/`_count`, `# EOF`) right, which a
//! hand-rolled exporter would have to re-test. The text is OpenMetrics 1.0,
//! which every Prometheus since 2.5 scrapes.
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `tessera_http_requests_total` | `method`, `endpoint`, `status` | requests answered; `endpoint` is the route template (`/{tenant}/recipe/session`), `unmatched` for unknown paths |
//! | `tessera_http_request_duration_seconds` | `method`, `endpoint` | latency histogram |
//! | `tessera_sessions_created_total` | | sessions created |
//! | `tessera_sessions_refreshed_total` | | successful refreshes |
//! | `tessera_sessions_revoked_total` | `reason` (`request`, `theft`) | sessions revoked by this server |
//! | `tessera_token_theft_detected_total` | | refresh-token reuse detected |
//!
//! **No label value comes from the client.** A label set is kept for ever
//! and written out on every scrape, so a label copied from the request
//! (a 60 KB method name, a random path) would let any client grow the
//! server's memory and its `/metrics` text without limit. `method` is one
//! of [`METHOD_LABELS`] (a standard method, else `other`); `endpoint` is
//! one of the server's route templates, else `unmatched` (see
//! [`endpoint_label`]); `status` is the status the server chose. The
//! number of series is therefore fixed by the code, whatever clients send.

use std::time::Duration;

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    endpoint: &'static str,
    status: u16,
}

/// Labels of a latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    method: &'static str,
    endpoint: &'static str,
}

/// Labels of the revocation counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevokedLabels {
    reason: &'static str,
}

type HistogramFamily = Family<LatencyLabels, Histogram, fn() -> Histogram>;

/// Every metric the server keeps, and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    created: Counter,
    refreshed: Counter,
    revoked: Family<RevokedLabels, Counter>,
    theft: Counter,
}

/// Latency buckets: 0.25 ms to about 8 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, all zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let created = Counter::default();
        let refreshed = Counter::default();
        let revoked = Family::<RevokedLabels, Counter>::default();
        let theft = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency, by method and route",
            latency.clone(),
        );
        registry.register("sessions_created", "Sessions created", created.clone());
        registry.register(
            "sessions_refreshed",
            "Sessions refreshed",
            refreshed.clone(),
        );
        registry.register(
            "sessions_revoked",
            "Sessions revoked, by reason (request, theft)",
            revoked.clone(),
        );
        registry.register(
            "token_theft_detected",
            "Refresh-token reuse detected (the session is revoked)",
            theft.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            created,
            refreshed,
            revoked,
            theft,
        }
    }

    /// Counts one answered request and its latency. `method` and
    /// `endpoint` are labels from the closed sets ([`method_label`],
    /// [`endpoint_label`]): `&'static str`, so nothing a client sent can
    /// become a label.
    pub fn observe_request(
        &self,
        method: &'static str,
        endpoint: &'static str,
        status: u16,
        elapsed: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                endpoint,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels { method, endpoint })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a created session.
    pub fn session_created(&self) {
        self.created.inc();
    }

    /// Counts a refreshed session.
    pub fn session_refreshed(&self) {
        self.refreshed.inc();
    }

    /// Counts sessions revoked on request.
    pub fn sessions_revoked(&self, count: usize) {
        self.revoked
            .get_or_create(&RevokedLabels { reason: "request" })
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// Counts a token theft (and the revocation it caused).
    pub fn theft_detected(&self) {
        self.theft.inc();
        self.revoked
            .get_or_create(&RevokedLabels { reason: "theft" })
            .inc();
    }

    /// The exposition text.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(4096);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Every value the `method` label takes: the methods of RFC 9110 and
/// `PATCH`, and `other` for any other method a client invents.
pub const METHOD_LABELS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "other",
];

/// The `method` label of a request: its method if standard, else `other`.
pub fn method_label(method: &Method) -> &'static str {
    METHOD_LABELS
        .iter()
        .find(|label| **label == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// The `endpoint` label of a request: the route template it matched if it
/// is one of `templates`, else `unmatched` (an unknown path, or a template
/// missing from the list: still a fixed label, never the path itself).
pub fn endpoint_label(matched: Option<&str>, templates: &[&'static str]) -> &'static str {
    matched
        .and_then(|m| templates.iter().find(|t| **t == m).copied())
        .unwrap_or("unmatched")
}

/// Content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counters_and_histograms() {
        let m = Metrics::new();
        m.observe_request(
            method_label(&Method::POST),
            endpoint_label(Some("/recipe/session/verify"), &["/recipe/session/verify"]),
            200,
            Duration::from_millis(3),
        );
        m.session_created();
        m.theft_detected();
        let text = m.encode().unwrap();
        assert!(text.contains(
            "tessera_http_requests_total{method=\"POST\",endpoint=\"/recipe/session/verify\",status=\"200\"} 1"
        ));
        assert!(text.contains("tessera_http_request_duration_seconds_bucket{"));
        assert!(text.contains("tessera_sessions_created_total 1"));
        assert!(text.contains("tessera_sessions_revoked_total{reason=\"theft\"} 1"));
        assert!(text.contains("tessera_token_theft_detected_total 1"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn labels_come_from_closed_sets() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let invented = Method::from_bytes(b"XYZZY").unwrap();
        assert_eq!(method_label(&invented), "other");
        let lower = Method::from_bytes(b"get").unwrap();
        assert_eq!(method_label(&lower), "other");
        let templates = ["/recipe/session", "/{tenant}/hello"];
        assert_eq!(
            endpoint_label(Some("/{tenant}/hello"), &templates),
            "/{tenant}/hello"
        );
        assert_eq!(endpoint_label(Some("/elsewhere"), &templates), "unmatched");
        assert_eq!(endpoint_label(None, &templates), "unmatched");
    }
}
