//! A header-mode (mobile) client against the cookbook app: logs in, calls
//! `GET /api/me`, refreshing on `401 try refresh token`, then signs out.
//!
//! ```text
//! cargo run -p tessera-cookbook --example app &
//! cargo run -p tessera-cookbook --example mobile_client -- http://127.0.0.1:3002 ada@example.com 'correct horse'
//! ```

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
    println!("login: {}", client.login(&email, &password).await?);
    println!("GET /api/me: {}", client.get_json("/api/me").await?);
    client.refresh().await?;
    println!(
        "after a refresh, GET /api/me: {}",
        client.get_json("/api/me").await?
    );
    client.sign_out().await?;
    println!("signed out");
    Ok(())
}
