//! Minting access tokens.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;

use super::{IssuedAccessToken, SessionManager};
use crate::config::ms;
use crate::crypto::{b64std, b64url, random_bytes};
use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::token::front::front_token;
use crate::token::{AccessTokenClaims, TokenVersion};

/// Who an access token is for.
pub(crate) struct Subject<'a> {
    pub(crate) handle: &'a str,
    pub(crate) user_id: &'a str,
    pub(crate) recipe_user_id: &'a str,
    pub(crate) tenant_id: &'a str,
    pub(crate) user_payload: &'a Value,
    /// The session's absolute end (ms); no access token outlives it.
    pub(crate) absolute_expires_at_ms: Option<i64>,
    /// The token format to write (v5 unless an old CDI version asks).
    pub(crate) version: TokenVersion,
}

/// The refresh-token hashes an access token carries.
#[derive(Debug, Clone)]
pub(crate) struct Lineage {
    /// `refreshTokenHash1`: the refresh token issued with this access token.
    pub(crate) hash1: String,
    /// `parentRefreshTokenHash1`: under the child-token model, the refresh
    /// token the child waits to replace; `None` otherwise.
    pub(crate) parent_hash1: Option<String>,
}

impl Lineage {
    /// A token whose refresh token is the session's current one.
    pub(crate) fn current(hash1: String) -> Self {
        Self {
            hash1,
            parent_hash1: None,
        }
    }
}

/// How the size limit applies to one issuance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SizeRule {
    /// Refuse (`InvalidInput`) a token over `max_access_token_bytes`: for
    /// issuance that has written nothing yet (create, payload update,
    /// regenerate).
    Refuse,
    /// Issue it anyway and log: a refresh has already rotated the refresh
    /// token, and its payload passed the limit when it was stored (only a
    /// lowered limit or a larger key gets here).
    Warn,
}

impl SessionManager {
    /// Signs a new access token for `subject` and puts it in the
    /// verified-token cache; see [`sign_access_token`](Self::sign_access_token).
    pub(crate) async fn issue_access_token(
        &self,
        subject: &Subject<'_>,
        lineage: Lineage,
        anti_csrf_token: Option<String>,
        dynamic_key: bool,
        fixed_expiry: Option<u64>,
        size_rule: SizeRule,
    ) -> Result<(IssuedAccessToken, Arc<AccessTokenClaims>)> {
        let (issued, claims) = self
            .sign_access_token(
                subject,
                lineage,
                anti_csrf_token,
                dynamic_key,
                fixed_expiry,
                size_rule,
            )
            .await?;
        self.cache_issued(&issued, &claims);
        Ok((issued, claims))
    }

    /// Puts a token this manager signed in the verified-token cache; call
    /// only once the session it belongs to is in the store.
    pub(crate) fn cache_issued(&self, issued: &IssuedAccessToken, claims: &Arc<AccessTokenClaims>) {
        if let Some(cache) = &self.inner.cache {
            cache.insert(&issued.token, claims.clone());
        }
    }

