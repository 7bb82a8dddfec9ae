//! An app's `coreConfig`, read as SuperTokens core reads it.
//!
//! `PUT /recipe/multitenancy/app/v2` sends `coreConfig`, a JSON object that
//! is merged into the app's stored one (a `null` value removes a key). Keys
//! the core does not know are refused (`Invalid config key: …`); keys the
//! core knows and tessera has no use for (email-password, passwordless,
//! OAuth …) are kept and ignored. Numbers may come as JSON numbers or
//! strings, booleans as JSON booleans or `"true"`/`"false"` (the core's
//! Jackson binding coerces both). Every value is checked when the app is
//! created or updated, so an app that is stored always builds.

use std::time::Duration;

use serde_json::{Map, Value};

/// The keys tessera reads, with their units.
const ACCESS_TOKEN_VALIDITY: &str = "access_token_validity"; // seconds
const REFRESH_TOKEN_VALIDITY: &str = "refresh_token_validity"; // minutes
const BLACKLISTING: &str = "access_token_blacklisting";
const KEY_UPDATE_INTERVAL: &str = "access_token_dynamic_signing_key_update_interval"; // hours
const KEY_UPDATE_INTERVAL_ALIAS: &str = "access_token_signing_key_update_interval";
const SIGNING_KEY_DYNAMIC: &str = "access_token_signing_key_dynamic";
const GRACE_PERIOD: &str = "refresh_token_rotation_grace_period"; // seconds
const JITTER: &str = "access_token_validity_jitter";
const API_KEYS: &str = "api_keys";

/// Every other key SuperTokens core (12.x) accepts in an app's config:
/// stored, and without effect in tessera.
const CORE_KEYS_WITHOUT_EFFECT: &[&str] = &[
    "core_config_version",
    "password_reset_token_lifetime",
    "email_verification_token_lifetime",
    "passwordless_max_code_input_attempts",
    "passwordless_code_lifetime",
    "totp_max_attempts",
    "totp_rate_limit_cooldown_sec",
    "disable_telemetry",
    "password_hashing_alg",
    "firebase_password_hashing_signer_key",
    "ip_allow_regex",
    "ip_deny_regex",
    "oauth_provider_public_service_url",
    "oauth_provider_admin_service_url",
    "oauth_provider_consent_login_base_url",
    "oauth_provider_url_configured_in_oauth_provider",
    "supertokens_max_cdi_version",
    "supertokens_min_cdi_version",
    "saml_legacy_acs_url",
    "saml_sp_entity_id",
    "saml_claims_validity",
    "saml_relay_state_validity",
    "bulk_migration_parallelism",
    "bulk_migration_batch_size",
    "bulk_migration_sleep_between_rounds_in_batch_ms",
    "webauthn_recover_account_token_lifetime",
    "recent_token_reuse_behaviour",
    "info_log_path",
    "error_log_path",
    "port",
    "host",
    "max_server_pool_size",
    "argon2_iterations",
    "argon2_memory_kb",
    "argon2_parallelism",
    "argon2_hashing_pool_size",
    "firebase_password_hashing_pool_size",
    "bcrypt_log_rounds",
    "webserver_https_enabled",
    "base_path",
    "log_level",
    "oauth_client_secret_encryption_key",
    "supertokens_saas_secret",
    "supertokens_saas_load_only_cud",
    "otel_collector_connection_uri",
    "deadlock_logger_enable",
];

/// Shortest API key the core accepts.
const MIN_API_KEY_LEN: usize = 20;

/// An app's settings as tessera uses them; `None` keeps the server's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AppConfig {
    pub(crate) access_token_validity: Option<Duration>,
    pub(crate) refresh_token_validity: Option<Duration>,
    pub(crate) blacklisting: Option<bool>,
    pub(crate) signing_key_rotation_interval: Option<Duration>,
    pub(crate) use_dynamic_signing_key: Option<bool>,
    pub(crate) refresh_grace_period: Option<Duration>,
    pub(crate) access_token_validity_jitter: Option<f64>,
    /// The app's own API keys; `None`: the server's.
    pub(crate) api_keys: Option<Vec<String>>,
}

/// Merges `update` into `stored` as the core does: each key of `update`
/// replaces the stored one, a `null` removes it.
pub(crate) fn merge(stored: &Map<String, Value>, update: Map<String, Value>) -> Map<String, Value> {
    let mut out = stored.clone();
    for (key, value) in update {
        if value.is_null() {
            out.remove(&key);
        } else {
            out.insert(key, value);
        }
    }
    out
}

