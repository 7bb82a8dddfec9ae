//! Settings of `tessera serve` and of the admin commands.
//!
//! Each setting comes from the first of: a command-line flag, an environment
//! variable, the TOML config file (`--config path`), the default. The
//! defaults need nothing installed: an SQLite file `tessera.db` in the
//! working directory, port 3567 on the loopback interface (SuperTokens'
//! port), no API keys.
//!
//! | setting | flag | environment | file key | default |
//! |---|---|---|---|---|
//! | listen address | `--bind` | `TESSERA_BIND` | `bind` | `127.0.0.1:3567` |
//! | database | `--database` | `TESSERA_DATABASE_URL` | `database_url` | `sqlite://tessera.db` |
//! | API keys | `--api-keys` (comma-separated) | `TESSERA_API_KEYS` | `api_keys` (array) | none |
//! | refresh grace period (s) | `--refresh-grace-period` | `TESSERA_REFRESH_GRACE_PERIOD` | `refresh_grace_period` | 30 |
//! | access-token validity (s) | `--access-token-validity` | `TESSERA_ACCESS_TOKEN_VALIDITY` | `access_token_validity` | 3600 |
//! | serve keyless on a non-loopback address | `--insecure-no-api-key` | `TESSERA_INSECURE_NO_API_KEY` (`true`, `1`, `yes`, `on`) | `insecure_no_api_key` | false |
//!
//! `tessera serve` without API keys refuses to start on a non-loopback
//! address (`0.0.0.0`, a LAN address) unless `insecure_no_api_key` is set:
//! anyone who can reach such a server could create and revoke any user's
//! sessions. A keyless server logs one warning at start-up, and accepts
//! only loopback `Host` values (`localhost`, `127.x.y.z`, `[::1]`), or, with
//! `insecure_no_api_key` on a non-loopback address, also IP literals — see
//! [`Settings::host_policy`].
//!
//! A config file:
//!
//! ```toml
//! bind = "0.0.0.0:3567"
//! database_url = "postgres://tessera@db/tessera"
//! api_keys = ["a-key-of-at-least-twenty-chars"]
//! refresh_grace_period = 30
//! access_token_validity = 3600
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::serve::HostPolicy;

/// Default listen address: SuperTokens core's port, loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:3567";
/// Default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tessera.db";
/// Shortest API key accepted (SuperTokens core's rule).
pub const MIN_API_KEY_LEN: usize = 20;

/// The settings in force, after every source has been merged.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// Address `tessera serve` listens on.
    pub bind: SocketAddr,
    /// Store URL: `sqlite://…`, `postgres://…` or `memory:`.
    pub database_url: String,
    /// Accepted values of the `api-key` header; empty means no key needed.
    pub api_keys: Vec<String>,
    /// How long a rotated-out refresh token keeps working (`None`: the
    /// engine's default, 30 s).
    pub refresh_grace_period: Option<Duration>,
    /// Access-token lifetime (`None`: the engine's default, 3600 s).
    pub access_token_validity: Option<Duration>,
    /// The operator accepts a server without API keys on a non-loopback
    /// address.
    pub insecure_no_api_key: bool,
    /// Test mode: the SDK test suites' short key-rotation intervals are
    /// allowed (see `tessera::Config::test_mode`).
    pub test_mode: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("api_keys", &format_args!("<{} keys>", self.api_keys.len()))
            .field("refresh_grace_period", &self.refresh_grace_period)
            .field("access_token_validity", &self.access_token_validity)
            .field("insecure_no_api_key", &self.insecure_no_api_key)
            .field("test_mode", &self.test_mode)
            .finish()
    }
}

/// Values given on the command line or in the environment (clap merges
/// those two); `None` where neither gave one.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--bind` / `TESSERA_BIND`.
    pub bind: Option<SocketAddr>,
    /// `--database` / `TESSERA_DATABASE_URL`.
    pub database_url: Option<String>,
    /// `--api-keys` / `TESSERA_API_KEYS`, comma-separated.
    pub api_keys: Option<String>,
    /// `--refresh-grace-period` / `TESSERA_REFRESH_GRACE_PERIOD`, seconds.
    pub refresh_grace_period: Option<u64>,
    /// `--access-token-validity` / `TESSERA_ACCESS_TOKEN_VALIDITY`, seconds.
    pub access_token_validity: Option<u64>,
    /// `--insecure-no-api-key` / `TESSERA_INSECURE_NO_API_KEY` (true when
    /// given; the file's `true` cannot be turned off here).
    pub insecure_no_api_key: bool,
    /// `--test-mode` / `TESSERA_TEST_MODE` (true when given).
    pub test_mode: bool,
}

