//! A header-mode (mobile) client against the cookbook app: logs in, calls
//! `GET /api/me`, refreshing on `401 try refresh token`, then signs out.
//!
//! ```text
//! cargo run -p tessera-cookbook --example app &
//! cargo run -p tessera-cookbook --example mobile_client -- http://127.0.0.1:3002 ada@example.com 'correct horse'
//! ```

use std::io::Write as _;

use tessera_cookbook::Error;
use tessera_cookbook::mobile::MobileClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let (Some(base), Some(email), Some(password)) = (args.next(), args.next(), args.next()) else {
        return Err(Error::Config(
            "usage: mobile_client BASE_URL EMAIL PASSWORD".into(),
        ));
    };
    let client = MobileClient::new(base)?;
    let mut out = std::io::stdout();
    writeln!(out, "login: {}", client.login(&email, &password).await?)?;
    writeln!(out, "GET /api/me: {}", client.get_json("/api/me").await?)?;
    client.refresh().await?;
    let me = client.get_json("/api/me").await?;
    writeln!(out, "after a refresh, GET /api/me: {me}")?;
    client.sign_out().await?;
    writeln!(out, "signed out")?;
    Ok(())
}
