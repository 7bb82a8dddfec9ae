//! [`serve`]: `axum::serve` with the connection-level limits it does not set.
//!
//! `axum::serve` runs hyper without a timer, so a client that opens a
//! connection and sends its headers one byte a minute holds it for ever
//! (slowloris). This accept loop is the same hyper server with:
//!
//! - a header read timeout (default 10 s): a request whose headers are not
//!   complete by then has its connection closed;
//! - a bound on the bytes buffered for a request head (default 64 KiB) and
//!   on the number of headers (default 100): beyond them hyper answers
//!   `431` and closes;
//! - the peer address in every request as `ConnectInfo<SocketAddr>` (what
//!   [`RateLimitKey::PeerIp`](crate::RateLimitKey::PeerIp) reads);
//! - a graceful shutdown: when `shutdown` completes, no new connection is
//!   accepted and requests in flight finish.
//!
//! Per-request limits with JSON refusals (header bytes below the head
//! buffer, body size, time to answer) are [`RequestLimits`](crate::RequestLimits).

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// Connection-level limits of [`serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    header_read_timeout: Duration,
    max_head_bytes: usize,
    max_headers: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_head_bytes: 64 * 1024,
            max_headers: 100,
        }
    }
}

impl ServerLimits {
    /// Longest a client may take to send a request's headers.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Most bytes buffered for a request head (at least 8 KiB, hyper's floor).
    pub fn max_head_bytes(mut self, bytes: usize) -> Self {
        self.max_head_bytes = bytes.max(8 * 1024);
        self
    }

    /// Most headers in one request.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }
}

/// Serves `app` on `listener` with `limits` until `shutdown` completes,
/// then lets the requests in flight finish.
///
/// ```no_run
/// # async fn demo(app: axum::Router) -> std::io::Result<()> {
/// use tessera_axum::{ServerLimits, serve};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// # drop(stop);
/// serve(listener, app, ServerLimits::default(), async {
///     let _ = stopped.await; // or a signal
/// })
/// .await
/// # }
/// ```
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_head_bytes)
        .max_headers(limits.max_headers);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_head_bytes).unwrap_or(u32::MAX));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: pause, go on.
                    tracing::warn!(target: "tessera::serve", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move { app.oneshot(req.map(Body::new)).await }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(target: "tessera::serve", error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

// `Router::oneshot` never fails; keep the service's error type honest.
const _: fn() = || {
    fn infallible<S: tower::Service<http::Request<Body>, Error = Infallible>>() {}
    infallible::<Router>();
};
