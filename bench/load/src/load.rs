//! The closed-loop load generator: a fixed number of keep-alive
//! connections, each sending its next request as soon as the previous
//! response is complete, for a fixed duration.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::http::{self, Conn, Response};

/// What the connections send.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Connection `i` sends request `i % len` every time (one session per
    /// connection, its token reused as a browser does).
    PerConnection(Arc<Vec<Vec<u8>>>),
    /// Every request is drawn uniformly at random from the pool (many
    /// distinct users).
    Random(Arc<Vec<Vec<u8>>>),
    /// Repeatedly: create a session (`POST {login_prefix}{fresh user}`),
    /// then refresh it once (`POST {refresh_path}` with the refresh-token
    /// cookie). Both requests count.
    CreateRefresh {
        /// The `Host` header.
        host: String,
        /// The login path without the user id, e.g. `/login/`.
        login_prefix: String,
        /// The refresh path, e.g. `/auth/session/refresh`.
        refresh_path: String,
        /// Distinguishes the user ids of different runs.
        run_tag: String,
    },
}

/// The outcome of one run.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Completed requests (errors included).
    pub requests: u64,
    /// Requests answered with a status ≥ 400, or failed on the socket.
    pub errors: u64,
    /// From the start to the end of the last connection's last request.
    pub elapsed: Duration,
    /// Every request's latency in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
}

impl Sample {
    /// Requests per second.
    pub fn rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    /// The `q` quantile (0–1) of latency, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let last = self.latencies_us.len() - 1;
        let idx = ((last as f64) * q).round() as usize;
        f64::from(self.latencies_us[idx.min(last)]) / 1000.0
    }
}

/// What one connection did.
#[derive(Default)]
struct Part {
    requests: u64,
    errors: u64,
    end: Option<Instant>,
    latencies_us: Vec<u32>,
    first_error: Option<String>,
}

impl Part {
    fn record(&mut self, started: Instant, outcome: Result<u16, String>) {
        let now = Instant::now();
        let us = u32::try_from(now.duration_since(started).as_micros()).unwrap_or(u32::MAX);
        self.latencies_us.push(us);
        self.requests += 1;
        self.end = Some(now);
        let err = match outcome {
            Ok(status) if status < 400 => None,
            Ok(status) => Some(format!("HTTP {status}")),
            Err(e) => Some(e),
        };
        if let Some(e) = err {
            self.errors += 1;
            if self.first_error.is_none() {
                self.first_error = Some(e);
            }
        }
    }
}

/// Runs `plan` against `addr` over `connections` connections for
/// `duration`. Connections are opened before the clock starts.
pub async fn run(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    plan: &Plan,
) -> io::Result<Sample> {
    run_on(&[addr], connections, duration, plan).await
}

