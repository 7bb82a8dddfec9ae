//! Connection limits of `tessera_axum::serve`, over real loopback sockets:
//! sockets that send nothing, idle keep-alive connections, h2c (off by
//! default; when on, hand-written HTTP/2 frames), the connection cap and an
//! accept loop that runs out of file descriptors (a child process — this
//! test binary re-run as [`child_process_for_the_fd_exhaustion_test`] —
//! under `ulimit -n 64`).
//!
//! Timeouts are set short for the test; every wait for the server to act
//! has a generous guard ([`GUARD`]) that only a server that never acts hits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tessera_axum::ServerLimits;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Longest any test waits for the server to do what it must.
const GUARD: Duration = Duration::from_secs(5);
/// Short timeouts the tests configure.
const SHORT: Duration = Duration::from_millis(300);
/// Long enough never to fire during a test.
const LONG: Duration = Duration::from_secs(120);

fn app() -> Router {
    Router::new().route("/hello", get(|| async { "hello" }))
}

async fn start(limits: ServerLimits) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tessera_axum::serve(
        listener,
        app(),
        limits,
        std::future::pending::<()>(),
    ));
    addr
}

/// Reads until the server closes the connection; returns what it sent.
/// Panics if it is still open after [`GUARD`].
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let read = tokio::time::timeout(GUARD, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server left the connection open");
    all
}

/// One HTTP/1.1 keep-alive `GET path` on `stream`; returns the status and
/// body (the server sends `content-length` for these small bodies).
async fn get_on(stream: &mut TcpStream, path: &str) -> (u16, String) {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    tokio::time::timeout(GUARD, read_response(stream))
        .await
        .expect("no answer")
}

async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before a response");
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_lowercase();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while got.len() < head_end + length {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed inside a body");
        got.extend_from_slice(&buf[..n]);
    }
    (
        status,
        String::from_utf8_lossy(&got[head_end..head_end + length]).into_owned(),
    )
}

// ---------------------------------------------------------------- HTTP/1

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_first_request_timeout() {
    let addr = start(ServerLimits::default().first_request_timeout(SHORT)).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert_eq!(read_until_closed(&mut silent).await, b"");
    // The server serves others meanwhile and after.
    let mut other = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_on(&mut other, "/hello").await, (200, "hello".into()));
}

#[tokio::test]
async fn an_idle_http1_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let addr = start(
        ServerLimits::default()
            .first_request_timeout(LONG)
            .idle_timeout(SHORT),
    )
    .await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_on(&mut conn, "/hello").await, (200, "hello".into()));
    // Kept alive for a second request at once …
    assert_eq!(get_on(&mut conn, "/hello").await, (200, "hello".into()));
    // … then closed by the server once idle.
    assert_eq!(read_until_closed(&mut conn).await, b"");
}

// ---------------------------------------------------------------- HTTP/2 (h2c)

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// HPACK for `GET http://x/hello` (static-table indexes, no Huffman).
fn get_hello_block() -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x44, 6];
    block.extend_from_slice(b"/hello");
    block.extend_from_slice(&[0x41, 1, b'x']);
    block
}

struct Frame {
    kind: u8,
    flags: u8,
    payload: Vec<u8>,
}

/// The next frame, or `None` when the server closes the connection.
async fn read_frame(stream: &mut TcpStream) -> Option<Frame> {
    let mut head = [0u8; 9];
    tokio::time::timeout(GUARD, stream.read_exact(&mut head))
        .await
        .expect("the server neither sent a frame nor closed")
        .ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    tokio::time::timeout(GUARD, stream.read_exact(&mut payload))
        .await
        .expect("a frame cut short")
        .ok()?;
    Some(Frame {
        kind: head[3],
        flags: head[4],
        payload,
    })
}

fn setting(payload: &[u8], id: u16) -> Option<u32> {
    payload.chunks_exact(6).find_map(|s| {
        (u16::from_be_bytes([s[0], s[1]]) == id)
            .then(|| u32::from_be_bytes([s[2], s[3], s[4], s[5]]))
    })
}

#[tokio::test]
async fn h2c_prior_knowledge_is_refused_by_default() {
    let addr = start(ServerLimits::default()).await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(PREFACE).await.unwrap();
    conn.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
    // No SETTINGS frame back (an HTTP/2 server's first words): the HTTP/1
    // parser rejects the preface and closes.
    let reply = read_until_closed(&mut conn).await;
    assert!(
        reply.is_empty() || reply.starts_with(b"HTTP/1.1 "),
        "{reply:?}"
    );
    // HTTP/1.1 is served.
    let mut other = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_on(&mut other, "/hello").await, (200, "hello".into()));
}

