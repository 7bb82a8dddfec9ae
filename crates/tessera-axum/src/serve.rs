//! [`serve`]: `axum::serve` with the connection-level limits it does not set.
//!
//! `axum::serve` runs hyper without a timer and without a bound on
//! connections, so a client that opens sockets and sends nothing (or sends
//! its headers one byte a minute, or goes quiet between requests) holds a
//! file descriptor for ever, and a few hundred of them starve the server.
//! This accept loop is the same hyper server with:
//!
//! - a first-request timeout (default 10 s): a connection that has not sent
//!   one complete request head by then is closed;
//! - an idle timeout (default 60 s): a connection with no request in flight
//!   for that long is closed (keep-alive, and HTTP/2 when it is on);
//! - a header read timeout (default 10 s): a request whose headers are not
//!   complete by then has its connection closed;
//! - a cap on concurrent connections (default 512): past it, new
//!   connections wait in the kernel's accept queue until one closes;
//! - an accept loop that survives running out of file descriptors
//!   (`EMFILE`/`ENFILE`): it logs once per burst, backs off briefly, and
//!   keeps serving the connections it holds;
//! - HTTP/1.1 only by default: h2c (cleartext HTTP/2 with prior knowledge)
//!   is off unless [`ServerLimits::allow_h2c`] turns it on, and then it has
//!   keep-alive pings and a cap on concurrent streams;
//! - a bound on the bytes buffered for a request head (default 64 KiB) and
//!   on the number of headers (default 100): beyond them hyper answers
//!   `431` and closes;
//! - the peer address in every request as `ConnectInfo<SocketAddr>` (what
//!   [`RateLimitKey::PeerIp`](crate::RateLimitKey::PeerIp) reads);
//! - a graceful shutdown: when `shutdown` completes, no new connection is
//!   accepted, idle connections are closed and requests in flight finish.
//!
//! Per-request limits with JSON refusals (header bytes below the head
//! buffer, body size, time to answer) are [`RequestLimits`](crate::RequestLimits).

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, TryAcquireError, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// How long a connection asked to close (idle, or past its first-request
/// timeout) may take to do so before it is dropped outright.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// First pause after a failed `accept` (out of file descriptors …).
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause after failed `accept`s in a row.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_millis(500);

/// Connection-level limits of [`serve`]; every default is safe for a server
/// on the open internet.
///
/// ```
/// use std::time::Duration;
/// use tessera_axum::ServerLimits;
///
/// let limits = ServerLimits::default()
///     .first_request_timeout(Duration::from_secs(5))
///     .idle_timeout(Duration::from_secs(30))
///     .max_connections(256);
/// # let _ = limits;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    header_read_timeout: Duration,
    max_head_bytes: usize,
    max_headers: usize,
    first_request_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    h2c: bool,
    max_concurrent_streams: u32,
    keep_alive_interval: Duration,
    keep_alive_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            // A real client sends its whole head in one packet; 10 s covers
            // a slow mobile link and bounds a slowloris.
            header_read_timeout: Duration::from_secs(10),
            // Far above any honest head (cookies and tokens are a few KiB).
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            // Same reasoning as the header read timeout, but counted from
            // accept, so a socket that sends nothing at all is closed too.
            first_request_timeout: Duration::from_secs(10),
            // Longer than the idle expiry of the SDKs' HTTP clients (httpx
            // 5 s, undici 4 s), so the client closes first and never reuses
            // a connection the server is closing; bounded by the cap below.
            idle_timeout: Duration::from_secs(60),
            // Below the usual soft limit of 1024 file descriptors, leaving
            // room for the database pool, logs and the listener itself.
            max_connections: 512,
            // No SuperTokens SDK and no browser speaks h2c; a proxy in front
            // speaks HTTP/1.1 to its upstream unless told otherwise.
            h2c: false,
            // HTTP/2 only. Requests to a session server are short; 100 is
            // the RFC 9113 recommended minimum.
            max_concurrent_streams: 100,
            // HTTP/2 only: a peer that does not answer a ping within 10 s of
            // it being sent (every 20 s) is gone; its connection is dropped.
            keep_alive_interval: Duration::from_secs(20),
            keep_alive_timeout: Duration::from_secs(10),
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

    /// Longest a new connection may take, from accept, to send its first
    /// complete request head; past it the connection is closed.
    pub fn first_request_timeout(mut self, timeout: Duration) -> Self {
        self.first_request_timeout = timeout;
        self
    }

    /// Longest a connection may stay open with no request in flight after
    /// its last response; past it the connection is closed.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Most connections served at once (at least 1); past it, new
    /// connections wait in the kernel's accept queue until one closes.
    pub fn max_connections(mut self, count: usize) -> Self {
        self.max_connections = count.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// Accepts HTTP/2 over cleartext with prior knowledge (h2c) besides
    /// HTTP/1.1; off by default. Turn it on only for a proxy in front that
    /// speaks h2c to its upstream.
    pub fn allow_h2c(mut self, allow: bool) -> Self {
        self.h2c = allow;
        self
    }

    /// Most concurrent streams on one HTTP/2 connection (at least 1).
    pub fn max_concurrent_streams(mut self, count: u32) -> Self {
        self.max_concurrent_streams = count.max(1);
        self
    }

    /// How often an HTTP/2 connection is pinged to check the peer is there.
    pub fn keep_alive_interval(mut self, interval: Duration) -> Self {
        self.keep_alive_interval = interval;
        self
    }

    /// How long an HTTP/2 peer has to answer a keep-alive ping before its
    /// connection is dropped.
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.keep_alive_timeout = timeout;
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
    let protocols = Protocols::new(&limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Every connection holds a receiver; `closed()` completes when all are gone.
    let (stop, _) = watch::channel(false);
    let mut accept = Acceptor::default();
    let mut capped = false;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slot(&slots, &mut capped) => permit,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = accept.next(&listener) => accepted,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            activity: Arc::new(Activity::new()),
            limits,
            stop: stop.subscribe(),
            _permit: permit,
        };
        protocols.spawn(conn, stream, peer, app.clone());
    }
    drop(listener);
    let _ = stop.send(true);
    stop.closed().await;
    Ok(())
}

