//! Verifying access tokens: the hot path. It reads no store unless
//! blacklisting is on or the caller asks for a database check.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{SessionManager, VerifyOptions};
use crate::cache::VerifiedAccessToken;
use crate::config::SigningAlgorithm;
use crate::config::ms;
use crate::crypto::{b64std_decode, b64url_decode};
use crate::error::{Error, Result, TryRefreshReason, UnauthorisedReason};
use crate::keys::KeySet;
use crate::token::{AccessTokenClaims, TokenVersion};
use crate::token::{anti_csrf, jwt};

/// A request's access token after the signature-free structure check of
/// [`SessionManager::access_token_candidate`], ready for
/// [`SessionManager::get_session_candidate`]. A token this process has
/// verified before carries its cached claims, so that verifying it does not
/// look it up a second time. Its `Debug` leaves the token out.
#[derive(Clone)]
pub struct AccessTokenCandidate<'t>(pub(super) Candidate<'t>);

/// What an [`AccessTokenCandidate`] knows of its token.
#[derive(Clone)]
pub(super) enum Candidate<'t> {
    /// Verified by this process before: the cache's entry, whose text is
    /// byte for byte the presented token (compared in constant time).
    Cached(VerifiedAccessToken),
    /// Not in the cache: the presented text, to be verified in full.
    Unverified(&'t str),
}

impl std::fmt::Debug for AccessTokenCandidate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenCandidate")
            .field("cached", &matches!(self.0, Candidate::Cached(_)))
            .finish_non_exhaustive()
    }
}

impl AccessTokenCandidate<'_> {
    /// The token (the cache's copy of the same bytes when it was cached).
    pub fn token(&self) -> &str {
        match &self.0 {
            Candidate::Cached(entry) => &entry.token,
            Candidate::Unverified(token) => token,
        }
    }
}

/// Why a token failed decoding.
enum DecodeError {
    /// Not a tessera access token (any structural or signature failure).
    Invalid,
    /// Signed by a key this process does not know.
    UnknownKid,
}

impl SessionManager {
    /// Verifies an access token and returns its claims.
    ///
    /// In order: the verified-token cache, or the signature (by `kid`, with
    /// the key's own algorithm only) and the claims (session-token type,
    /// issuer); then expiry; then the anti-CSRF token when `options` ask for
    /// it and the mode is `ViaToken`; then, with blacklisting or
    /// `check_database`, the session's existence in the store.
    ///
    /// Errors: [`Error::Unauthorised`] for anything that is not a valid
    /// access token (including one that carries `parentRefreshTokenHash1`,
    /// which only [`RefreshModel::ChildPromotion`](super::RefreshModel)
    /// issues and only [`get_session_as`](Self::get_session_as) verifies,
    /// one that lives longer than
    /// `access_token_validity` plus `clock_leeway`, or is not in the one
    /// canonical unpadded base64url spelling) or whose session is gone; [`Error::TryRefreshToken`] for
    /// an expired token, an unknown signing key, or a failed anti-CSRF check.
    #[tracing::instrument(level = "trace", skip_all)]
    pub async fn get_session(
        &self,
        access_token: &str,
        anti_csrf_token: Option<&str>,
        options: VerifyOptions,
    ) -> Result<Arc<AccessTokenClaims>> {
        let candidate = AccessTokenCandidate(self.lookup(access_token));
        Ok(self
            .get_session_candidate(candidate, anti_csrf_token, options)
            .await?
            .claims)
    }

    /// With blacklisting or `check_database`: `Unauthorised` unless the
    /// session of `claims` still exists (one store read).
    pub(super) async fn check_session_in_store(
        &self,
        claims: &AccessTokenClaims,
        options: VerifyOptions,
    ) -> Result<()> {
        if (self.inner.config.blacklisting || options.check_database)
            && !self
                .inner
                .store
                .session_exists(&claims.session_handle, self.now_ms())
                .await?
        {
            return Err(Error::unauthorised(UnauthorisedReason::SessionRevoked));
        }
        Ok(())
    }

    /// Every check of [`get_session`](Self::get_session) except the store:
    /// cache or signature and claims, expiry, anti-CSRF.
    pub(super) async fn verify_token(
        &self,
        access_token: &str,
        anti_csrf_token: Option<&str>,
        options: VerifyOptions,
    ) -> Result<Arc<AccessTokenClaims>> {
        Ok(self
            .verify_candidate(self.lookup(access_token), anti_csrf_token, options)
            .await?
            .claims)
    }

