//! Configuration of a [`SessionManager`](crate::SessionManager), with
//! SuperTokens' defaults where SuperTokens has one.

use std::time::Duration;

use crate::error::{Error, Result};

/// How cross-site request forgery is prevented for cookie-based sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AntiCsrfMode {
    /// An anti-CSRF token is issued with the session and must be echoed in
    /// the `anti-csrf` header of non-GET requests and refreshes.
    ViaToken,
    /// Non-GET requests must carry a custom header (`rid`), which a
    /// cross-site form cannot add. Checked by the web layer.
    ViaCustomHeader,
    /// No check (SameSite cookies do the job).
    #[default]
    None,
}

/// The algorithm that signs access tokens (and JWTs of
/// [`SessionManager::sign_jwt`](crate::SessionManager::sign_jwt)).
///
/// Every key records the algorithm it was made for, and a token verifies
/// only under its key's algorithm: the header's `alg` must name it (never
/// `none`), whatever the setting is now. Switching the setting makes the
/// next key (published a `signing_key_publish_lead` before it signs) use the
/// new algorithm; keys of the old one keep verifying until their tokens
/// have expired. Every process on one database must use the same setting.
///
/// | algorithm | JWS `alg` | JWKS | sign / verify cost | who can verify |
/// |---|---|---|---|---|
/// | [`Rs256`](Self::Rs256) (default) | `RS256` | `kty: RSA` | slow / fast | every JWT library, every SuperTokens backend SDK |
/// | [`EdDsa`](Self::EdDsa) | `EdDSA` | `kty: OKP`, `crv: Ed25519` (RFC 8037) | fast / fast | libraries with RFC 8037 |
/// | [`Es256`](Self::Es256) | `ES256` | `kty: EC`, `crv: P-256` | fast / medium | most JWT libraries |
///
/// Keep `Rs256` wherever a SuperTokens backend SDK, or any other JWKS
/// consumer that only knows RSA, verifies the tokens (`tessera serve`
/// always does). An app whose only token readers are tessera itself and
/// the browser SDK (which never checks signatures) — an axum or actix-web
/// app on tessera-axum / tessera-actix, or the Python package — can pick
/// `EdDsa`, which makes creating and refreshing a session several times
/// cheaper (see `BENCHMARKS.md`).
///
/// ```
/// # async fn demo() -> tessera::Result<()> {
/// use tessera::{SessionManager, SigningAlgorithm};
///
/// let manager = SessionManager::builder()
///     .signing_algorithm(SigningAlgorithm::EdDsa)
///     .build()
///     .await?;
/// assert!(manager.jwks().keys.iter().all(|k| k.alg == "EdDSA"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over RSA-2048 keys (`RS256`).
    #[default]
    Rs256,
    /// Ed25519 signatures (`EdDSA`, RFC 8037).
    EdDsa,
    /// ECDSA over P-256 with SHA-256 (`ES256`); tessera writes and accepts
    /// only the low-S form of a signature, so each token has one spelling.
    Es256,
}

impl SigningAlgorithm {
    /// The JWS `alg` name: `RS256`, `EdDSA` or `ES256`. Also what a key row
    /// of the store records.
    pub fn jws_name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
        }
    }

    /// The algorithm whose JWS name is exactly `name`.
    pub fn from_jws_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "EdDSA" => Some(Self::EdDsa),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.jws_name())
    }
}