/// A connection slot; waits while every slot is taken, logging once per
/// stretch at the cap (`capped` remembers it).
async fn slot(slots: &Arc<Semaphore>, capped: &mut bool) -> OwnedSemaphorePermit {
    match Arc::clone(slots).try_acquire_owned() {
        Ok(permit) => {
            if std::mem::take(capped) {
                tracing::info!(target: "tessera::serve", "below the connection cap again");
            }
            return permit;
        }
        Err(TryAcquireError::NoPermits) => {
            if !std::mem::replace(capped, true) {
                tracing::warn!(
                    target: "tessera::serve",
                    "connection cap reached; new connections wait until one closes"
                );
            }
        }
        Err(TryAcquireError::Closed) => {}
    }
    match Arc::clone(slots).acquire_owned().await {
        Ok(permit) => permit,
        // The semaphore is never closed; should it be, stop accepting.
        Err(_) => std::future::pending().await,
    }
}

/// `accept` with a back-off after failures that are not the peer's.
#[derive(Debug, Default)]
struct Acceptor {
    /// Failed accepts since the last success.
    failures: u64,
    backoff: Option<Duration>,
}

impl Acceptor {
    async fn next(&mut self, listener: &TcpListener) -> (TcpStream, SocketAddr) {
        loop {
            match listener.accept().await {
                Ok(accepted) => {
                    if self.failures > 0 {
                        tracing::info!(
                            target: "tessera::serve",
                            failures = self.failures,
                            "accepting connections again"
                        );
                    }
                    self.failures = 0;
                    self.backoff = None;
                    return accepted;
                }
                // The peer gave up before we got to it: nothing to wait for.
                Err(e) if is_peer_error(&e) => {
                    tracing::debug!(target: "tessera::serve", error = %e, "accept: peer gone");
                }
                // Out of file descriptors (EMFILE/ENFILE), buffers …: the
                // connection stays queued; log once per burst, pause, retry.
                Err(e) => {
                    if self.failures == 0 {
                        tracing::warn!(
                            target: "tessera::serve",
                            error = %e,
                            "accept failed; backing off until it succeeds again"
                        );
                    }
                    self.failures += 1;
                    let pause = self
                        .backoff
                        .map_or(ACCEPT_BACKOFF_MIN, |b| (b * 2).min(ACCEPT_BACKOFF_MAX));
                    self.backoff = Some(pause);
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

/// The HTTP builders, set up once from the limits.
struct Protocols {
    /// HTTP/1.1 alone (h2c off).
    http1: hyper::server::conn::http1::Builder,
    /// HTTP/1.1 and h2c, by the first bytes (h2c on).
    auto: Option<auto::Builder<TokioExecutor>>,
}

impl Protocols {
    fn new(limits: &ServerLimits) -> Self {
        let mut http1 = hyper::server::conn::http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.max_head_bytes)
            .max_headers(limits.max_headers);
        let auto = limits.h2c.then(|| {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_buf_size(limits.max_head_bytes)
                .max_headers(limits.max_headers);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_header_list_size(u32::try_from(limits.max_head_bytes).unwrap_or(u32::MAX))
                .max_concurrent_streams(limits.max_concurrent_streams)
                .keep_alive_interval(limits.keep_alive_interval)
                .keep_alive_timeout(limits.keep_alive_timeout);
            builder
        });
        Self { http1, auto }
    }

    fn spawn(&self, conn: Connection, stream: TcpStream, peer: SocketAddr, app: Router) {
        let io = TokioIo::new(stream);
        // The app, with the peer address in each request; `activity` learns
        // when a request starts and when its response is sent.
        let activity = Arc::clone(&conn.activity);
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let busy = Activity::begin(&activity);
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let Ok(res) = app.oneshot(req.map(Body::new)).await;
                Ok::<_, Infallible>(res.map(|inner| TrackedBody { inner, _busy: busy }))
            }
        });
        match &self.auto {
            None => {
                let http = self.http1.serve_connection(io, service).with_upgrades();
                tokio::spawn(conn.run(http, |c| c.graceful_shutdown()));
            }
            Some(auto) => {
                let http = auto
                    .serve_connection_with_upgrades(io, service)
                    .into_owned();
                tokio::spawn(conn.run(http, |c| c.graceful_shutdown()));
            }
        }
    }
}

/// What a connection is doing, shared by its service and its driver.
#[derive(Debug)]
struct Activity {
    /// Requests started whose response body is not yet sent (or dropped).
    in_flight: AtomicUsize,
    /// Whether a complete request head has arrived yet.
    served: AtomicBool,
    /// When `in_flight` last went to zero (or the connection was accepted).
    idle_since: Mutex<Instant>,
    /// Woken when `in_flight` goes to zero.
    idle: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: Mutex::new(Instant::now()),
            idle: Notify::new(),
        }
    }

    fn begin(this: &Arc<Self>) -> Busy {
        this.served.store(true, Ordering::Release);
        this.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(this))
    }

    /// When the connection is to be closed if nothing happens; `None` while
    /// a request is in flight.
    fn deadline(&self, limits: &ServerLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = *self
            .idle_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let timeout = if self.served.load(Ordering::Acquire) {
            limits.idle_timeout
        } else {
            limits.first_request_timeout
        };
        Some(since + timeout)
    }
}

