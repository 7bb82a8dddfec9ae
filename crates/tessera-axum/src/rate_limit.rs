//! An optional rate limit on the refresh endpoint, built on
//! [`tower_governor`] (a maintained GCRA limiter for tower).
//!
//! A refresh is the one session call a client makes without proving
//! anything but possession of a refresh token, and each costs a database
//! write: limiting it per client blunts token guessing (already hopeless
//! against 256-bit tokens with a MAC) and, more to the point, floods that
//! would load the store. Turn it on with
//! [`SessionLayer::refresh_rate_limit`](crate::SessionLayer::refresh_rate_limit);
//! [`SessionLayer::routes`](crate::SessionLayer::routes) then puts it on the
//! refresh route only.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use http::{HeaderValue, StatusCode};
use serde_json::json;
use tower_governor::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{GlobalKeyExtractor, KeyExtractor, SmartIpKeyExtractor};

/// How often (in refresh requests) idle clients are forgotten, so the
/// limiter's table stays bounded by the clients active in the last period.
const FORGET_IDLE_EVERY: u64 = 1024;

/// Whose requests share one budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RateLimitKey {
    /// The TCP peer's address (the default). Needs the app served with
    /// `into_make_service_with_connect_info::<SocketAddr>()`; without it
    /// every refresh is answered `500` and the cause logged. Behind a
    /// reverse proxy every client shares the proxy's budget: use
    /// [`RateLimitKey::ForwardedIp`] there.
    #[default]
    PeerIp,
    /// The client address a reverse proxy reports (`X-Forwarded-For`,
    /// `X-Real-Ip`, `Forwarded`), else the peer. Only behind a proxy that
    /// overwrites those headers: a client can set them to anything.
    ForwardedIp,
    /// One budget for everybody: a ceiling on refreshes per second for the
    /// whole server.
    Global,
}

/// A refresh rate limit: a burst of `burst` requests, then one more every
/// `replenish_every`, per [`RateLimitKey`].
///
/// ```
/// use std::time::Duration;
/// use tessera_axum::RefreshRateLimit;
///
/// // 10 refreshes at once per client address, then one per 2 seconds.
/// let limit = RefreshRateLimit::new(10, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshRateLimit {
    burst: u32,
    replenish_every: Duration,
    key: RateLimitKey,
}

impl RefreshRateLimit {
    /// `burst` requests at once (at least 1), then one per `replenish_every`
    /// (at least 1 ms), per peer IP address.
    pub fn new(burst: u32, replenish_every: Duration) -> Self {
        Self {
            burst: burst.max(1),
            replenish_every: replenish_every.max(Duration::from_millis(1)),
            key: RateLimitKey::PeerIp,
        }
    }

    /// Whose requests share one budget (default: the peer IP address).
    pub fn key(mut self, key: RateLimitKey) -> Self {
        self.key = key;
        self
    }

    /// Puts the limit on a route.
    pub(crate) fn apply<S>(&self, route: MethodRouter<S>) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        match self.key {
            RateLimitKey::PeerIp => self.with(route, PeerAddr),
            RateLimitKey::ForwardedIp => self.with(route, SmartIpKeyExtractor),
            RateLimitKey::Global => self.with(route, GlobalKeyExtractor),
        }
    }

    fn with<S, K>(&self, route: MethodRouter<S>, key: K) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        K: KeyExtractor + Send + Sync + 'static,
        K::Key: Send + Sync + 'static,
    {
        let Some(config) = GovernorConfigBuilder::default()
            .key_extractor(key)
            .period(self.replenish_every)
            .burst_size(self.burst)
            .finish()
        else {
            // `new` makes both positive, so this cannot happen; stay open
            // rather than refuse every refresh.
            return route;
        };
        let config = Arc::new(config);
        let limiter = config.limiter().clone();
        let seen = Arc::new(AtomicU64::new(0));
        let layer = tower_governor::GovernorLayer::new(config).error_handler(refusal);
        route
            .layer::<_, std::convert::Infallible>(layer)
            .layer::<_, std::convert::Infallible>(tower::util::MapRequestLayer::new(
                move |req: Request| {
                    if seen
                        .fetch_add(1, Ordering::Relaxed)
                        .is_multiple_of(FORGET_IDLE_EVERY)
                    {
                        limiter.retain_recent();
                        limiter.shrink_to_fit();
                    }
                    req
                },
            ))
    }
}

/// The peer address from axum's `ConnectInfo` (tower_governor's own peer
/// extractor reads it too; this one keeps the crate's error shape).
#[derive(Debug, Clone, Copy)]
struct PeerAddr;

impl KeyExtractor for PeerAddr {
    type Key = IpAddr;

    fn extract<T>(&self, req: &http::Request<T>) -> Result<IpAddr, GovernorError> {
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// `429 {"message":"too many requests"}` with `Retry-After`, or a `500`
/// with the generic body when the client address is unknown.
fn refusal(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            tracing::info!(target: "tessera::rate_limit", retry_after_secs = wait_time, "refresh rate limit exceeded");
            let mut res = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({ "message": "too many requests" })),
            )
                .into_response();
            res.headers_mut().insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(wait_time.max(1)),
            );
            res
        }
        other => {
            tracing::error!(
                target: "tessera::rate_limit",
                error = %other,
                "refresh rate limit: client address unknown; serve the app with into_make_service_with_connect_info::<SocketAddr>() or pick another RateLimitKey"
            );
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "message": "internal error" })),
            )
                .into_response()
        }
    }
}