#[tokio::test]
async fn with_h2c_on_a_headers_frame_without_end_headers_is_closed_after_the_first_request_timeout()
{
    let addr = start(
        ServerLimits::default()
            .allow_h2c(true)
            .first_request_timeout(SHORT)
            .idle_timeout(LONG)
            .header_read_timeout(LONG),
    )
    .await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(PREFACE).await.unwrap();
    conn.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
    // A header block that is never finished: no END_HEADERS, no CONTINUATION.
    conn.write_all(&frame(HEADERS, END_STREAM, 1, &get_hello_block()[..3]))
        .await
        .unwrap();
    // Then nothing at all: any frame but a CONTINUATION (even a SETTINGS
    // ACK) would be a protocol error the server closes on by itself.
    while let Some(f) = read_frame(&mut conn).await {
        assert_ne!(f.kind, HEADERS, "answered an unfinished header block");
    }
}

#[tokio::test]
async fn with_h2c_on_an_idle_connection_is_closed_after_the_idle_timeout() {
    let addr = start(
        ServerLimits::default()
            .allow_h2c(true)
            .first_request_timeout(LONG)
            .idle_timeout(SHORT),
    )
    .await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(PREFACE).await.unwrap();
    conn.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
    conn.write_all(&frame(
        HEADERS,
        END_STREAM | END_HEADERS,
        1,
        &get_hello_block(),
    ))
    .await
    .unwrap();
    let (mut answered, mut goaway) = (false, false);
    while let Some(f) = read_frame(&mut conn).await {
        match f.kind {
            SETTINGS if f.flags & ACK == 0 => {
                conn.write_all(&frame(SETTINGS, ACK, 0, &[])).await.unwrap();
            }
            // `:status: 200` is HPACK static index 8.
            HEADERS => answered = f.payload.first() == Some(&0x88),
            GOAWAY => goaway = true,
            _ => {}
        }
    }
    assert!(answered, "the request was not answered 200");
    assert!(goaway, "closed without a GOAWAY");
}

#[tokio::test]
async fn with_h2c_on_concurrent_streams_are_capped() {
    for (limits, cap) in [
        (ServerLimits::default().allow_h2c(true), 100),
        (
            ServerLimits::default()
                .allow_h2c(true)
                .max_concurrent_streams(5),
            5,
        ),
    ] {
        let addr = start(limits).await;
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(PREFACE).await.unwrap();
        conn.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
        // The server's first frame is its SETTINGS, with the cap.
        let first = read_frame(&mut conn).await.expect("closed at once");
        assert_eq!(first.kind, SETTINGS);
        assert_eq!(
            setting(&first.payload, SETTINGS_MAX_CONCURRENT_STREAMS),
            Some(cap)
        );
    }
}

#[tokio::test]
async fn with_h2c_on_a_peer_that_does_not_answer_keep_alive_pings_is_dropped() {
    let addr = start(
        ServerLimits::default()
            .allow_h2c(true)
            .first_request_timeout(LONG)
            .idle_timeout(LONG)
            .keep_alive_interval(Duration::from_millis(200))
            .keep_alive_timeout(Duration::from_millis(200)),
    )
    .await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(PREFACE).await.unwrap();
    conn.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
    conn.write_all(&frame(
        HEADERS,
        END_STREAM | END_HEADERS,
        1,
        &get_hello_block(),
    ))
    .await
    .unwrap();
    let mut pinged = false;
    // Reads everything, answers nothing (not even SETTINGS or PING).
    while let Some(f) = read_frame(&mut conn).await {
        pinged |= f.kind == PING && f.flags & ACK == 0;
    }
    assert!(pinged, "closed without a keep-alive ping");
}

// ---------------------------------------------------------------- shutdown

#[tokio::test]
async fn shutdown_closes_idle_connections_and_lets_requests_in_flight_finish() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // `/slow` says when it has started, then takes a while to answer.
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let slow = {
        let started = started.clone();
        move || async move {
            started.notify_one();
            tokio::time::sleep(Duration::from_millis(300)).await;
            "slow"
        }
    };
    let server = tokio::spawn(tessera_axum::serve(
        listener,
        app().route("/slow", get(slow)),
        ServerLimits::default()
            .first_request_timeout(LONG)
            .idle_timeout(LONG),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_on(&mut idle, "/hello").await, (200, "hello".into()));
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(GUARD, started.notified())
        .await
        .expect("/slow never started");
    stop.send(()).unwrap();
    assert_eq!(
        tokio::time::timeout(GUARD, read_response(&mut busy))
            .await
            .expect("the request in flight was not answered"),
        (200, "slow".into())
    );
    assert_eq!(read_until_closed(&mut idle).await, b"");
    assert_eq!(read_until_closed(&mut silent).await, b"");
    tokio::time::timeout(GUARD, server)
        .await
        .expect("serve did not return")
        .unwrap()
        .unwrap();
}