/// Engine settings. Build one with [`SessionManager::builder`](crate::SessionManager::builder).
#[derive(Debug, Clone)]
pub struct Config {
    /// Lifetime of an access token (default 3600 s).
    pub access_token_validity: Duration,
    /// Idle lifetime of a session: a refresh token expires this long after
    /// its last use (default 100 days, SuperTokens' `refresh_token_validity`).
    pub refresh_token_validity: Duration,
    /// Absolute lifetime of a session, whatever refreshes happen (default none).
    pub absolute_session_lifetime: Option<Duration>,
    /// Anti-CSRF mode (default [`AntiCsrfMode::None`]; the web layer may pick
    /// `ViaCustomHeader` when cookies are `SameSite=None`, as SuperTokens does).
    pub anti_csrf: AntiCsrfMode,
    /// When on, every verification also checks that the session still exists
    /// in the store, so revocation takes effect at once (default off).
    pub blacklisting: bool,
    /// How long a rotating signing key signs before the next one takes over
    /// (default 7 days, SuperTokens' `access_token_dynamic_signing_key_update_interval`).
    pub signing_key_rotation_interval: Duration,
    /// How long before it signs anything a new key is published in JWKS
    /// (default 2 minutes: longer than the JWKS `max-age`).
    pub signing_key_publish_lead: Duration,
    /// `Cache-Control: max-age` advertised for JWKS (default 60 s).
    pub jwks_max_age: Duration,
    /// How long the previous refresh token keeps working after a rotation
    /// (default 30 s, allowed 0–300 s).
    pub refresh_grace_period: Duration,
    /// Largest random shortening of an access token's lifetime, as a
    /// fraction (default 0.05 = up to 5 %), so that clients do not all
    /// refresh in the same second.
    pub access_token_validity_jitter: f64,
    /// Value of the `iss` claim put in, and required of, access tokens
    /// (default none: no `iss` added or checked).
    pub issuer: Option<String>,
    /// Algorithm of the signing keys this manager creates (default
    /// [`SigningAlgorithm::Rs256`]; see [`SigningAlgorithm`] for when another
    /// one fits). Existing keys keep the algorithm they were made with.
    pub signing_algorithm: SigningAlgorithm,
    /// Sign with the rotating (dynamic) key set (default true, as
    /// SuperTokens' `use_dynamic_access_token_signing_key`).
    pub use_dynamic_signing_key: bool,
    /// Tolerated clock difference for `exp`/`iat` checks (default 2 s).
    pub clock_leeway: Duration,
    /// Capacity of the verified-access-token cache in entries (default
    /// 10,000; 0 disables it).
    pub verified_token_cache_capacity: usize,
    /// How often the background task deletes expired sessions and retired
    /// keys (default 10 minutes).
    pub cleanup_interval: Duration,
    /// Rows deleted per cleanup statement (default 1000).
    pub cleanup_batch_size: u32,
    /// Minimum time between two reloads of the key set caused by an unknown
    /// `kid` (default 500 ms).
    pub key_reload_cooldown: Duration,
    /// Longest access token the manager issues, in bytes (default 8 KiB,
    /// allowed [`MIN_ACCESS_TOKEN_BYTES`]..=[`MAX_ACCESS_TOKEN_BYTES`]).
    /// Creating a session, storing a payload or regenerating a token whose
    /// access token would be longer fails with [`Error::InvalidInput`] and
    /// writes nothing: the token has to travel in a request header, and the
    /// default header limits of tessera-axum and `tessera serve` are 16 KiB
    /// for all headers together (cookies, user agent …); every process also
    /// refuses to verify a token over [`MAX_ACCESS_TOKEN_BYTES`].
    pub max_access_token_bytes: usize,
    /// Put tessera's session-token type claim `stt: 0` in every access token
    /// and require it (default on), so that no other JWT signed by the same
    /// keys passes as an access token; `stt` is then a protected claim.
    /// Off, tokens carry the claims SuperTokens core issues (the core has no
    /// `stt`: to it a user payload's `stt` is an ordinary claim, which the
    /// SDKs read as their token-type marker) and `stt` is a user claim:
    /// `tessera serve` turns it off, so the SDKs see the core's tokens. The
    /// access token is then told apart from other JWTs by its header
    /// (`typ` JWT, `version` 5, a `kid` of this key set) and its claims.
    pub session_token_type_claim: bool,
    /// Accept and issue SuperTokens core's older access-token formats
    /// (default off; see [`TokenVersion`](crate::TokenVersion)): v2, v3 and
    /// v4 tokens verify (v2 by trying each RS256 key of this set, as the
    /// core does, for its header names no key), a token may be issued in
    /// them ([`SessionManager::create_session_versioned`](crate::SessionManager::create_session_versioned)),
    /// and a header without `version` is read as v5, as the core reads a
    /// JWT of its JWT recipe: such a token verifies when it carries every v5
    /// session claim. Only for `tessera serve`, whose SDKs may hold such
    /// tokens; it requires `session_token_type_claim` off and no issuer (the
    /// old formats have neither), and only holders of the signing keys —
    /// the server, and API-key holders through its JWT recipe — can make
    /// such tokens.
    pub core_token_versions: bool,
    /// Test mode (default off): lifts the minimums that protect a real
    /// deployment, as SuperTokens core does when it runs its tests — a
    /// signing-key rotation interval under 60 s (down to 1 ms) and a refresh
    /// lifetime no longer than the access-token lifetime. The SDKs' own test
    /// suites need it (they rotate keys every 3.6 s); never turn it on in
    /// production.
    pub test_mode: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            access_token_validity: Duration::from_secs(3600),
            refresh_token_validity: Duration::from_secs(100 * 24 * 3600),
            absolute_session_lifetime: None,
            anti_csrf: AntiCsrfMode::None,
            blacklisting: false,
            signing_key_rotation_interval: Duration::from_secs(7 * 24 * 3600),
            signing_key_publish_lead: Duration::from_secs(120),
            jwks_max_age: Duration::from_secs(60),
            refresh_grace_period: Duration::from_secs(30),
            access_token_validity_jitter: 0.05,
            issuer: None,
            signing_algorithm: SigningAlgorithm::Rs256,
            use_dynamic_signing_key: true,
            clock_leeway: Duration::from_secs(2),
            verified_token_cache_capacity: 10_000,
            cleanup_interval: Duration::from_secs(600),
            cleanup_batch_size: 1000,
            key_reload_cooldown: Duration::from_millis(500),
            max_access_token_bytes: 8 * 1024,
            session_token_type_claim: true,
            core_token_versions: false,
            test_mode: false,
        }
    }
}

