//! A verify loop for instruction counts (`valgrind --tool=callgrind`):
//! one cookie session, then `N` (argv[1], default 2000) `GET /me` requests
//! through the layer and the `Session` extractor, in process (no sockets).
//!
//! ```text
//! cargo build --release -p tessera-axum --example verify_loop
//! valgrind --tool=callgrind --toggle-collect='*measured_loop*' \
//!     target/release/examples/verify_loop 2000
//! ```
//! The total over `N` is the cost of one request (key generation at start
//! is left out: its cost varies from run to run).

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::Request;
use serde_json::json;
use tessera_axum::{Session, SessionLayer, Sessions};
use tower::ServiceExt;

async fn login(sessions: Sessions) -> Result<&'static str, tessera_axum::Error> {
    sessions
        .create_new_session("alice", json!({ "role": "reader" }), json!({}))
        .await?;
    Ok("ok")
}

async fn me(session: Session) -> String {
    session.get_user_id().to_owned()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (app, cookie) = rt.block_on(setup())?;
    let ok = measured_loop(&rt, &app, &cookie, n)?;
    println!("{ok} of {n} verified");
    Ok(())
}

/// The app and a cookie-mode session's `sAccessToken` cookie.
async fn setup() -> Result<(Router, String), Box<dyn std::error::Error>> {
    let manager = tessera::SessionManager::in_memory().await?;
    let app: Router = Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .layer(SessionLayer::new(manager));
    let res = app
        .clone()
        .oneshot(
            Request::post("/login")
                .header("st-auth-mode", "cookie")
                .body(Body::empty())?,
        )
        .await?;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sAccessToken="))
        .and_then(|c| c.split(';').next())
        .ok_or("no access-token cookie")?
        .to_owned();
    Ok((app, cookie))
}

/// The measured part: `valgrind --tool=callgrind
/// --toggle-collect='*measured_loop*'` counts only this.
#[inline(never)]
fn measured_loop(
    rt: &tokio::runtime::Runtime,
    app: &Router,
    cookie: &str,
    n: usize,
) -> Result<usize, Box<dyn std::error::Error>> {
    rt.block_on(requests(app, cookie, n))
}

async fn requests(
    app: &Router,
    cookie: &str,
    n: usize,
) -> Result<usize, Box<dyn std::error::Error>> {
    let mut ok = 0usize;
    for _ in 0..n {
        let res = app
            .clone()
            .oneshot(
                Request::get("/me")
                    .header("cookie", format!("other=1; {cookie}"))
                    .body(Body::empty())?,
            )
            .await?;
        ok += usize::from(res.status().is_success());
    }
    Ok(ok)
}
