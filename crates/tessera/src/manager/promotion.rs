//! The child-token refresh model of SuperTokens' CDI ≤ 5.5
//! ([`RefreshModel::ChildPromotion`]): refresh hands out a child refresh
//! token, the next verify (or a refresh with the child) promotes it, and
//! reuse of a token that is neither current nor a child of current is theft.
//!
//! A child is recognised without storing it: its MAC proves the engine
//! minted it for this session, and its generation is the current one plus
//! one. Only the current token ever gets children, and promotion is a
//! compare-and-swap on the current hash, so each generation has at most one
//! token that was ever current, and every child of generation `g + 1` was
//! minted from that one token of generation `g`.

use serde_json::Value;

use super::AccessTokenCandidate;
use super::issue::{Lineage, SizeRule, Subject};
use super::{
    CreatedSession, RefreshModel, RefreshRequest, SessionManager, VerifiedSession, VerifyOptions,
};
use crate::config::ms;
use crate::crypto::ct_eq;
use crate::error::{Error, Result, UnauthorisedReason};
use crate::store::{RefreshState, Rotation, SessionRecord};
use crate::token::AccessTokenClaims;
use crate::token::refresh::{RefreshToken, stored_hash_of_hash1};

/// How often a refresh re-reads the session after losing a promotion race.
const PROMOTION_ATTEMPTS: usize = 3;