/// Smallest allowed `max_access_token_bytes`: room for the protected claims
/// of any session (ids up to 256 bytes) and a 4096-bit signature.
pub const MIN_ACCESS_TOKEN_BYTES: usize = 2 * 1024;

/// Largest allowed `max_access_token_bytes`: the longest access token any
/// manager verifies.
pub const MAX_ACCESS_TOKEN_BYTES: usize = crate::token::jwt::MAX_TOKEN_LEN;

/// Smallest signing-key rotation interval outside test mode.
pub const MIN_SIGNING_KEY_ROTATION_INTERVAL: Duration = Duration::from_secs(60);

/// Largest allowed refresh grace period.
pub const MAX_REFRESH_GRACE_PERIOD: Duration = Duration::from_secs(300);

impl Config {
    /// Checks the values against their allowed ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidInput(m.to_owned()));
        if self.access_token_validity < Duration::from_secs(1) {
            return bad("access_token_validity must be at least 1 second");
        }
        if self.refresh_token_validity <= self.access_token_validity && !self.test_mode {
            return bad("refresh_token_validity must be longer than access_token_validity");
        }
        if self.core_token_versions && (self.session_token_type_claim || self.issuer.is_some()) {
            return bad(
                "core_token_versions needs session_token_type_claim off and no issuer (SuperTokens core's tokens have neither)",
            );
        }
        if self.refresh_grace_period > MAX_REFRESH_GRACE_PERIOD {
            return bad("refresh_grace_period must be between 0 and 300 seconds");
        }
        if !(0.0..=0.5).contains(&self.access_token_validity_jitter) {
            return bad("access_token_validity_jitter must be between 0 and 0.5");
        }
        if self.signing_key_rotation_interval < MIN_SIGNING_KEY_ROTATION_INTERVAL && !self.test_mode
        {
            return bad("signing_key_rotation_interval must be at least 60 seconds");
        }
        if self.signing_key_rotation_interval < Duration::from_millis(1) {
            return bad("signing_key_rotation_interval must be positive");
        }
        if self.signing_key_publish_lead >= self.signing_key_rotation_interval {
            return bad("signing_key_publish_lead must be shorter than the rotation interval");
        }
        if self.cleanup_batch_size == 0 {
            return bad("cleanup_batch_size must be positive");
        }
        if !(MIN_ACCESS_TOKEN_BYTES..=MAX_ACCESS_TOKEN_BYTES).contains(&self.max_access_token_bytes)
        {
            return bad("max_access_token_bytes must be between 2048 and 16384");
        }
        if let Some(abs) = self.absolute_session_lifetime
            && abs < self.access_token_validity
        {
            return bad("absolute_session_lifetime must be at least access_token_validity");
        }
        Ok(())
    }
}

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