/// Reads and checks a (merged) `coreConfig`. The error is the text after
/// the core's `Invalid core config: ` prefix.
pub(crate) fn parse(config: &Map<String, Value>) -> Result<AppConfig, String> {
    let mut out = AppConfig::default();
    for (key, value) in config {
        match key.as_str() {
            ACCESS_TOKEN_VALIDITY => {
                let secs = number(key, value)?;
                if !(1.0..=86_400_000.0).contains(&secs) || secs.fract() != 0.0 {
                    return Err(format!(
                        "'{ACCESS_TOKEN_VALIDITY}' must be between 1 and 86400000 seconds inclusive."
                    ));
                }
                out.access_token_validity = Some(Duration::from_secs_f64(secs));
            }
            REFRESH_TOKEN_VALIDITY => {
                out.refresh_token_validity = Some(positive_duration(key, value, 60.0)?);
            }
            BLACKLISTING => out.blacklisting = Some(boolean(key, value)?),
            KEY_UPDATE_INTERVAL | KEY_UPDATE_INTERVAL_ALIAS => {
                out.signing_key_rotation_interval = Some(positive_duration(key, value, 3600.0)?);
            }
            SIGNING_KEY_DYNAMIC => out.use_dynamic_signing_key = Some(boolean(key, value)?),
            GRACE_PERIOD => {
                let secs = number(key, value)?;
                if !(0.0..=300.0).contains(&secs) {
                    return Err(format!(
                        "'{GRACE_PERIOD}' must be between 0 and 300 seconds inclusive."
                    ));
                }
                out.refresh_grace_period = Some(Duration::from_secs_f64(secs));
            }
            JITTER => {
                let jitter = number(key, value)?;
                if !(0.0..=0.25).contains(&jitter) {
                    return Err(format!("'{JITTER}' must be between 0 and 0.25 inclusive."));
                }
                out.access_token_validity_jitter = Some(jitter);
            }
            API_KEYS => out.api_keys = Some(api_keys(value)?),
            other if CORE_KEYS_WITHOUT_EFFECT.contains(&other) => {}
            other => return Err(format!("Invalid config key: {other}")),
        }
    }
    Ok(out)
}

/// A number given as a JSON number or a string holding one.
fn number(key: &str, value: &Value) -> Result<f64, String> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite())
        .ok_or_else(|| format!("'{key}' must be a number"))
}

/// A positive number of `unit_secs`-second units, as a duration.
fn positive_duration(key: &str, value: &Value, unit_secs: f64) -> Result<Duration, String> {
    let n = number(key, value)?;
    let secs = n * unit_secs;
    if !(secs > 0.0 && secs < 1e12) {
        return Err(format!("'{key}' must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A boolean given as a JSON boolean or `"true"`/`"false"`.
fn boolean(key: &str, value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(format!("'{key}' must be a boolean")),
    }
}

/// The core's rule: a comma-separated list (white space ignored), each key
/// at least 20 characters of `[A-Za-z0-9=-]`.
fn api_keys(value: &Value) -> Result<Vec<String>, String> {
    let Value::String(list) = value else {
        return Err("'api_keys' must be a string".to_owned());
    };
    let compact: String = list.chars().filter(|c| !c.is_whitespace()).collect();
    let mut keys = Vec::new();
    for key in compact.split(',') {
        if key.len() < MIN_API_KEY_LEN {
            return Err(
                "One of the API keys is too short. Please use at least 20 characters".to_owned(),
            );
        }
        if !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'-')
        {
            return Err(
                "Invalid characters in API key. Please only use '=', '-' and \
                        alpha-numeric (including capitals)"
                    .to_owned(),
            );
        }
        keys.push(key.to_owned());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parsed(v: Value) -> Result<AppConfig, String> {
        match v {
            Value::Object(m) => parse(&m),
            _ => Err("not an object".to_owned()),
        }
    }

    #[test]
    fn numbers_come_as_numbers_or_strings() {
        let c = parsed(json!({
            "access_token_validity": "2",
            "refresh_token_validity": 1.5,
            "access_token_dynamic_signing_key_update_interval": "0.001",
            "access_token_blacklisting": "true",
            "access_token_signing_key_dynamic": false,
        }))
        .unwrap();
        assert_eq!(c.access_token_validity, Some(Duration::from_secs(2)));
        assert_eq!(c.refresh_token_validity, Some(Duration::from_secs(90)));
        assert_eq!(
            c.signing_key_rotation_interval,
            Some(Duration::from_secs_f64(3.6))
        );
        assert_eq!(c.blacklisting, Some(true));
        assert_eq!(c.use_dynamic_signing_key, Some(false));
    }

    #[test]
    fn unknown_keys_are_refused_and_other_core_keys_kept() {
        assert_eq!(
            parsed(json!({"no_such_key": 1})).unwrap_err(),
            "Invalid config key: no_such_key"
        );
        assert_eq!(
            parsed(json!({"passwordless_code_lifetime": 1000})).unwrap(),
            AppConfig::default()
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parsed(json!({"access_token_validity": 0})).is_err());
        assert!(parsed(json!({"access_token_validity": "soon"})).is_err());
        assert!(parsed(json!({"access_token_blacklisting": 1})).is_err());
        assert!(parsed(json!({"api_keys": "short"})).is_err());
        assert!(parsed(json!({"api_keys": "abcdefghij-abcdefghij!"})).is_err());
        assert_eq!(
            parsed(json!({"api_keys": "abcdefghijabcdefghij, ABCDEFGHIJABCDEFGHIJ="}))
                .unwrap()
                .api_keys,
            Some(vec![
                "abcdefghijabcdefghij".to_owned(),
                "ABCDEFGHIJABCDEFGHIJ=".to_owned()
            ])
        );
    }

    #[test]
    fn null_removes_a_key_on_merge() {
        let stored = json!({"api_keys": "abcdefghijabcdefghij", "access_token_validity": 2});
        let Value::Object(stored) = stored else {
            unreachable!()
        };
        let Value::Object(update) = json!({"api_keys": null, "access_token_blacklisting": true})
        else {
            unreachable!()
        };
        let merged = merge(&stored, update);
        assert_eq!(
            Value::Object(merged),
            json!({"access_token_validity": 2, "access_token_blacklisting": true})
        );
    }
}
