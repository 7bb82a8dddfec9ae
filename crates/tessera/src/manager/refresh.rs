//! Creating sessions and refreshing them: where refresh tokens rotate and
//! where theft is decided.

use serde_json::Value;

use super::ids::{Empty, check_id};
use super::issue::{Lineage, SizeRule, Subject};
use super::{
    CreatedSession, IssuedRefreshToken, NewSession, RefreshRequest, SessionManager, invalid,
};
use crate::config::ms;
use crate::crypto::{self, ct_eq};
use crate::error::{Error, Result, UnauthorisedReason};
use crate::store::{RefreshState, Rotation, SessionRecord, TenantFilter};
use crate::token::TokenVersion;
use crate::token::access::validate_user_payload_for;
use crate::token::anti_csrf;
use crate::token::refresh::{RefreshToken, new_handle};

impl SessionManager {
    /// Creates a session for `user_id` in the default tenant with the given
    /// access-token payload and session data (both JSON objects).
    ///
    /// Always a fresh handle (no session fixation). One database call.
    pub async fn create_new_session(
        &self,
        user_id: &str,
        jwt_payload: Value,
        session_data: Value,
    ) -> Result<CreatedSession> {
        self.create_session(
            NewSession::new(user_id)
                .jwt_payload(jwt_payload)
                .session_data(session_data),
        )
        .await
    }

    /// Creates a session with every option.
    ///
    /// Ids must be at most 256 bytes without control characters (the user
    /// and recipe user ids may be empty, as SuperTokens core allows; the
    /// tenant id may not), the payload
    /// must fit in an access token of at most `max_access_token_bytes`;
    /// otherwise [`Error::InvalidInput`] and nothing is stored.
    pub async fn create_session(&self, new: NewSession) -> Result<CreatedSession> {
        self.create_session_versioned(new, TokenVersion::V5).await
    }

    /// [`create_session`](Self::create_session) with its first access token
    /// in the format `version`, as SuperTokens core issues to an SDK of an
    /// old CDI version; the payload rule is that format's (a v2 payload is
    /// nested and may hold any key, `sub` included — such a session's
    /// refresh to a v5 token then fails, as in the core). Formats other
    /// than v5 need [`Config::core_token_versions`](crate::Config)
    /// ([`Error::InvalidInput`] otherwise). Refreshes issue v5 tokens.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = ?new.user_id), err(level = "debug"))]
    pub async fn create_session_versioned(
        &self,
        new: NewSession,
        version: TokenVersion,
    ) -> Result<CreatedSession> {
        check_id("user id", &new.user_id, Empty::Allowed)?;
        check_id("tenant id", &new.tenant_id, Empty::Refused)?;
        if let Some(r) = &new.recipe_user_id {
            check_id("recipe user id", r, Empty::Allowed)?;
        }
        if version != TokenVersion::V5 && !self.inner.config.core_token_versions {
            return Err(Error::InvalidInput(
                "access-token formats other than v5 need core_token_versions".into(),
            ));
        }
        validate_user_payload_for(
            &new.jwt_payload,
            self.inner.config.issuer.is_some(),
            self.inner.config.session_token_type_claim,
            version,
        )?;
        if !new.session_data.is_object() {
            return Err(invalid("the session data must be a JSON object"));
        }
        let mac_key = self.refresh_mac_key().await?;
        let now = self.now_ms();
        let handle = new_handle()?;
        let anti_csrf = self.anti_csrf_enabled(new.enable_anti_csrf);
        let refresh = RefreshToken::mint(&mac_key, &handle, 0, anti_csrf)?;
        let absolute = self
            .inner
            .config
            .absolute_session_lifetime
            .map(|d| now.saturating_add(ms(d)));
        let record = SessionRecord {
            handle,
            tenant_id: new.tenant_id,
            recipe_user_id: new.recipe_user_id.unwrap_or_else(|| new.user_id.clone()),
            user_id: new.user_id,
            jwt_payload: new.jwt_payload,
            session_data: new.session_data,
            created_at_ms: now,
            expires_at_ms: self.idle_expiry(now, absolute),
            absolute_expires_at_ms: absolute,
            refresh: RefreshState {
                current_hash: refresh.stored_hash(),
                previous_hash: None,
                current_sealed: None,
                generation: 0,
                rotated_at_ms: now,
            },
            metadata: new.metadata,
        };
        let dynamic = new
            .use_dynamic_signing_key
            .unwrap_or(self.inner.config.use_dynamic_signing_key);
        // Signed before the row is written, so a refused token (too large)
        // leaves nothing behind; cached only once the row exists.
        let created = self
            .session_tokens(
                &record,
                &refresh,
                None,
                &mac_key,
                dynamic,
                (SizeRule::Refuse, version),
            )
            .await?;
        self.inner.store.insert_session(&record).await?;
        self.cache_issued(&created.access_token, &created.claims);
        Ok(created)
    }