    /// Signs a new access token for `subject`, without caching it.
    ///
    /// The lifetime is the configured validity shortened by a random jitter
    /// (up to `access_token_validity_jitter` of it), unless `fixed_expiry`
    /// keeps an existing token's expiry (payload regeneration never extends
    /// a token's life); either way `exp` is capped at the session's absolute
    /// end. A token longer than `max_access_token_bytes` is refused under
    /// [`SizeRule::Refuse`].
    pub(crate) async fn sign_access_token(
        &self,
        subject: &Subject<'_>,
        lineage: Lineage,
        anti_csrf_token: Option<String>,
        dynamic_key: bool,
        fixed_expiry: Option<u64>,
        size_rule: SizeRule,
    ) -> Result<(IssuedAccessToken, Arc<AccessTokenClaims>)> {
        let now_ms = self.now_ms();
        let key = self.current_signing_key(dynamic_key, now_ms).await?;
        let issued_at = u64::try_from(now_ms / 1000).unwrap_or(0);
        let expires_at = match fixed_expiry {
            Some(exp) => exp,
            None => self.jittered_expiry_secs(now_ms, issued_at)?,
        };
        let expires_at = cap_at_absolute_end(expires_at, subject.absolute_expires_at_ms);
        if subject.version != TokenVersion::V5 && !self.inner.config.core_token_versions {
            return Err(Error::InvalidInput(
                "access-token formats other than v5 need core_token_versions".into(),
            ));
        }
        // A stored payload that holds a claim this format sets (possible
        // only for a payload stored with a v2 token, whose claims are
        // nested) cannot go into the token: refused, never overwritten, as
        // the core refuses it (`AccessTokenInfo.toJSON`).
        if let Value::Object(user) = subject.user_payload
            && let Some(key) = subject
                .version
                .core_protected_claims()
                .iter()
                .find(|k| user.contains_key(**k))
        {
            return Err(Error::InvalidInput(format!(
                "the access-token payload may not contain the protected claim `{key}`"
            )));
        }
        let claims = AccessTokenClaims {
            session_handle: subject.handle.to_owned(),
            user_id: subject.user_id.to_owned(),
            recipe_user_id: subject.recipe_user_id.to_owned(),
            tenant_id: subject.tenant_id.to_owned(),
            issued_at,
            expires_at,
            refresh_token_hash1: lineage.hash1,
            parent_refresh_token_hash1: lineage.parent_hash1,
            anti_csrf_token,
            user_payload: subject.user_payload.clone(),
            kid: key.kid.clone(),
            version: subject.version,
        };
        let payload = claims.payload(
            self.inner.config.issuer.as_deref(),
            self.inner.config.session_token_type_claim,
        );
        let payload_json =
            serde_json::to_vec(&payload).map_err(|_| Error::Crypto("payload encoding"))?;
        let max = self.inner.config.max_access_token_bytes;
        // v2 is standard base64 throughout with the core's fixed header;
        // v3 and v4 name their version and key; v5 has its header cached.
        let encode = |bytes: &[u8]| match subject.version {
            TokenVersion::V2 => b64std(bytes),
            _ => b64url(bytes),
        };
        let header: std::borrow::Cow<'_, str> = match subject.version {
            TokenVersion::V5 => key.header_b64.as_str().into(),
            TokenVersion::V2 => crate::token::jwt::V2_HEADER.into(),
            other => b64url(
                serde_json::json!({"alg": key.algorithm.jws_name(), "typ": "JWT", "version": other.as_str(), "kid": key.kid})
                    .to_string()
                    .as_bytes(),
            )
            .into(),
        };
        // Header, dot, payload, dot, signature (342 characters for RS2048,
        // 86 for EdDSA and ES256):
        // refuse before paying for a signature when the payload alone is over.
        if size_rule == SizeRule::Refuse && header.len() + 1 + b64url_len(payload_json.len()) > max
        {
            return Err(too_large(max));
        }
        let mut token = String::with_capacity(header.len() + payload_json.len() * 4 / 3 + 350);
        token.push_str(&header);
        token.push('.');
        token.push_str(&encode(&payload_json));
        let signature = key.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&encode(&signature));
        if token.len() > max {
            match size_rule {
                SizeRule::Refuse => return Err(too_large(max)),
                SizeRule::Warn => tracing::warn!(
                    target: "tessera::issue",
                    session_handle = ?claims.session_handle,
                    bytes = token.len(),
                    max,
                    "issued an access token over max_access_token_bytes (limit lowered since its payload was stored?)"
                ),
            }
        }

        let claims = Arc::new(claims);
        let issued = IssuedAccessToken {
            front_token: front_token(&claims.user_id, claims.expiry_ms(), &payload),
            expiry_ms: claims.expiry_ms(),
            created_ms: claims.issued_at_ms(),
            token,
        };
        Ok((issued, claims))
    }

    /// `exp` for a token issued at `now_ms`: now plus the validity shortened
    /// by the jitter, rounded down to the second — counted from the exact
    /// time, not from the truncated `iat`, so a 3 s token lives at least
    /// 2.85 s minus less than a second of rounding, and never less than 1 s.
    fn jittered_expiry_secs(&self, now_ms: i64, issued_at: u64) -> Result<u64> {
        let validity_ms = ms(self.inner.config.access_token_validity);
        let jitter = self.inner.config.access_token_validity_jitter;
        let r = f64::from(u32::from_be_bytes(random_bytes::<4>()?)) / f64::from(u32::MAX);
        // validity_ms is far below 2^52, so the float round trip is exact enough.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let shortened = (validity_ms as f64 * (1.0 - jitter * r)) as i64;
        let exp = u64::try_from(now_ms.saturating_add(shortened) / 1000).unwrap_or(0);
        Ok(exp.max(issued_at + 1))
    }

    /// The key that signs now, creating one if the store has none valid.
    pub(super) async fn current_signing_key(
        &self,
        dynamic: bool,
        now_ms: i64,
    ) -> Result<Arc<SigningKey>> {
        if !dynamic {
            self.inner.static_key_in_use.store(true, Ordering::Relaxed);
        }
        if let Some(key) = self.inner.keys.load().signing_key(dynamic, now_ms) {
            return Ok(key.clone());
        }
        self.maintain_keys().await?;
        self.inner
            .keys
            .load()
            .signing_key(dynamic, now_ms)
            .cloned()
            .ok_or(Error::Crypto("no signing key available"))
    }
}

/// `exp` (seconds) no later than the absolute end `absolute_ms`, if any.
fn cap_at_absolute_end(exp: u64, absolute_ms: Option<i64>) -> u64 {
    match absolute_ms {
        Some(abs) => exp.min(u64::try_from(abs / 1000).unwrap_or(0)),
        None => exp,
    }
}

/// Length of the unpadded base64url encoding of `n` bytes.
fn b64url_len(n: usize) -> usize {
    n / 3 * 4 + [0, 2, 3][n % 3]
}

fn too_large(max: usize) -> Error {
    Error::InvalidInput(format!(
        "the access token would be longer than max_access_token_bytes ({max} bytes): make the access-token payload smaller"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_capped_at_the_absolute_end() {
        assert_eq!(cap_at_absolute_end(100, None), 100);
        assert_eq!(cap_at_absolute_end(100, Some(50_999)), 50);
        assert_eq!(cap_at_absolute_end(100, Some(200_000)), 100);
    }

    #[test]
    fn base64url_length_matches_the_encoder() {
        for n in 0..20 {
            assert_eq!(b64url_len(n), b64url(&vec![0u8; n]).len());
        }
    }
}
