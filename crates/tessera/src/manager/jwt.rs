//! Signing a JWT of the caller's choosing with the manager's keys: the JWT
//! recipe of SuperTokens (`POST /recipe/jwt`), which the OpenID and session
//! recipes use for tokens that other services verify through JWKS.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::SessionManager;
use crate::crypto::b64url;
use crate::error::{Error, Result};

/// Longest validity [`SessionManager::sign_jwt`] accepts: 10^15 seconds.
/// SuperTokens core takes any positive number of seconds (supertokens-python's
/// own tests pass a millisecond timestamp as the validity); this bound keeps
/// `exp` an integer every JSON reader holds exactly (below 2^53).
pub const MAX_JWT_VALIDITY: Duration = Duration::from_secs(1_000_000_000_000_000);

impl SessionManager {
    /// Signs `claims` as a JWT valid for `validity` (RS256 unless
    /// [`Config::signing_algorithm`](crate::Config::signing_algorithm) made
    /// the key with another algorithm), with the
    /// current dynamic (rotating) signing key or, when `use_dynamic_key` is
    /// false, with the static key (created on first use). The header is
    /// `{"alg":"RS256","typ":"JWT","kid":…}` (`alg` naming the key's
    /// algorithm); the key is published in
    /// [`SessionManager::jwks`], so anyone can verify the token.
    ///
    /// The payload starts as `iat` (now), `exp` (now + `validity`) and
    /// `iss` (`issuer`, when given), and then takes every claim of `claims`,
    /// which override those three: the rule of SuperTokens core, whose API
    /// key holder may sign whatever it wants.
    ///
    /// Fails with [`Error::InvalidInput`] for a zero validity or one over
    /// [`MAX_JWT_VALIDITY`].
    ///
    /// ```
    /// # async fn demo() -> tessera::Result<()> {
    /// use serde_json::json;
    /// use std::time::Duration;
    ///
    /// let manager = tessera::SessionManager::in_memory().await?;
    /// let claims = json!({"sub": "service-a"});
    /// let jwt = manager
    ///     .sign_jwt(claims.as_object().unwrap(), Duration::from_secs(60), false, Some("https://api.example.com"))
    ///     .await?;
    /// assert_eq!(jwt.split('.').count(), 3);
    /// # Ok(()) }
    /// ```
    pub async fn sign_jwt(
        &self,
        claims: &Map<String, Value>,
        validity: Duration,
        use_dynamic_key: bool,
        issuer: Option<&str>,
    ) -> Result<String> {
        if validity.is_zero() || validity > MAX_JWT_VALIDITY {
            return Err(Error::InvalidInput(
                "validity must be between 1 and 10^15 seconds".to_owned(),
            ));
        }
        let now_ms = self.now_ms();
        let key = self.current_signing_key(use_dynamic_key, now_ms).await?;
        let issued_at = u64::try_from(now_ms / 1000).unwrap_or(0);
        let mut payload = Map::new();
        payload.insert("iat".to_owned(), json!(issued_at));
        payload.insert(
            "exp".to_owned(),
            json!(issued_at.saturating_add(validity.as_secs())),
        );
        if let Some(iss) = issuer {
            payload.insert("iss".to_owned(), json!(iss));
        }
        for (name, value) in claims {
            payload.insert(name.clone(), value.clone());
        }
        let header = json!({"alg": key.algorithm.jws_name(), "typ": "JWT", "kid": key.kid});
        let payload =
            serde_json::to_vec(&Value::Object(payload)).map_err(|_| Error::Crypto("payload"))?;
        let mut token = b64url(header.to_string().as_bytes());
        token.push('.');
        token.push_str(&b64url(&payload));
        let signature = key.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&b64url(&signature));
        Ok(token)
    }
}
