//! The `tessera` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tessera::SessionManager;

use crate::admin;
use crate::config::{FileConfig, Overrides, Settings, redact_url};
use crate::serve::{AppState, serve, shutdown_signal};

/// tessera: session management with SuperTokens' wire formats.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about = None)]
pub struct Cli {
    /// TOML config file (flags and environment variables override it).
    #[arg(long, env = "TESSERA_CONFIG", global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://FILE, postgres://…, or memory:
    /// [default: sqlite://tessera.db]
    #[arg(long, env = "TESSERA_DATABASE_URL", global = true, value_name = "URL")]
    pub database: Option<String>,
    /// The app an admin command acts on (default: public). Each app has
    /// its own sessions and keys: rotate or rewrap keys once per app.
    #[arg(long, env = "TESSERA_APP", global = true, value_name = "APP_ID")]
    pub app: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SuperTokens Core Driver Interface (session recipe) over HTTP.
    Serve(ServeArgs),
    /// List or revoke sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Delete expired sessions and retired signing keys now.
    Cleanup(OutputArgs),
}

/// Options of `tessera serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:3567].
    #[arg(long, env = "TESSERA_BIND", value_name = "ADDR")]
    pub bind: Option<std::net::SocketAddr>,
    /// Accepted `api-key` header values, comma-separated (none: no key needed).
    #[arg(
        long,
        env = "TESSERA_API_KEYS",
        value_name = "KEYS",
        hide_env_values = true
    )]
    pub api_keys: Option<String>,
    /// Seconds a rotated-out refresh token keeps working (0–300) [default: 30].
    #[arg(long, env = "TESSERA_REFRESH_GRACE_PERIOD", value_name = "SECONDS")]
    pub refresh_grace_period: Option<u64>,
    /// Access-token lifetime in seconds [default: 3600].
    #[arg(long, env = "TESSERA_ACCESS_TOKEN_VALIDITY", value_name = "SECONDS")]
    pub access_token_validity: Option<u64>,
    /// Serve without API keys on a non-loopback --bind (anyone who can
    /// reach the port can then create and revoke any user's sessions).
    #[arg(
        long,
        env = "TESSERA_INSECURE_NO_API_KEY",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub insecure_no_api_key: bool,
    /// Test mode, for the SuperTokens SDKs' own test suites: apps may set a
    /// signing-key rotation interval under 60 s and a refresh lifetime no
    /// longer than the access-token lifetime. Never in production.
    #[arg(
        long,
        env = "TESSERA_TEST_MODE",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub test_mode: bool,
}

