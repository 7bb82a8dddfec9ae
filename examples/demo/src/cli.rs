//! The demo's command line, shared by `tessera-demo` (axum) and
//! `tessera-demo-actix`: the same flags, the same session manager, the same
//! ready line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tessera::{AntiCsrfMode, SessionManager};

/// Anti-CSRF mode names on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AntiCsrf {
    /// No anti-CSRF check.
    None,
    /// The `anti-csrf` header token.
    ViaToken,
    /// The `rid` custom header.
    ViaCustomHeader,
}

impl AntiCsrf {
    /// The engine's mode.
    pub fn mode(self) -> AntiCsrfMode {
        match self {
            Self::None => AntiCsrfMode::None,
            Self::ViaToken => AntiCsrfMode::ViaToken,
            Self::ViaCustomHeader => AntiCsrfMode::ViaCustomHeader,
        }
    }

    /// The name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ViaToken => "via-token",
            Self::ViaCustomHeader => "via-custom-header",
        }
    }
}

/// tessera demo: log in, see and change session data and payload, refresh,
/// sign out, revoke.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "TESSERA_DEMO_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Session store: sqlite://FILE, postgres://…, or memory:.
    #[arg(
        long,
        env = "TESSERA_DATABASE_URL",
        default_value = "sqlite://tessera-demo.db"
    )]
    pub database_url: String,
    /// Access-token lifetime in seconds (short, so that refreshes show).
    #[arg(
        long,
        env = "TESSERA_ACCESS_TOKEN_VALIDITY",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    pub access_token_validity: u64,
    /// Anti-CSRF mode.
    #[arg(long, env = "TESSERA_ANTI_CSRF", value_enum, default_value_t = AntiCsrf::None)]
    pub anti_csrf: AntiCsrf,
    /// Check the store on every request, so that revocation is immediate.
    #[arg(long, env = "TESSERA_BLACKLISTING")]
    pub blacklisting: bool,
    /// Mark the cookies `Secure` (off by default: the demo serves plain HTTP).
    #[arg(long, env = "TESSERA_COOKIE_SECURE")]
    pub cookie_secure: bool,
    /// Directory holding the SDK bundle `supertokens.js` (built by
    /// examples/demo/web/build.sh; default: examples/demo/static).
    #[arg(long, env = "TESSERA_DEMO_STATIC_DIR", value_name = "DIR")]
    pub static_dir: Option<PathBuf>,
    /// Allow this origin (a page served elsewhere) through CORS, with
    /// credentials and the SDK's headers (the adapter's `cors()`); repeatable.
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Vec<String>,
}

impl Args {
    /// The session manager these flags describe.
    pub async fn session_manager(&self) -> tessera::Result<SessionManager> {
        SessionManager::builder()
            .database_url(&self.database_url)
            .access_token_validity(Duration::from_secs(self.access_token_validity))
            .anti_csrf(self.anti_csrf.mode())
            .blacklisting(self.blacklisting)
            .build()
            .await
    }

    /// The settings part of the ready line.
    pub fn settings_line(&self) -> String {
        format!(
            "sessions in {}, access tokens {} s, anti-csrf {}, blacklisting {}",
            self.database_url,
            self.access_token_validity,
            self.anti_csrf.name(),
            if self.blacklisting { "on" } else { "off" },
        )
    }
}