impl SessionManager {
    /// Refreshes a session under `model`.
    /// [`RefreshModel::RotateAtRefresh`] is
    /// [`refresh_session_with`](Self::refresh_session_with).
    ///
    /// Under [`RefreshModel::ChildPromotion`], in order (after the token's
    /// MAC and anti-CSRF checks, as for every refresh):
    /// 1. The session must be live, else `Unauthorised`.
    /// 2. The presented token is the current one: nothing is written; a
    ///    child refresh token goes out with an access token whose
    ///    `parentRefreshTokenHash1` is the presented token's hash.
    /// 3. The presented token is a child of the current one: it is promoted
    ///    with one compare-and-swap on the current hash (the session's idle
    ///    expiry extended), and step 2 follows with it as the parent.
    /// 4. Any other genuine token of this session at or below the current
    ///    generation — the parent of a promoted child, a sibling child that
    ///    lost — is theft: the session is revoked and `TokenTheftDetected`
    ///    returned.
    /// 5. Anything else: `Unauthorised`.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn refresh_session_as(
        &self,
        request: RefreshRequest<'_>,
        model: RefreshModel,
    ) -> Result<CreatedSession> {
        match model {
            RefreshModel::RotateAtRefresh => self.refresh_session_with(request).await,
            RefreshModel::ChildPromotion => self.refresh_with_child(request).await,
        }
    }

    async fn refresh_with_child(&self, request: RefreshRequest<'_>) -> Result<CreatedSession> {
        let mac_key = self.refresh_mac_key().await?;
        let presented = self.presented_refresh_token(&request, &mac_key)?;
        let dynamic = request
            .use_dynamic_signing_key
            .unwrap_or(self.inner.config.use_dynamic_signing_key);
        let presented_hash = presented.stored_hash();
        for _ in 0..PROMOTION_ATTEMPTS {
            let now = self.now_ms();
            let Some(record) = self.inner.store.get_session(&presented.handle, now).await? else {
                return Err(self
                    .refresh_refused(&presented.handle, UnauthorisedReason::UnknownRefreshToken));
            };
            let current = record.refresh.current_hash;
            let parent_record = if ct_eq(&presented_hash, &current) {
                record
            } else if presented.generation == record.refresh.generation.saturating_add(1) {
                let promotion = self.promotion(presented_hash, &record, now);
                match self
                    .inner
                    .store
                    .rotate_refresh(&presented.handle, &current, &promotion, now)
                    .await?
                {
                    Some(promoted) => {
                        tracing::debug!(target: "tessera::refresh", session_handle = ?promoted.handle, "child refresh token promoted at refresh");
                        promoted
                    }
                    // Another request moved the session on: read it again.
                    None => continue,
                }
            } else if presented.generation <= record.refresh.generation {
                return Err(self.revoke_for_theft(record).await);
            } else {
                return Err(self
                    .refresh_refused(&presented.handle, UnauthorisedReason::UnknownRefreshToken));
            };
            let child = RefreshToken::mint(
                &mac_key,
                &presented.handle,
                presented.generation.saturating_add(1),
                presented.anti_csrf,
            )?;
            return self
                .refreshed_tokens(&parent_record, &child, Some(&presented), &mac_key, dynamic)
                .await;
        }
        tracing::warn!(target: "tessera::refresh", session_handle = ?presented.handle, "refresh gave up after repeated promotion races");
        Err(self.refresh_refused(&presented.handle, UnauthorisedReason::UnknownRefreshToken))
    }

    /// Verifies an access token under `model`.
    /// [`RefreshModel::RotateAtRefresh`] is [`get_session`](Self::get_session),
    /// except that a child token (one carrying `parentRefreshTokenHash1`)
    /// is valid as it is, and never issues a token.
    ///
    /// Under [`RefreshModel::ChildPromotion`], after every check of
    /// `get_session` but the store's (SuperTokens core's rule for CDI ≤ 5.5):
    /// 1. A token without `parentRefreshTokenHash1`, with neither blacklisting
    ///    nor `check_database`: valid, no store read.
    /// 2. Otherwise the session is read; gone: `Unauthorised`.
    /// 3. The token's parent is the current refresh token: its child is
    ///    promoted with one compare-and-swap on the current hash (of several
    ///    verifies racing, one writes), and a new access token without the
    ///    parent claim is issued.
    /// 4. The token's own refresh token is current (already promoted), or a
    ///    database check finds the stored payload differs from the token's:
    ///    a new access token, nothing written.
    /// 5. Otherwise the token is valid as it is (no new token).
    #[tracing::instrument(level = "trace", skip_all)]
    pub async fn get_session_as(
        &self,
        access_token: &str,
        anti_csrf_token: Option<&str>,
        options: VerifyOptions,
        model: RefreshModel,
    ) -> Result<VerifiedSession> {
        let claims = self
            .verify_token(access_token, anti_csrf_token, options)
            .await?;
        self.session_as(claims, options, model).await
    }

    /// [`get_session_as`](Self::get_session_as) for a token that passed
    /// [`access_token_candidate`](Self::access_token_candidate): the same
    /// rules, and the presented token's text back, shared with the
    /// verified-token cache (no copy).
    pub async fn get_session_candidate_as(
        &self,
        candidate: AccessTokenCandidate<'_>,
        anti_csrf_token: Option<&str>,
        options: VerifyOptions,
        model: RefreshModel,
    ) -> Result<(VerifiedSession, std::sync::Arc<str>)> {
        let verified = self
            .verify_candidate(candidate.0, anti_csrf_token, options)
            .await?;
        let session = self.session_as(verified.claims, options, model).await?;
        Ok((session, verified.token))
    }

    /// The rules of [`get_session_as`](Self::get_session_as) after the
    /// token's own checks.
    async fn session_as(
        &self,
        claims: std::sync::Arc<AccessTokenClaims>,
        options: VerifyOptions,
        model: RefreshModel,
    ) -> Result<VerifiedSession> {
        if model == RefreshModel::RotateAtRefresh {
            return self.verify_rotating(claims, options).await;
        }
        let check_database = self.inner.config.blacklisting || options.check_database;
        if claims.parent_refresh_token_hash1.is_none() && !check_database {
            return Ok(VerifiedSession {
                claims,
                access_token: None,
                payload_update_available: None,
            });
        }
        let now = self.now_ms();
        let Some(record) = self
            .inner
            .store
            .get_session(&claims.session_handle, now)
            .await?
        else {
            return Err(Error::unauthorised(UnauthorisedReason::SessionRevoked));
        };
        let payload_stale = check_database && record.jwt_payload != claims.user_payload;
        let own_hash = stored_hash_of_hash1(&claims.refresh_token_hash1);
        let Some(parent) = claims.parent_refresh_token_hash1.as_deref() else {
            return if payload_stale {
                self.reissued(claims, &record).await
            } else {
                Ok(VerifiedSession {
                    claims,
                    access_token: None,
                    payload_update_available: None,
                })
            };
        };
        if ct_eq(&stored_hash_of_hash1(parent), &record.refresh.current_hash) {
            let promotion = self.promotion(own_hash, &record, now);
            if let Some(promoted) = self
                .inner
                .store
                .rotate_refresh(
                    &record.handle,
                    &record.refresh.current_hash,
                    &promotion,
                    now,
                )
                .await?
            {
                tracing::debug!(target: "tessera::verify", session_handle = ?promoted.handle, "child refresh token promoted at verify");
                return self.reissued(claims, &promoted).await;
            }
            // Lost the race: see what the winner left.
            let Some(again) = self
                .inner
                .store
                .get_session(&claims.session_handle, now)
                .await?
            else {
                return Err(Error::unauthorised(UnauthorisedReason::SessionRevoked));
            };
            if ct_eq(&own_hash, &again.refresh.current_hash) {
                return self.reissued(claims, &again).await;
            }
            return Ok(VerifiedSession {
                claims,
                access_token: None,
                payload_update_available: None,
            });
        }
        if ct_eq(&own_hash, &record.refresh.current_hash) || payload_stale {
            return self.reissued(claims, &record).await;
        }
        Ok(VerifiedSession {
            claims,
            access_token: None,
            payload_update_available: None,
        })
    }

    /// Verify under rotation (SuperTokens core from CDI 5.6): never writes,
    /// never issues a token; a child token of an SDK that spoke 5.4 before
    /// is valid as it is. With `check_database` the session is read once:
    /// gone → `Unauthorised`; the token's refresh token (or, for a child,
    /// its parent) must be the current or the previous one, else
    /// `Unauthorised` (its branch was rotated out: one refresh settles it,
    /// where the real reuse checks live); and whether the stored payload
    /// differs from the token's is reported.
    async fn verify_rotating(
        &self,
        claims: std::sync::Arc<AccessTokenClaims>,
        options: VerifyOptions,
    ) -> Result<VerifiedSession> {
        if !options.check_database {
            self.check_session_in_store(&claims, options).await?;
            return Ok(VerifiedSession {
                claims,
                access_token: None,
                payload_update_available: None,
            });
        }
        let Some(record) = self
            .inner
            .store
            .get_session(&claims.session_handle, self.now_ms())
            .await?
        else {
            return Err(Error::unauthorised(UnauthorisedReason::SessionRevoked));
        };
        let live = |hash1: &str| {
            let hash = stored_hash_of_hash1(hash1);
            ct_eq(&hash, &record.refresh.current_hash)
                | record
                    .refresh
                    .previous_hash
                    .is_some_and(|prev| ct_eq(&hash, &prev))
        };
        let in_lineage = live(&claims.refresh_token_hash1)
            || claims
                .parent_refresh_token_hash1
                .as_deref()
                .is_some_and(live);
        if !in_lineage {
            return Err(Error::unauthorised(UnauthorisedReason::RotatedOut));
        }
        let payload_update_available = Some(record.jwt_payload != claims.user_payload);
        Ok(VerifiedSession {
            claims,
            access_token: None,
            payload_update_available,
        })
    }

    /// The write that makes the child whose stored hash is `child_hash`
    /// current in place of `record`'s current token.
    fn promotion(&self, child_hash: [u8; 32], record: &SessionRecord, now: i64) -> Rotation {
        Rotation {
            refresh: RefreshState {
                current_hash: child_hash,
                previous_hash: Some(record.refresh.current_hash),
                // The child itself is not at hand (only its hash), and the
                // child-token model has no grace window to serve.
                current_sealed: None,
                generation: record.refresh.generation.saturating_add(1),
                rotated_at_ms: now,
            },
            expires_at_ms: now.saturating_add(ms(self.inner.config.refresh_token_validity)),
        }
    }

    /// A new access token for the session of `claims`, for its own refresh
    /// token (no parent claim), with the stored payload and the same
    /// anti-CSRF token and key kind.
    async fn reissued(
        &self,
        claims: std::sync::Arc<AccessTokenClaims>,
        record: &SessionRecord,
    ) -> Result<VerifiedSession> {
        let payload: &Value = &record.jwt_payload;
        let subject = Subject {
            handle: &record.handle,
            user_id: &record.user_id,
            recipe_user_id: &record.recipe_user_id,
            tenant_id: &record.tenant_id,
            user_payload: payload,
            absolute_expires_at_ms: record.absolute_expires_at_ms,
            // The core keeps the token's format (`Session.getSession`).
            version: claims.version,
        };
        let (issued, new_claims) = self
            .issue_access_token(
                &subject,
                Lineage::current(claims.refresh_token_hash1.clone()),
                claims.anti_csrf_token.clone(),
                claims.kid.starts_with("d-"),
                None,
                SizeRule::Warn,
            )
            .await?;
        Ok(VerifiedSession {
            claims: new_claims,
            access_token: Some(issued),
            payload_update_available: None,
        })
    }
}
