//! Runs the form-login app: open http://localhost:3003 in a browser.
//!
//! ```text
//! cargo run -p tessera-form-login-example
//! TESSERA_DATABASE_URL=memory: TESSERA_ADDR=127.0.0.1:4000 cargo run -p tessera-form-login-example
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TESSERA_DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://tessera-form-login.db".into());
    let addr = std::env::var("TESSERA_ADDR").unwrap_or_else(|_| "127.0.0.1:3003".into());
    let cookie_secure = std::env::var("TESSERA_COOKIE_SECURE").map_or(true, |v| v != "false");
    let manager = tessera::SessionManager::connect(&url).await?;
    let app = tessera_form_login_example::app(manager, cookie_secure);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("form login on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