/// The TOML config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listen address.
    pub bind: Option<SocketAddr>,
    /// Store URL.
    pub database_url: Option<String>,
    /// API keys.
    pub api_keys: Option<Vec<String>>,
    /// Refresh grace period, seconds.
    pub refresh_grace_period: Option<u64>,
    /// Access-token validity, seconds.
    pub access_token_validity: Option<u64>,
    /// Serve without API keys on a non-loopback address.
    pub insecure_no_api_key: Option<bool>,
    /// Test mode (SDK test suites only).
    pub test_mode: Option<bool>,
}

impl FileConfig {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("invalid config file {}: {e}", path.display()))
    }
}

impl Settings {
    /// Merges the sources: `overrides` (flags, then environment) over
    /// `file` over the defaults, and checks the result.
    pub fn resolve(overrides: Overrides, file: FileConfig) -> Result<Self, String> {
        let bind = match overrides.bind.or(file.bind) {
            Some(b) => b,
            None => DEFAULT_BIND
                .parse()
                .map_err(|_| "invalid default bind address".to_owned())?,
        };
        let database_url = overrides
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let api_keys = match overrides.api_keys {
            Some(list) => split_keys(&list),
            None => file.api_keys.unwrap_or_default(),
        };
        for key in &api_keys {
            check_api_key(key)?;
        }
        let secs = |v: Option<u64>| v.map(Duration::from_secs);
        Ok(Self {
            bind,
            database_url,
            api_keys,
            refresh_grace_period: secs(
                overrides.refresh_grace_period.or(file.refresh_grace_period),
            ),
            access_token_validity: secs(
                overrides
                    .access_token_validity
                    .or(file.access_token_validity),
            ),
            insecure_no_api_key: overrides.insecure_no_api_key
                || file.insecure_no_api_key.unwrap_or(false),
            test_mode: overrides.test_mode || file.test_mode.unwrap_or(false),
        })
    }

    /// Whether `tessera serve` may start with these settings: not without
    /// API keys on a non-loopback address, unless `insecure_no_api_key`.
    pub fn check_exposure(&self) -> Result<(), String> {
        if self.api_keys.is_empty() && !self.bind_is_loopback() && !self.insecure_no_api_key {
            return Err(format!(
                "refusing to serve on {} without API keys: anyone who can reach it could \
                 create and revoke any user's sessions; set --api-keys (TESSERA_API_KEYS, \
                 api_keys), bind to 127.0.0.1, or accept the risk with --insecure-no-api-key",
                self.bind
            ));
        }
        Ok(())
    }

    /// The `Host` rule of a keyless server: loopback names only, or also IP
    /// literals when the operator exposed it on purpose (a non-loopback
    /// address with `insecure_no_api_key`). Never any other name: that is
    /// what DNS rebinding sends.
    pub fn host_policy(&self) -> HostPolicy {
        if self.insecure_no_api_key && !self.bind_is_loopback() {
            HostPolicy::LoopbackOrIp
        } else {
            HostPolicy::Loopback
        }
    }

    /// The warning `tessera serve` logs once at start-up, listening on
    /// `address`, when it runs without API keys; `None` with keys.
    pub fn keyless_warning(&self, address: SocketAddr) -> Option<String> {
        if !self.api_keys.is_empty() {
            return None;
        }
        Some(if self.bind_is_loopback() {
            format!(
                "serving without API keys on {address}: any local process can create and \
                 revoke sessions (browsers are refused); set --api-keys to require a key"
            )
        } else {
            format!(
                "serving without API keys on the non-loopback address {address} \
                 (--insecure-no-api-key): anyone who can reach it can create and revoke \
                 any user's sessions; set --api-keys"
            )
        })
    }

    fn bind_is_loopback(&self) -> bool {
        self.bind.ip().to_canonical().is_loopback()
    }

    /// Opens the configured database and builds the session manager.
    /// `background_tasks` runs key rotation and cleanup in this process
    /// (the server does; one-shot admin commands do not).
    pub async fn session_manager(
        &self,
        background_tasks: bool,
    ) -> tessera::Result<tessera::SessionManager> {
        // The claims SuperTokens core puts in access tokens, no `stt`: the
        // SDKs' own suites count them, and read `stt` as their marker.
        let mut builder = tessera::SessionManager::builder()
            .database_url(&self.database_url)
            .background_tasks(background_tasks)
            .session_token_type_claim(false)
            // The core's older token formats and version-less JWT-recipe
            // tokens, as the core verifies them (`AccessToken.java`).
            .core_token_versions(true)
            .test_mode(self.test_mode);
        if let Some(d) = self.refresh_grace_period {
            builder = builder.refresh_grace_period(d);
        }
        if let Some(d) = self.access_token_validity {
            builder = builder.access_token_validity(d);
        }
        if let Some(kek) = tessera::keys::KeyEncryptionKey::from_env()? {
            builder = builder.key_encryption_key(kek);
        }
        builder.build().await
    }
}