/// A request in flight; dropped with its response body.
#[derive(Debug)]
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let activity = &self.0;
        // Stamp the time first, so the driver never sees zero in flight
        // with an old `idle_since`.
        *activity
            .idle_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity.idle.notify_one();
        }
    }
}

/// A response body that marks its request finished when it is dropped
/// (sent in full, or abandoned with the connection).
struct TrackedBody {
    inner: Body,
    _busy: Busy,
}

impl fmt::Debug for TrackedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedBody").finish_non_exhaustive()
    }
}

impl http_body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// One accepted connection: its slot, its timers, the shutdown signal.
struct Connection {
    activity: Arc<Activity>,
    limits: ServerLimits,
    stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    /// Drives `http` until it ends, asking it to close (`close`) when the
    /// server shuts down or the connection outlives its first-request or
    /// idle timeout, and dropping it if it has not closed [`CLOSE_GRACE`]
    /// after a timeout.
    async fn run<C, E>(mut self, http: C, close: fn(Pin<&mut C>))
    where
        C: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        let mut http = std::pin::pin!(http);
        let mut draining = false;
        let mut drop_at: Option<Instant> = None;
        loop {
            let deadline = if drop_at.is_some() {
                None
            } else {
                self.activity.deadline(&self.limits)
            };
            tokio::select! {
                ended = http.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!(target: "tessera::serve", error = %e, "connection ended with an error");
                    }
                    return;
                }
                changed = self.stop.changed(), if !draining => {
                    draining = true;
                    if changed.is_ok() {
                        close(http.as_mut());
                    }
                }
                () = self.activity.idle.notified() => {}
                () = sleep_until(deadline), if deadline.is_some() => {
                    // A request may have started since; `deadline` says.
                    if self.activity.deadline(&self.limits).is_some_and(|d| d <= Instant::now()) {
                        tracing::debug!(target: "tessera::serve", "closing a connection past its first-request or idle timeout");
                        if !draining {
                            close(http.as_mut());
                        }
                        drop_at = Some(Instant::now() + CLOSE_GRACE);
                    }
                }
                () = sleep_until(drop_at), if drop_at.is_some() => {
                    tracing::debug!(target: "tessera::serve", "dropping a connection that did not close");
                    return;
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

// `Router::oneshot` never fails; keep the service's error type honest.
const _: fn() = || {
    fn infallible<S: tower::Service<http::Request<Body>, Error = Infallible>>() {}
    infallible::<Router>();
};