    /// Refreshes a session with the short-form options (the configured
    /// anti-CSRF mode and key kind).
    pub async fn refresh_session(
        &self,
        refresh_token: &str,
        anti_csrf_token: Option<&str>,
    ) -> Result<CreatedSession> {
        self.refresh_session_with(RefreshRequest {
            refresh_token,
            anti_csrf_token,
            enable_anti_csrf: None,
            use_dynamic_signing_key: None,
        })
        .await
    }

    /// Refreshes a session: new access token, rotated refresh token.
    ///
    /// The rule, in order:
    /// 1. The token must be well-formed and carry a valid MAC, else
    ///    `Unauthorised` (no database call).
    /// 2. With anti-CSRF on for the session, the presented anti-CSRF token
    ///    must match, else `Unauthorised`.
    /// 3. Rotate with one compare-and-swap on the current hash. If it
    ///    applies, the new tokens go out.
    /// 4. Otherwise read the session. None live: `Unauthorised`. The
    ///    presented token is the *previous* one and the rotation is at most
    ///    `refresh_grace_period` old: success, with the *same* current
    ///    refresh token every such caller gets (several tabs, a retry after a
    ///    lost response), never theft.
    /// 5. The presented token is a child of the current one, handed out
    ///    under [`RefreshModel::ChildPromotion`](super::RefreshModel) and not
    ///    yet promoted (its generation is the current one plus one): it is
    ///    rotated as in step 3, with the compare-and-swap on the current hash.
    /// 6. The presented token is genuine (its MAC verified) but older than the
    ///    current one and not covered by step 4: theft. The session is
    ///    revoked and `TokenTheftDetected` returned.
    /// 7. Anything else: `Unauthorised`.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn refresh_session_with(
        &self,
        request: RefreshRequest<'_>,
    ) -> Result<CreatedSession> {
        let mac_key = self.refresh_mac_key().await?;
        let presented = self.presented_refresh_token(&request, &mac_key)?;
        let dynamic = request
            .use_dynamic_signing_key
            .unwrap_or(self.inner.config.use_dynamic_signing_key);
        let now = self.now_ms();
        let presented_hash = presented.stored_hash();

        let next = RefreshToken::mint(
            &mac_key,
            &presented.handle,
            presented.generation + 1,
            presented.anti_csrf,
        )?;
        let rotation = Rotation {
            refresh: RefreshState {
                current_hash: next.stored_hash(),
                previous_hash: Some(presented_hash),
                current_sealed: Some(crypto::seal(
                    presented.encoded.as_bytes(),
                    next.encoded.as_bytes(),
                )?),
                generation: presented.generation + 1,
                rotated_at_ms: now,
            },
            // The store caps this at the row's absolute end.
            expires_at_ms: now.saturating_add(ms(self.inner.config.refresh_token_validity)),
        };
        if let Some(record) = self
            .inner
            .store
            .rotate_refresh(&presented.handle, &presented_hash, &rotation, now)
            .await?
        {
            return self
                .refreshed_tokens(&record, &next, None, &mac_key, dynamic)
                .await;
        }

        let Some(record) = self.inner.store.get_session(&presented.handle, now).await? else {
            let reason = UnauthorisedReason::UnknownRefreshToken;
            self.inner
                .refresh_failures
                .session(&presented.handle, &reason, now);
            return Err(Error::unauthorised(reason));
        };
        let is_previous = record
            .refresh
            .previous_hash
            .is_some_and(|prev| ct_eq(&prev, &presented_hash));
        let within_grace = now.saturating_sub(record.refresh.rotated_at_ms)
            <= ms(self.inner.config.refresh_grace_period);
        if is_previous && within_grace {
            let Some(current) = self.unseal_current(&record, &presented, &mac_key) else {
                // Only a promotion under the child-token model leaves no
                // sealed token (it knows the child by its hash alone): a
                // client that switched models retries with the promoted
                // child's parent. Refuse rather than guess.
                tracing::warn!(target: "tessera::refresh", session_handle = ?record.handle, "grace-window refresh: no sealed current token (promoted child?)");
                return Err(Error::unauthorised(UnauthorisedReason::UnknownRefreshToken));
            };
            tracing::debug!(target: "tessera::refresh", session_handle = ?record.handle, "refresh with previous token inside grace window");
            return self
                .refreshed_tokens(&record, &current, None, &mac_key, dynamic)
                .await;
        }
        if presented.generation == record.refresh.generation + 1 {
            // A child token handed out under the child-token model and not
            // yet promoted (the client switched models): it is retired as
            // the presented token would have been, so the same rotation
            // applies against the current hash, still one compare-and-swap.
            if let Some(rotated) = self
                .inner
                .store
                .rotate_refresh(
                    &presented.handle,
                    &record.refresh.current_hash,
                    &rotation,
                    now,
                )
                .await?
            {
                return self
                    .refreshed_tokens(&rotated, &next, None, &mac_key, dynamic)
                    .await;
            }
        }
        if presented.generation < record.refresh.generation {
            return Err(self.revoke_for_theft(record).await);
        }
        let reason = UnauthorisedReason::UnknownRefreshToken;
        self.inner
            .refresh_failures
            .session(&presented.handle, &reason, now);
        Err(Error::unauthorised(reason))
    }

    /// Steps 1 and 2 of every refresh: the presented token, parsed and MAC
    /// checked, and its anti-CSRF token checked when the session uses one.
    pub(super) fn presented_refresh_token(
        &self,
        request: &RefreshRequest<'_>,
        mac_key: &[u8],
    ) -> Result<RefreshToken> {
        let Some(presented) = RefreshToken::parse(mac_key, request.refresh_token) else {
            tracing::debug!(target: "tessera::refresh", "malformed or forged refresh token");
            self.inner.refresh_failures.unattributed(self.now_ms());
            return Err(Error::unauthorised(UnauthorisedReason::InvalidRefreshToken));
        };
        if presented.anti_csrf && self.anti_csrf_enabled(request.enable_anti_csrf) {
            let expected = anti_csrf::derive(mac_key, &presented.handle);
            if !anti_csrf::matches(&expected, request.anti_csrf_token) {
                tracing::info!(target: "tessera::refresh", session_handle = ?presented.handle, "refresh refused: anti-csrf mismatch");
                let reason = UnauthorisedReason::AntiCsrfMismatch;
                self.inner
                    .refresh_failures
                    .session(&presented.handle, &reason, self.now_ms());
                return Err(Error::unauthorised(reason));
            }
        }
        Ok(presented)
    }

    /// Records a refresh refused for `reason` against `handle` and returns
    /// the error.
    pub(super) fn refresh_refused(&self, handle: &str, reason: UnauthorisedReason) -> Error {
        self.inner
            .refresh_failures
            .session(handle, &reason, self.now_ms());
        Error::unauthorised(reason)
    }

    /// The idle expiry from `now`, capped by the absolute end.
    fn idle_expiry(&self, now: i64, absolute: Option<i64>) -> i64 {
        let idle = now.saturating_add(ms(self.inner.config.refresh_token_validity));
        absolute.map_or(idle, |abs| idle.min(abs))
    }

    /// The current refresh token, recovered from its seal under the
    /// presented previous token.
    fn unseal_current(
        &self,
        record: &SessionRecord,
        previous: &RefreshToken,
        mac_key: &[u8],
    ) -> Option<RefreshToken> {
        let sealed = record.refresh.current_sealed.as_deref()?;
        let plain = crypto::open(previous.encoded.as_bytes(), sealed)?;
        let current = RefreshToken::parse(mac_key, std::str::from_utf8(&plain).ok()?)?;
        ct_eq(&current.stored_hash(), &record.refresh.current_hash).then_some(current)
    }

    pub(super) async fn revoke_for_theft(&self, record: SessionRecord) -> Error {
        let revoked = self
            .inner
            .store
            .delete_sessions(std::slice::from_ref(&record.handle), TenantFilter::All)
            .await;
        if let Err(e) = revoked {
            tracing::error!(target: "tessera::theft", session_handle = ?record.handle, error = ?e.to_string(), "could not revoke session after token theft");
        }
        tracing::warn!(
            target: "tessera::theft",
            session_handle = ?record.handle,
            user_id = ?record.user_id,
            "refresh token reused after rotation: token theft detected, session revoked"
        );
        Error::TokenTheftDetected {
            session_handle: record.handle,
            user_id: record.user_id,
            recipe_user_id: record.recipe_user_id,
            tenant_id: record.tenant_id,
        }
    }

    /// The tokens of a refresh (the row is already rotated): signed, cached.
    /// `parent` is the refresh token a child waits to replace (child-token
    /// model only).
    pub(super) async fn refreshed_tokens(
        &self,
        record: &SessionRecord,
        refresh: &RefreshToken,
        parent: Option<&RefreshToken>,
        mac_key: &[u8],
        dynamic: bool,
    ) -> Result<CreatedSession> {
        let created = self
            .session_tokens(
                record,
                refresh,
                parent,
                mac_key,
                dynamic,
                (SizeRule::Warn, TokenVersion::V5),
            )
            .await?;
        self.cache_issued(&created.access_token, &created.claims);
        Ok(created)
    }

    /// Signs the access token for `record` and packages every token (not
    /// cached: the caller caches once the row is in the store). `format`:
    /// how the size limit applies, and the token format to write.
    async fn session_tokens(
        &self,
        record: &SessionRecord,
        refresh: &RefreshToken,
        parent: Option<&RefreshToken>,
        mac_key: &[u8],
        dynamic: bool,
        format: (SizeRule, TokenVersion),
    ) -> Result<CreatedSession> {
        let (size_rule, version) = format;
        let anti_csrf = refresh
            .anti_csrf
            .then(|| anti_csrf::derive(mac_key, &record.handle));
        let subject = Subject {
            handle: &record.handle,
            user_id: &record.user_id,
            recipe_user_id: &record.recipe_user_id,
            tenant_id: &record.tenant_id,
            user_payload: &record.jwt_payload,
            absolute_expires_at_ms: record.absolute_expires_at_ms,
            version,
        };
        let (access_token, claims) = self
            .sign_access_token(
                &subject,
                Lineage {
                    hash1: refresh.hash1(),
                    parent_hash1: parent.map(RefreshToken::hash1),
                },
                anti_csrf.clone(),
                dynamic,
                None,
                size_rule,
            )
            .await?;
        Ok(CreatedSession {
            claims,
            access_token,
            refresh_token: IssuedRefreshToken {
                token: refresh.encoded.clone(),
                expiry_ms: u64::try_from(record.expires_at_ms).unwrap_or(0),
                created_ms: u64::try_from(record.refresh.rotated_at_ms).unwrap_or(0),
            },
            anti_csrf_token: anti_csrf,
        })
    }

    /// The refresh-token MAC secret, creating the key set if needed.
    pub(super) async fn refresh_mac_key(&self) -> Result<std::sync::Arc<[u8]>> {
        if let Some(k) = self.inner.keys.load().refresh_mac() {
            return Ok(k.clone());
        }
        self.maintain_keys().await?;
        self.inner
            .keys
            .load()
            .refresh_mac()
            .cloned()
            .ok_or(Error::Crypto("refresh MAC key unavailable"))
    }
}
