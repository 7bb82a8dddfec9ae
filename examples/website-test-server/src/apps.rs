//! The "core" of the test suite: the apps that `POST /test/setup/app`
//! creates, one [`SessionManager`] each, shared by both ports (upstream, the
//! two express servers share one SuperTokens core).
//!
//! The suite asks for an app with a core config (`access_token_validity`
//! in seconds, `access_token_signing_key_update_interval` in hours) and gets
//! back a "core URL", which it then hands to `POST /test/setup/st` of both
//! servers. Here the URL names the app: `http://localhost:3567/appid-<id>`.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tessera::{Config, SessionManager};

use crate::error::Error;

/// The `iss` claim supertokens-node puts in the payload of every session
/// the upstream test server creates (`apiDomain + apiBasePath` of its
/// config). It is a user claim there, not the core's: `POST /login` puts it
/// in the payload, and a session made through CDI 2.18 has none.
pub const ISSUER: &str = "http://0.0.0.0:8080/auth";

/// How many apps are kept; the suite creates one per test and only ever
/// uses the newest, so older ones are dropped.
const KEPT_APPS: usize = 16;

/// The engine's shortest signing-key rotation interval.
const MIN_KEY_ROTATION: Duration = Duration::from_secs(60);

/// The apps created so far (newest last) and the app the servers start with.
#[derive(Debug)]
pub struct Apps {
    created: Mutex<VecDeque<(String, SessionManager)>>,
    initial: SessionManager,
}

impl Apps {
    /// The registry with the app the servers use before any setup call
    /// (the core's defaults: access tokens valid for an hour).
    pub async fn new() -> Result<Self, Error> {
        Ok(Self {
            created: Mutex::new(VecDeque::new()),
            initial: manager(&Value::Null).await?,
        })
    }

    /// The app the servers start with.
    pub fn initial(&self) -> SessionManager {
        self.initial.clone()
    }

    /// Creates (or replaces) app `app_id` with this core config and returns
    /// its core URL.
    pub async fn create(&self, app_id: &str, core_config: &Value) -> Result<String, Error> {
        if app_id.is_empty() || app_id.len() > 128 || app_id.contains('/') {
            return Err(Error::BadRequest("appId must be 1-128 characters, no '/'"));
        }
        let manager = manager(core_config).await?;
        let mut created = self.created.lock().unwrap_or_else(PoisonError::into_inner);
        created.retain(|(id, _)| id != app_id);
        created.push_back((app_id.to_owned(), manager));
        while created.len() > KEPT_APPS {
            created.pop_front();
        }
        Ok(format!("http://localhost:3567/appid-{app_id}"))
    }

    /// The app a core URL names, if it is still kept.
    pub fn get(&self, core_url: &str) -> Option<SessionManager> {
        let (_, app_id) = core_url.rsplit_once("/appid-")?;
        let created = self.created.lock().unwrap_or_else(PoisonError::into_inner);
        created
            .iter()
            .rev()
            .find(|(id, _)| id == app_id)
            .map(|(_, manager)| manager.clone())
    }
}

/// A manager on a memory store with the core config the suite asked for.
///
/// Its settings follow the SuperTokens core rather than tessera's
/// defaults: no clock leeway (the core and supertokens-node reject a token
/// the millisecond it expires, and the suite waits exactly one lifetime
/// before it expects a refresh); no issuer and no `stt` claim
/// (`Config::session_token_type_claim` off, as `tessera serve` runs): the
/// suite counts the keys of the access-token payload and expects exactly
/// the core's, where `iss` is a user claim that supertokens-node adds at
/// creation ([`ISSUER`], put there by `POST /login`); and the core's older
/// token formats (`Config::core_token_versions`, which needs those two
/// off), for the session `POST /login-2.18` makes in the format of CDI 2.18.
async fn manager(core_config: &Value) -> Result<SessionManager, Error> {
    let mut config = Config {
        clock_leeway: Duration::ZERO,
        issuer: None,
        session_token_type_claim: false,
        core_token_versions: true,
        ..Config::default()
    };
    if let Some(secs) = number(&core_config["access_token_validity"]) {
        if !(1.0..=86_400.0 * 365.0).contains(&secs) {
            return Err(Error::BadRequest("access_token_validity out of range"));
        }
        config.access_token_validity = Duration::from_secs_f64(secs);
    }
    if let Some(hours) = number(&core_config["access_token_signing_key_update_interval"]) {
        if !(0.0..=24.0 * 365.0).contains(&hours) {
            return Err(Error::BadRequest(
                "access_token_signing_key_update_interval out of range",
            ));
        }
        // The core takes hours (the suite asks for 0.002 h = 7.2 s); the
        // engine rotates at most once a minute.
        let interval = Duration::from_secs_f64(hours * 3600.0).max(MIN_KEY_ROTATION);
        config.signing_key_rotation_interval = interval;
        // A new key is published before it signs; the lead must be shorter
        // than the interval.
        config.signing_key_publish_lead = config.signing_key_publish_lead.min(interval / 2);
    }
    Ok(SessionManager::builder()
        .config(config)
        .database_url("memory:")
        // Nothing to clean up in a few minutes; no task outlives its app.
        .background_tasks(false)
        .build()
        .await?)
}

/// A JSON number, or a string holding one (the suite sends both).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}