    /// The verified-token cache's entry for exactly the bytes `token`, if
    /// any.
    fn cached(&self, token: &[u8]) -> Option<VerifiedAccessToken> {
        self.inner.cache.as_ref().and_then(|c| c.get(token))
    }

    /// `token` looked up in the verified-token cache.
    fn lookup<'t>(&self, token: &'t str) -> Candidate<'t> {
        match self.cached(token.as_bytes()) {
            Some(entry) => Candidate::Cached(entry),
            None => Candidate::Unverified(token),
        }
    }

    /// [`verify_token`](Self::verify_token) with the cache already looked
    /// up: a cached entry, or the token to verify in full.
    pub(super) async fn verify_candidate(
        &self,
        candidate: Candidate<'_>,
        anti_csrf_token: Option<&str>,
        options: VerifyOptions,
    ) -> Result<VerifiedAccessToken> {
        let now_ms = self.now_ms();
        let verified = match candidate {
            Candidate::Cached(entry) => entry,
            // Boxed: the full verification (and a key reload) is the rare
            // path, and its state would otherwise make every request's
            // future larger, which axum moves into a box of its own.
            Candidate::Unverified(token) => Box::pin(self.verify_uncached(token, now_ms)).await?,
        };
        let claims = &verified.claims;
        if u64::try_from(now_ms).unwrap_or(0) >= claims.expiry_ms() {
            return Err(Error::try_refresh(TryRefreshReason::Expired));
        }
        if options.anti_csrf_check && self.anti_csrf_enabled(options.enable_anti_csrf) {
            let Some(expected) = claims.anti_csrf_token.as_deref() else {
                return Err(Error::try_refresh(TryRefreshReason::AntiCsrfMissing));
            };
            if anti_csrf_token.is_none() {
                return Err(Error::try_refresh(TryRefreshReason::AntiCsrfMissing));
            }
            if !anti_csrf::matches(expected, anti_csrf_token) {
                return Err(Error::try_refresh(TryRefreshReason::AntiCsrfMismatch));
            }
        }
        Ok(verified)
    }

    /// Whether `token` is shaped like one of tessera's access tokens (see
    /// [`is_well_formed_access_token`](crate::token::access::is_well_formed_access_token)),
    /// answered from the verified-token cache when it holds the token, so the
    /// common case costs a lookup rather than a decode. Proves nothing about
    /// validity: only [`SessionManager::get_session`] verifies.
    pub fn is_well_formed_access_token(&self, token: &str) -> bool {
        self.access_token_candidate(token).is_some()
    }

    /// [`is_well_formed_access_token`](Self::is_well_formed_access_token),
    /// keeping what it learnt: `Some` for a token shaped like an access
    /// token, with its cached claims if this process verified it before.
    /// [`get_session_candidate`](Self::get_session_candidate) and
    /// [`get_session_candidate_as`](Self::get_session_candidate_as) then
    /// verify it without a second cache lookup. Proves nothing about
    /// validity.
    pub fn access_token_candidate<'t>(&self, token: &'t str) -> Option<AccessTokenCandidate<'t>> {
        match self.lookup(token) {
            Candidate::Unverified(token) => self.unverified_candidate(token),
            cached => Some(AccessTokenCandidate(cached)),
        }
    }

    /// [`access_token_candidate`](Self::access_token_candidate) for the raw
    /// bytes of a request header, not checked as text first: a token this
    /// process verified before is found by its bytes (the constant-time
    /// compare with the cached token, whose bytes are ASCII), so the common
    /// case reads them once; any other must be UTF-8 (else `None`) and
    /// shaped like an access token.
    pub fn access_token_candidate_bytes<'t>(
        &self,
        token: &'t [u8],
    ) -> Option<AccessTokenCandidate<'t>> {
        if let Some(entry) = self.cached(token) {
            return Some(AccessTokenCandidate(Candidate::Cached(entry)));
        }
        self.unverified_candidate(std::str::from_utf8(token).ok()?)
    }

    /// A token not in the cache, if it is shaped like an access token.
    fn unverified_candidate<'t>(&self, token: &'t str) -> Option<AccessTokenCandidate<'t>> {
        crate::token::access::is_well_formed_access_token_with(
            token,
            self.inner.config.session_token_type_claim,
        )
        .then_some(AccessTokenCandidate(Candidate::Unverified(token)))
    }

    /// [`get_session`](Self::get_session) for a token that passed
    /// [`access_token_candidate`](Self::access_token_candidate): the same
    /// checks and errors, and the token's text back, shared with the
    /// verified-token cache (no copy).
    pub async fn get_session_candidate(
        &self,
        candidate: AccessTokenCandidate<'_>,
        anti_csrf_token: Option<&str>,
        options: VerifyOptions,
    ) -> Result<VerifiedAccessToken> {
        let verified = self
            .verify_candidate(candidate.0, anti_csrf_token, options)
            .await?;
        if verified.claims.parent_refresh_token_hash1.is_some() {
            // Only the child-token model issues such a token, and only its
            // verify (`get_session_as`) may promote it.
            return Err(Error::unauthorised(UnauthorisedReason::InvalidAccessToken));
        }
        self.check_session_in_store(&verified.claims, options)
            .await?;
        Ok(verified)
    }

    /// Full verification of a token not in the cache; caches it on success.
    async fn verify_uncached(&self, token: &str, now_ms: i64) -> Result<VerifiedAccessToken> {
        let claims = match self.decode_reloading_keys(token).await? {
            Ok(c) => c,
            Err(DecodeError::Invalid) => {
                return Err(Error::unauthorised(UnauthorisedReason::InvalidAccessToken));
            }
            Err(DecodeError::UnknownKid) => {
                return Err(Error::try_refresh(TryRefreshReason::UnknownSigningKey));
            }
        };
        // A token from the future (beyond the leeway) was not made by a
        // server with a sane clock.
        let leeway = ms(self.inner.config.clock_leeway);
        let iat_ms = i64::try_from(claims.issued_at_ms()).unwrap_or(i64::MAX);
        if iat_ms > now_ms.saturating_add(leeway) {
            return Err(Error::unauthorised(UnauthorisedReason::InvalidAccessToken));
        }
        let verified = VerifiedAccessToken {
            token: token.into(),
            claims: Arc::new(claims),
        };
        if let Some(cache) = &self.inner.cache
            && u64::try_from(now_ms).unwrap_or(0) < verified.claims.expiry_ms()
        {
            cache.insert_shared(verified.clone());
        }
        Ok(verified)
    }

    /// Signature and claim checks, no I/O.
    ///
    /// A token whose header is byte for byte the one tessera writes for a
    /// known key skips header decoding (the header then pins the key's
    /// algorithm and the `kid`); any other header is decoded and checked in full.
    fn decode(
        &self,
        token: &str,
        keys: &KeySet,
    ) -> std::result::Result<AccessTokenClaims, DecodeError> {
        let core_versions = self.inner.config.core_token_versions;
        if core_versions && token.starts_with(jwt::V2_HEADER) {
            return self.decode_v2(token, keys);
        }
        let parts = jwt::split(token).ok_or(DecodeError::Invalid)?;
        let (kid, key, version) = match keys.key_by_exact_header(parts.header_b64) {
            Some((kid, key)) => (kid, key, TokenVersion::V5),
            None => key_from_header(parts.header_b64, keys, core_versions)?,
        };
        self.verify_and_decode_payload(&parts, kid, key, version)
    }

    /// A SuperTokens v2 token (only with `core_token_versions`): exactly
    /// the core's fixed header, standard base64 (padded, canonical) payload
    /// and signature, verified with each RS256 key of the set in turn, as
    /// the core does, since the header names none.
    fn decode_v2(
        &self,
        token: &str,
        keys: &KeySet,
    ) -> std::result::Result<AccessTokenClaims, DecodeError> {
        if token.len() > jwt::MAX_TOKEN_LEN {
            return Err(DecodeError::Invalid);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(DecodeError::Invalid);
        };
        if header != jwt::V2_HEADER || payload_b64.is_empty() {
            return Err(DecodeError::Invalid);
        }
        let signature = b64std_decode(sig_b64).ok_or(DecodeError::Invalid)?;
        let signing_input = &token[..header.len() + 1 + payload_b64.len()];
        let (kid, _) = keys
            .verifying_keys()
            .find(|(_, key)| {
                key.algorithm == SigningAlgorithm::Rs256
                    && key.verify(signing_input.as_bytes(), &signature)
            })
            .ok_or(DecodeError::Invalid)?;
        let payload = b64std_decode(payload_b64).ok_or(DecodeError::Invalid)?;
        let map: Map<String, Value> =
            serde_json::from_slice(&payload).map_err(|_| DecodeError::Invalid)?;
        let claims = AccessTokenClaims::from_payload_with(map, kid, None, false, TokenVersion::V2)
            .ok_or(DecodeError::Invalid)?;
        if !self.lifetime_is_plausible(&claims) {
            return Err(DecodeError::Invalid);
        }
        Ok(claims)
    }

    fn verify_and_decode_payload(
        &self,
        parts: &jwt::Parts<'_>,
        kid: &str,
        key: &crate::keys::VerifyingKey,
        version: TokenVersion,
    ) -> std::result::Result<AccessTokenClaims, DecodeError> {
        // `key` is pinned to its algorithm: the exact-header path matched
        // the header tessera writes for it, the other path checked `alg`.
        if !key.verify(parts.signing_input.as_bytes(), &parts.signature) {
            return Err(DecodeError::Invalid);
        }
        let payload = b64url_decode(parts.payload_b64).ok_or(DecodeError::Invalid)?;
        let map: Map<String, Value> =
            serde_json::from_slice(&payload).map_err(|_| DecodeError::Invalid)?;
        let claims = AccessTokenClaims::from_payload_with(
            map,
            kid,
            self.inner.config.issuer.as_deref(),
            self.inner.config.session_token_type_claim,
            version,
        )
        .ok_or(DecodeError::Invalid)?;
        if !self.lifetime_is_plausible(&claims) {
            return Err(DecodeError::Invalid);
        }
        Ok(claims)
    }

    /// Whether `exp - iat` is no longer than this manager ever issues: the
    /// configured validity (jitter, payload regeneration and the absolute
    /// session end only shorten it) plus the clock leeway, plus the second
    /// lost when `iat` is rounded down. A longer-lived token was not made by
    /// a manager with this configuration (an `exp` of 2^63 signed by a
    /// leaked or foreign-use key, or an operator who shortened the validity:
    /// the client refreshes and gets a token of today's length).
    fn lifetime_is_plausible(&self, claims: &AccessTokenClaims) -> bool {
        let config = &self.inner.config;
        let lifetime_ms = claims
            .expires_at
            .saturating_sub(claims.issued_at)
            .saturating_mul(1000);
        let allowed_ms = u64::try_from(
            ms(config.access_token_validity)
                .saturating_add(ms(config.clock_leeway))
                .saturating_add(999),
        )
        .unwrap_or(u64::MAX);
        lifetime_ms <= allowed_ms
    }

    /// Verifies signature and claims but not expiry, anti-CSRF or the store:
    /// for operations that accept an expired token (payload regeneration).
    pub(crate) async fn decode_ignoring_expiry(&self, token: &str) -> Result<AccessTokenClaims> {
        self.decode_reloading_keys(token)
            .await?
            .map_err(|_| Error::unauthorised(UnauthorisedReason::InvalidAccessToken))
    }

    /// [`decode`](Self::decode); on an unknown `kid` — perhaps another
    /// process rotated the keys — the key set is reloaded (at most once per
    /// cooldown) and the token decoded again.
    async fn decode_reloading_keys(
        &self,
        token: &str,
    ) -> Result<std::result::Result<AccessTokenClaims, DecodeError>> {
        match self.decode(token, &self.inner.keys.load()) {
            Err(DecodeError::UnknownKid) if self.reload_keys_for_unknown_kid().await? => {
                Ok(self.decode(token, &self.inner.keys.load()))
            }
            other => Ok(other),
        }
    }
}

/// The key a header names, after checking the header (`typ`, `version`,
/// `kid`, no `crit`) and that its `alg` is the one the key was made for.
fn key_from_header<'k>(
    header_b64: &str,
    keys: &'k KeySet,
    core_versions: bool,
) -> std::result::Result<(&'k str, &'k Arc<crate::keys::VerifyingKey>, TokenVersion), DecodeError> {
    let header_json = b64url_decode(header_b64).ok_or(DecodeError::Invalid)?;
    let (header, version) =
        jwt::parse_header_as(&header_json, core_versions).ok_or(DecodeError::Invalid)?;
    let kid = header.kid.as_deref().ok_or(DecodeError::Invalid)?;
    let (kid, key) = keys.verifying_key(kid).ok_or(DecodeError::UnknownKid)?;
    if header.alg != key.algorithm.jws_name() {
        return Err(DecodeError::Invalid);
    }
    Ok((kid, key, version))
}