/// As [`run`], with the connections spread over several servers of one
/// system (connection `i` goes to `addrs[i % addrs.len()]`).
pub async fn run_on(
    addrs: &[SocketAddr],
    connections: usize,
    duration: Duration,
    plan: &Plan,
) -> io::Result<Sample> {
    if addrs.is_empty() {
        return Err(io::Error::other("no server address"));
    }
    let mut conns = Vec::with_capacity(connections);
    for i in 0..connections {
        conns.push(Conn::open(addrs[i % addrs.len()]).await?);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut set = JoinSet::new();
    for (i, conn) in conns.into_iter().enumerate() {
        let plan = plan.clone();
        set.spawn(connection(conn, i, deadline, plan));
    }
    let mut sample = Sample::default();
    let mut end = start;
    while let Some(part) = set.join_next().await {
        let part = part.map_err(io::Error::other)?;
        sample.requests += part.requests;
        sample.errors += part.errors;
        if let Some(e) = part.end {
            end = end.max(e);
        }
        if sample.first_error.is_none() {
            sample.first_error = part.first_error;
        }
        sample.latencies_us.extend_from_slice(&part.latencies_us);
    }
    sample.elapsed = end.duration_since(start);
    sample.latencies_us.sort_unstable();
    Ok(sample)
}

/// A small xorshift generator: uniform enough to pick tokens, and free.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

async fn connection(mut conn: Conn, index: usize, deadline: Instant, plan: Plan) -> Part {
    let mut part = Part {
        latencies_us: Vec::with_capacity(1 << 14),
        ..Part::default()
    };
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ ((index as u64 + 1) << 32);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let ok = match &plan {
            Plan::PerConnection(reqs) => {
                let req = &reqs[index % reqs.len()];
                let t = Instant::now();
                let r = conn.send(req, false).await;
                let ok = r.is_ok();
                part.record(t, r.map(|r| r.status).map_err(|e| e.to_string()));
                ok
            }
            Plan::Random(reqs) => {
                let i = (next_random(&mut rng) % reqs.len() as u64) as usize;
                let t = Instant::now();
                let r = conn.send(&reqs[i], false).await;
                let ok = r.is_ok();
                part.record(t, r.map(|r| r.status).map_err(|e| e.to_string()));
                ok
            }
            Plan::CreateRefresh {
                host,
                login_prefix,
                refresh_path,
                run_tag,
            } => {
                n += 1;
                let login = http::post(
                    &format!("{login_prefix}mix-{run_tag}-{index}-{n}"),
                    host,
                    None,
                );
                let t = Instant::now();
                let created = conn.send(&login, true).await;
                let refresh_token = match &created {
                    Ok(r) => r.cookie("sRefreshToken").map(str::to_owned),
                    Err(_) => None,
                };
                let ok = created.is_ok();
                part.record(t, created.map(|r| r.status).map_err(|e| e.to_string()));
                match refresh_token {
                    Some(rt) if ok => {
                        let req =
                            http::post(refresh_path, host, Some(&format!("sRefreshToken={rt}")));
                        let t = Instant::now();
                        let r = conn.send(&req, false).await;
                        let ok = r.is_ok();
                        part.record(t, r.map(|r| r.status).map_err(|e| e.to_string()));
                        ok
                    }
                    _ => ok,
                }
            }
        };
        if !ok {
            // The socket failed: do not spin on a dead server.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    part
}

/// Sends `POST {path_of(i)}` for every `i` in `0..n` over `concurrency`
/// connections and returns the responses (with their cookies) in order.
/// Any failure is an error: this is set-up, not measurement.
pub async fn create_sessions(
    addr: SocketAddr,
    host: &str,
    n: usize,
    concurrency: usize,
    path_of: impl Fn(usize) -> String,
) -> io::Result<Vec<Response>> {
    let reqs = (0..n)
        .map(|i| http::post(&path_of(i), host, None))
        .collect();
    send_all(addr, reqs, concurrency).await
}

/// Sends every request over `concurrency` connections and returns the
/// responses (with cookies and bodies) in order; a status ≥ 400 is an
/// error.
pub async fn send_all(
    addr: SocketAddr,
    reqs: Vec<Vec<u8>>,
    concurrency: usize,
) -> io::Result<Vec<Response>> {
    let n = reqs.len();
    let reqs = Arc::new(reqs);
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..concurrency.min(n.max(1)) {
        let reqs = reqs.clone();
        let next = next.clone();
        let mut conn = Conn::open(addr).await?;
        set.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= reqs.len() {
                    return Ok::<_, io::Error>(out);
                }
                let r = conn.send(&reqs[i], true).await?;
                if r.status >= 400 {
                    return Err(io::Error::other(format!(
                        "set-up request {i}: HTTP {}: {}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    )));
                }
                out.push((i, r));
            }
        });
    }
    let mut all: Vec<Option<Response>> = vec![None; n];
    while let Some(done) = set.join_next().await {
        for (i, r) in done.map_err(io::Error::other)?? {
            all[i] = Some(r);
        }
    }
    all.into_iter()
        .enumerate()
        .map(|(i, r)| r.ok_or_else(|| io::Error::other(format!("session {i} missing"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_a_sorted_sample() {
        let s = Sample {
            requests: 100,
            elapsed: Duration::from_secs(2),
            latencies_us: (1..=100).map(|v| v * 1000).collect(),
            ..Sample::default()
        };
        assert_eq!(s.rps(), 50.0);
        assert_eq!(s.quantile_ms(0.5), 51.0);
        assert_eq!(s.quantile_ms(0.99), 99.0);
        assert_eq!(s.quantile_ms(1.0), 100.0);
    }
}