/// Output format of the admin commands.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `tessera sessions …`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List a user's live sessions (every tenant).
    List {
        /// The user id.
        user: String,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Revoke one session by its handle.
    Revoke {
        /// The session handle.
        handle: String,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Revoke every session of a user (every tenant).
    RevokeUser {
        /// The user id.
        user: String,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// `tessera keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Publish a new signing key; with --emergency, replace compromised keys.
    Rotate {
        /// Sign with it at once instead of after the publish lead (older
        /// keys keep verifying until their tokens expire).
        #[arg(long, conflicts_with = "emergency")]
        now: bool,
        /// Replace every signing key (dynamic and static) and delete the old
        /// ones: their tokens stop verifying at once (running servers: within
        /// 2 s); clients refresh.
        #[arg(long)]
        emergency: bool,
        /// With --emergency: also replace the refresh MAC key, voiding every
        /// refresh and anti-CSRF token (every user signs in again).
        #[arg(long, requires = "emergency")]
        mac: bool,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Re-encrypt every key row under a new key-encryption key, in one
    /// transaction (the current one comes from TESSERA_KEY_ENCRYPTION_KEY or
    /// TESSERA_KEY_ENCRYPTION_KEY_FILE, if the keys are encrypted).
    Rewrap {
        /// File holding the new key-encryption key (base64 or hex of 32 bytes).
        #[arg(long, value_name = "FILE")]
        new_kek_file: PathBuf,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
}

impl Cli {
    /// Merges this command line with the environment (already done by
    /// clap) and the config file.
    pub fn settings(&self) -> Result<Settings, String> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let mut overrides = Overrides {
            database_url: self.database.clone(),
            ..Overrides::default()
        };
        if let Command::Serve(args) = &self.command {
            overrides.bind = args.bind;
            overrides.api_keys.clone_from(&args.api_keys);
            overrides.refresh_grace_period = args.refresh_grace_period;
            overrides.access_token_validity = args.access_token_validity;
            overrides.insecure_no_api_key = args.insecure_no_api_key;
            overrides.test_mode = args.test_mode;
            let settings = Settings::resolve(overrides, file)?;
            settings.check_exposure()?;
            return Ok(settings);
        }
        Settings::resolve(overrides, file)
    }
}

/// Runs the parsed command line; the process exit status.
pub async fn run(cli: Cli) -> ExitCode {
    init_logging(matches!(cli.command, Command::Serve(_)));
    let settings = match cli.settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tessera: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve(_) => run_server(&settings).await,
        command => run_admin(&settings, cli.app.as_deref(), command).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tessera: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the manager; the error says whether the settings or the database
/// are at fault.
async fn open(settings: &Settings, background_tasks: bool) -> Result<SessionManager, String> {
    settings
        .session_manager(background_tasks)
        .await
        .map_err(|e| match e {
            tessera::Error::InvalidInput(message) => message,
            e => format!("cannot open {}: {e}", redact_url(&settings.database_url)),
        })
}

async fn run_server(settings: &Settings) -> Result<ExitCode, String> {
    let manager = open(settings, true).await?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    tracing::info!(
        target: "tessera_server",
        address = %local,
        database = %redact_url(&settings.database_url),
        api_keys = settings.api_keys.len(),
        "tessera serving the SuperTokens core driver interface"
    );
    if let Some(warning) = settings.keyless_warning(local) {
        tracing::warn!(target: "tessera_server", "{warning}");
    }
    if settings.test_mode {
        tracing::warn!(
            target: "tessera_server",
            "test mode: apps may rotate signing keys every few seconds; never use this in production"
        );
    }
    let shutdown = shutdown_signal();
    // A readiness line on stdout for scripts and tests that bind port 0.
    println!("tessera listening on http://{local}");
    let state = AppState::with_host_policy(
        manager.clone(),
        settings.api_keys.clone(),
        settings.host_policy(),
    );
    serve(listener, state, shutdown)
        .await
        .map_err(|e| format!("server error: {e}"))?;
    // Requests have finished: close the pool (SQLite checkpoints its WAL).
    manager.close().await;
    tracing::info!(target: "tessera_server", "stopped");
    Ok(ExitCode::SUCCESS)
}

async fn run_admin(
    settings: &Settings,
    app: Option<&str>,
    command: Command,
) -> Result<ExitCode, String> {
    let public = open(settings, false).await?;
    let manager = match app.map(str::to_ascii_lowercase) {
        None => public.clone(),
        Some(app) if app == tessera::store::DEFAULT_APP_ID => public.clone(),
        Some(app) => {
            let apps = public.list_apps().await.map_err(|e| e.to_string())?;
            if !apps.iter().any(|a| a.app_id == app) {
                return Err(format!("no app `{app}` in this database"));
            }
            public
                .app_builder(&app)
                .map_err(|e| e.to_string())?
                .background_tasks(false)
                .build()
                .await
                .map_err(|e| e.to_string())?
        }
    };
    let outcome = match command {
        Command::Sessions(SessionsCommand::List { user, output }) => {
            admin::list_sessions(&manager, &user, output.json).await
        }
        Command::Sessions(SessionsCommand::Revoke { handle, output }) => {
            admin::revoke_session(&manager, &handle, output.json).await
        }
        Command::Sessions(SessionsCommand::RevokeUser { user, output }) => {
            admin::revoke_user(&manager, &user, output.json).await
        }
        Command::Keys(KeysCommand::Rotate {
            emergency: true,
            mac,
            output,
            ..
        }) => admin::emergency_rotate(&manager, mac, output.json).await,
        Command::Keys(KeysCommand::Rotate { now, output, .. }) => {
            admin::rotate_keys(&manager, now, output.json).await
        }
        Command::Keys(KeysCommand::Rewrap {
            new_kek_file,
            output,
        }) => admin::rewrap(&manager, &new_kek_file, output.json).await,
        Command::Cleanup(output) => admin::cleanup(&manager, output.json).await,
        Command::Serve(_) => return Err("serve is not an admin command".to_owned()),
    }
    .map_err(|e| e.to_string())?;
    print!("{}", outcome.output);
    Ok(if outcome.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Logs to standard error; `RUST_LOG` filters (default `info` for the
/// server, `warn` for admin commands) and `TESSERA_LOG_FORMAT=json` gives
/// one JSON object per line.
fn init_logging(server: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if server { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let json = std::env::var("TESSERA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // `try_init` fails only if a subscriber is already set; keep that one.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
