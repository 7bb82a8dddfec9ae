//! [`RequestLimits`]: bounds on what one request may cost, with short JSON
//! refusals, for the app around a [`SessionLayer`](crate::SessionLayer).
//!
//! | what | default | refusal |
//! |---|---|---|
//! | header bytes (names and values, all headers) | 16 KiB | `431 {"message":"request header fields too large"}` |
//! | body bytes (`Content-Length` at once, chunked bodies as they are read) | 1 MiB | `413 {"message":"request body too large"}` |
//! | time to answer | 30 s | `408 {"message":"request timeout"}` |
//!
//! It also rewrites the plain-text rejections of axum's extractors (`400`,
//! `413`, `415`, `422`: a malformed JSON body, a wrong content type …) into
//! the same short JSON shape, `{"message":"<reason>"}`, without echoing any
//! part of the request. Connection-level limits (a slow client that never
//! finishes its headers, a header block beyond what the server buffers) are
//! the server's: see [`serve`](crate::serve).

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{Request, StatusCode};
use serde_json::json;
use tower::{Layer, Service};

/// Request limits: 16 KiB of headers, 1 MiB of body and 30 s to answer by
/// default, each refused with a short JSON body.
///
/// ```
/// use std::time::Duration;
/// use tessera_axum::RequestLimits;
///
/// let limits = RequestLimits::default()
///     .max_header_bytes(8 * 1024)
///     .max_body_bytes(64 * 1024)
///     .timeout(Duration::from_secs(10));
/// let app: axum::Router = axum::Router::new().layer(limits);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    max_header_bytes: usize,
    max_body_bytes: usize,
    timeout: Duration,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

impl RequestLimits {
    /// Most bytes of header names and values a request may carry.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Largest request body.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Longest a request may take to be answered.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<S> Layer<S> for RequestLimits {
    type Service = RequestLimitsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLimitsService {
            inner,
            limits: *self,
        }
    }
}

/// The service made by [`RequestLimits`].
#[derive(Clone)]
pub struct RequestLimitsService<S> {
    inner: S,
    limits: RequestLimits,
}

impl<S: fmt::Debug> fmt::Debug for RequestLimitsService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestLimitsService")
            .field("inner", &self.inner)
            .field("limits", &self.limits)
            .finish()
    }
}

impl<S, B> Service<Request<B>> for RequestLimitsService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let limits = self.limits;
        let header_bytes: usize = req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        if header_bytes > limits.max_header_bytes {
            tracing::debug!(target: "tessera::limits", header_bytes, "431: request headers too large");
            return Box::pin(async { Ok(refusal(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)) });
        }
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > u64::try_from(limits.max_body_bytes).unwrap_or(u64::MAX)) {
            tracing::debug!(target: "tessera::limits", "413: declared body too large");
            return Box::pin(async { Ok(refusal(StatusCode::PAYLOAD_TOO_LARGE)) });
        }
        let req =
            req.map(|body| Body::new(http_body_util::Limited::new(body, limits.max_body_bytes)));
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout(limits.timeout, fut).await {
                Ok(Ok(res)) => Ok(shorten(res)),
                Ok(Err(never)) => match never {},
                Err(_) => {
                    tracing::debug!(target: "tessera::limits", "408: request timed out");
                    Ok(refusal(StatusCode::REQUEST_TIMEOUT))
                }
            }
        })
    }
}

/// `{"message":"<reason>"}` with `status`.
pub(crate) fn refusal(status: StatusCode) -> Response {
    let message = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "request header fields too large",
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large",
        StatusCode::REQUEST_TIMEOUT => "request timeout",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported media type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable request body",
        _ => "bad request",
    };
    (status, Json(json!({ "message": message }))).into_response()
}

/// Replaces a plain-text extractor rejection with the short JSON shape.
fn shorten(res: Response) -> Response {
    let status = res.status();
    let rewritable = matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
            | StatusCode::UNPROCESSABLE_ENTITY
    );
    let is_text = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(rewritable && is_text) {
        return res;
    }
    // Keep every other header (cookies the layer wrote, CORS …).
    let (parts, _) = res.into_parts();
    let mut short = refusal(status);
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            short.headers_mut().append(name, value.clone());
        }
    }
    short
}