/// Splits a comma-separated key list, dropping blanks.
fn split_keys(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// SuperTokens core's rule for API keys: at least 20 characters of
/// `[A-Za-z0-9=-]`.
fn check_api_key(key: &str) -> Result<(), String> {
    if key.len() < MIN_API_KEY_LEN {
        return Err(format!(
            "an API key is too short: use at least {MIN_API_KEY_LEN} characters"
        ));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'-')
    {
        return Err("an API key may contain only letters, digits, '=' and '-'".to_owned());
    }
    Ok(())
}

/// The URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn flags_and_env_override_file_which_overrides_defaults() {
        let file = FileConfig {
            bind: Some("0.0.0.0:1".parse().unwrap()),
            database_url: Some("memory:".into()),
            api_keys: Some(vec![KEY.into()]),
            refresh_grace_period: Some(5),
            access_token_validity: None,
            insecure_no_api_key: None,
            test_mode: None,
        };
        let over = Overrides {
            database_url: Some("sqlite://x.db".into()),
            refresh_grace_period: Some(0),
            ..Overrides::default()
        };
        let s = Settings::resolve(over, file);
        let s = s.expect("valid settings");
        assert_eq!(s.bind.to_string(), "0.0.0.0:1");
        assert_eq!(s.database_url, "sqlite://x.db");
        assert_eq!(s.api_keys, vec![KEY.to_owned()]);
        assert_eq!(s.refresh_grace_period, Some(Duration::ZERO));
        assert_eq!(s.access_token_validity, None);
    }

    #[test]
    fn defaults_need_nothing() {
        let s = Settings::resolve(Overrides::default(), FileConfig::default());
        let s = s.expect("valid settings");
        assert_eq!(s.bind.to_string(), DEFAULT_BIND);
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert!(s.api_keys.is_empty());
    }

    #[test]
    fn api_keys_are_comma_separated_and_checked() {
        let over = Overrides {
            api_keys: Some(format!(" {KEY}, ,{KEY}x ")),
            ..Overrides::default()
        };
        let s = Settings::resolve(over, FileConfig::default());
        let s = s.expect("valid settings");
        assert_eq!(s.api_keys, vec![KEY.to_owned(), format!("{KEY}x")]);
        let short = Overrides {
            api_keys: Some("short".into()),
            ..Overrides::default()
        };
        assert!(Settings::resolve(short, FileConfig::default()).is_err());
    }

    #[test]
    fn a_keyless_non_loopback_bind_needs_the_insecure_setting() {
        let settings = |bind: &str, keys: Option<&str>, flag: bool, file: Option<bool>| {
            let over = Overrides {
                bind: Some(bind.parse().unwrap()),
                api_keys: keys.map(str::to_owned),
                insecure_no_api_key: flag,
                ..Overrides::default()
            };
            let file = FileConfig {
                insecure_no_api_key: file,
                ..FileConfig::default()
            };
            Settings::resolve(over, file).unwrap()
        };
        for loopback in [
            "127.0.0.1:3567",
            "127.0.0.2:1",
            "[::1]:3567",
            "[::ffff:127.0.0.1]:1",
        ] {
            let s = settings(loopback, None, false, None);
            assert!(s.check_exposure().is_ok(), "{loopback}");
            assert_eq!(s.host_policy(), HostPolicy::Loopback);
            assert!(s.keyless_warning(s.bind).is_some());
        }
        for exposed in ["0.0.0.0:3567", "[::]:3567", "10.0.0.5:3567"] {
            let refused = settings(exposed, None, false, Some(false));
            let message = refused.check_exposure().unwrap_err();
            assert!(message.contains("--insecure-no-api-key"), "{message}");
            for s in [
                settings(exposed, None, true, None),
                settings(exposed, None, false, Some(true)),
            ] {
                assert!(s.check_exposure().is_ok(), "{exposed}");
                assert_eq!(s.host_policy(), HostPolicy::LoopbackOrIp);
                assert!(s.keyless_warning(s.bind).unwrap().contains("non-loopback"));
            }
            let keyed = settings(exposed, Some(KEY), false, None);
            assert!(keyed.check_exposure().is_ok());
            assert!(keyed.keyless_warning(keyed.bind).is_none());
        }
        assert!(toml::from_str::<FileConfig>("insecure_no_api_key = true").is_ok());
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("bnid = \"x\"").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://tessera.db"), "sqlite://tessera.db");
    }
}