// ---------------------------------------------------------------- the cap

#[tokio::test]
async fn past_the_connection_cap_new_connections_wait_until_one_closes() {
    let addr = start(
        ServerLimits::default()
            .max_connections(3)
            .first_request_timeout(LONG)
            .idle_timeout(LONG),
    )
    .await;
    let mut held = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_on(&mut held, "/hello").await, (200, "hello".into()));
    let silent = [
        TcpStream::connect(addr).await.unwrap(),
        TcpStream::connect(addr).await.unwrap(),
    ];
    // The kernel completes the handshake; the server does not take it up.
    let mut waiting = TcpStream::connect(addr).await.unwrap();
    waiting
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut byte))
            .await
            .is_err(),
        "a connection past the cap was served"
    );
    // The connections it holds are still served.
    assert_eq!(get_on(&mut held, "/hello").await, (200, "hello".into()));
    // Once the silent ones go, the waiting one is answered.
    drop(silent);
    let answer = tokio::time::timeout(GUARD, read_response(&mut waiting))
        .await
        .expect("the waiting connection was never served");
    assert_eq!(answer, (200, "hello".into()));
}

// ---------------------------------------------------------------- EMFILE

const CHILD_ENV: &str = "TESSERA_AXUM_CONNECTIONS_CHILD";
const READY: &str = "tessera-axum connections child listening on ";
const ACCEPT_FAILED: &str = "accept failed";
const ACCEPTING_AGAIN: &str = "accepting connections again";

/// Not a test of its own: the server the fd-exhaustion test runs under a
/// low `RLIMIT_NOFILE`. Without the environment variable it returns at once.
#[tokio::test]
async fn child_process_for_the_fd_exhaustion_test() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("tessera::serve=info"))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let _ = writeln!(
        std::io::stdout(),
        "{READY}{}",
        listener.local_addr().unwrap()
    );
    let _ = std::io::stdout().flush();
    // No cap below the fd limit, so that the limit is what is hit.
    tessera_axum::serve(
        listener,
        app(),
        ServerLimits::default()
            .max_connections(100_000)
            .first_request_timeout(LONG)
            .idle_timeout(LONG),
        std::future::pending::<()>(),
    )
    .await
    .unwrap();
}

/// Waits for a line of the child's log containing `what`; returns every
/// line read so far.
fn wait_for_log(lines: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>, what: &str) {
    loop {
        match lines.recv_timeout(GUARD) {
            Ok(line) => {
                let found = line.contains(what);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(_) => panic!("the server never logged {what:?}; it logged {seen:#?}"),
        }
    }
}

#[tokio::test]
async fn the_accept_loop_survives_running_out_of_file_descriptors_and_logs_once_per_burst() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 64 && exec \"$0\" \"$@\"",
            exe.to_str().unwrap(),
            "--exact",
            "child_process_for_the_fd_exhaustion_test",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop_std();
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let err = BufReader::new(child.0.stderr.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in err.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut line = String::new();
    let addr: SocketAddr = loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended before listening"
        );
        if let Some(at) = line.find(READY) {
            break line[at + READY.len()..].trim().parse().unwrap();
        }
    };

    let mut held = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_on(&mut held, "/hello").await, (200, "hello".into()));
    // More sockets than the child has descriptors: it runs out.
    let mut silent = Vec::new();
    for _ in 0..100 {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut seen = Vec::new();
    wait_for_log(&lines, &mut seen, ACCEPT_FAILED);
    // Out of descriptors, it still serves what it holds.
    assert_eq!(get_on(&mut held, "/hello").await, (200, "hello".into()));
    // Released, it accepts and serves new connections again.
    drop(silent);
    let mut fresh = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_on(&mut fresh, "/hello").await, (200, "hello".into()));
    wait_for_log(&lines, &mut seen, ACCEPTING_AGAIN);
    drop(child);
    seen.extend(lines.try_iter());
    let failed = seen.iter().filter(|l| l.contains(ACCEPT_FAILED)).count();
    let again = seen.iter().filter(|l| l.contains(ACCEPTING_AGAIN)).count();
    // One warning per burst, each burst ended by one "again" (a burst may
    // still be under way when the child is killed).
    assert!(failed >= 1 && failed <= again + 1, "{seen:#?}");
}

/// A child process killed when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

trait SpawnKillOnDrop {
    fn kill_on_drop_std(&mut self) -> KillOnDrop;
}

impl SpawnKillOnDrop for Command {
    fn kill_on_drop_std(&mut self) -> KillOnDrop {
        KillOnDrop(self.spawn().unwrap())
    }
}
