//! Operations by session handle or by user: data, payload, information,
//! listing and revocation. Each is one database call, except storing an
//! access-token payload, which reads the session first to measure the token
//! it will make.
//!
//! Every id passed in is checked against the engine's id rule (see `ids`)
//! before it reaches the store; an empty user, tenant or handle is a valid
//! lookup key.

use std::sync::Arc;

use serde_json::Value;

use super::ids::check_key;
use super::issue::{Lineage, SizeRule, Subject};
use super::{NewSession, RegeneratedSession, SessionManager, invalid};
use crate::error::Result;
use crate::store::{SessionMetadata, SessionRecord, TenantFilter};
use crate::token::AccessTokenClaims;
use crate::token::TokenVersion;
use crate::token::access::{validate_user_payload_for, validate_user_payload_with};

/// What the database knows of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInformation {
    /// The session handle.
    pub session_handle: String,
    /// The (primary) user.
    pub user_id: String,
    /// The recipe user.
    pub recipe_user_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Session data.
    pub session_data: Value,
    /// The user's access-token payload (no protected claims).
    pub jwt_payload: Value,
    /// Creation time, milliseconds since the epoch.
    pub time_created_ms: i64,
    /// When the session expires unless refreshed, milliseconds since the epoch.
    pub expiry_ms: i64,
    /// Absolute end of the session, if any.
    pub absolute_expiry_ms: Option<i64>,
    /// When the refresh token last rotated (the last refresh).
    pub last_refreshed_ms: i64,
    /// Client metadata given at creation.
    pub metadata: SessionMetadata,
}

impl From<SessionRecord> for SessionInformation {
    fn from(r: SessionRecord) -> Self {
        Self {
            session_handle: r.handle,
            user_id: r.user_id,
            recipe_user_id: r.recipe_user_id,
            tenant_id: r.tenant_id,
            session_data: r.session_data,
            jwt_payload: r.jwt_payload,
            time_created_ms: r.created_at_ms,
            expiry_ms: r.expires_at_ms,
            absolute_expiry_ms: r.absolute_expires_at_ms,
            last_refreshed_ms: r.refresh.rotated_at_ms,
            metadata: r.metadata,
        }
    }
}

/// The manager's handle and user operations limited to one tenant; from
/// [`SessionManager::for_tenant`].
///
/// ```
/// # async fn demo(manager: tessera::SessionManager) -> tessera::Result<()> {
/// let revoked = manager.for_tenant("acme").revoke_all_sessions_for_user("user-1").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TenantScope {
    manager: SessionManager,
    tenant_id: String,
}

impl SessionManager {
    /// Operations limited to sessions of `tenant_id`.
    pub fn for_tenant(&self, tenant_id: impl Into<String>) -> TenantScope {
        TenantScope {
            manager: self.clone(),
            tenant_id: tenant_id.into(),
        }
    }

    /// Revokes one session; `true` if it existed.
    pub async fn revoke_session(&self, session_handle: &str) -> Result<bool> {
        check_key("session handle", session_handle)?;
        self.revoke_in(&[session_handle.to_owned()], TenantFilter::All)
            .await
            .map(|v| !v.is_empty())
    }

    /// Revokes the given sessions; returns the handles that existed.
    pub async fn revoke_multiple_sessions(
        &self,
        session_handles: &[String],
    ) -> Result<Vec<String>> {
        for h in session_handles {
            check_key("session handle", h)?;
        }
        self.revoke_in(session_handles, TenantFilter::All).await
    }

    /// Revokes every session of a user, in every tenant; returns their handles.
    pub async fn revoke_all_sessions_for_user(&self, user_id: &str) -> Result<Vec<String>> {
        self.revoke_user_in(user_id, TenantFilter::All).await
    }

    /// Handles of a user's live sessions in every tenant, oldest first.
    pub async fn get_all_session_handles_for_user(&self, user_id: &str) -> Result<Vec<String>> {
        check_key("user id", user_id)?;
        self.inner
            .store
            .list_handles_for_user(user_id, TenantFilter::All, self.now_ms())
            .await
    }

    /// The session data of a live session; `None` if there is none.
    pub async fn get_session_data(&self, session_handle: &str) -> Result<Option<Value>> {
        check_key("session handle", session_handle)?;
        self.inner
            .store
            .get_session_data(session_handle, self.now_ms())
            .await
    }

    /// Overwrites the session data (a JSON object); `false` if the session is gone.
    pub async fn update_session_data(&self, session_handle: &str, data: Value) -> Result<bool> {
        check_key("session handle", session_handle)?;
        if !data.is_object() {
            return Err(invalid("the session data must be a JSON object"));
        }
        self.inner
            .store
            .update_session_data(session_handle, &data, self.now_ms())
            .await
    }

    /// Replaces the stored access-token payload; it goes out with the
    /// session's next access token (next refresh). `false` if the session is
    /// gone. To change the payload of the token a client holds right now,
    /// use [`SessionManager::regenerate_access_token`].
    ///
    /// A payload whose access token would exceed `max_access_token_bytes`
    /// is refused with [`Error::InvalidInput`](crate::Error::InvalidInput)
    /// and not stored (the session is read first to measure that token).
    pub async fn update_jwt_payload(&self, session_handle: &str, payload: Value) -> Result<bool> {
        check_key("session handle", session_handle)?;
        validate_user_payload_with(
            &payload,
            self.inner.config.issuer.is_some(),
            self.inner.config.session_token_type_claim,
        )?;
        let Some(record) = self
            .inner
            .store
            .get_session(session_handle, self.now_ms())
            .await?
        else {
            return Ok(false);
        };
        let subject = Subject {
            handle: &record.handle,
            user_id: &record.user_id,
            recipe_user_id: &record.recipe_user_id,
            tenant_id: &record.tenant_id,
            user_payload: &payload,
            absolute_expires_at_ms: record.absolute_expires_at_ms,
            version: TokenVersion::V5,
        };
        // A measuring signature with the longest claims the session can get
        // (an anti-CSRF token, the full validity): a refresh will fit.
        self.sign_access_token(
            &subject,
            Lineage::current("0".repeat(64)),
            Some("0".repeat(43)),
            self.inner.config.use_dynamic_signing_key,
            None,
            SizeRule::Refuse,
        )
        .await?;
        Ok(self
            .inner
            .store
            .update_jwt_payload(session_handle, &payload, self.now_ms())
            .await?
            .is_some())
    }

    /// Stores a new access-token payload and issues an access token that
    /// carries it, with the same expiry as `access_token` (never longer).
    ///
    /// `access_token` must have a valid signature; it may have expired, in
    /// which case the payload is stored and no new token is issued. `None`
    /// when the session no longer exists. One database call. The new token
    /// is signed before the payload is stored, so a payload too large for
    /// `max_access_token_bytes` is refused with nothing written.
    pub async fn regenerate_access_token(
        &self,
        access_token: &str,
        new_payload: Value,
    ) -> Result<Option<RegeneratedSession>> {
        let old = self.decode_ignoring_expiry(access_token).await?;
        // The new token keeps the old one's format (the core's
        // `Session.regenerateToken`), and its payload rule.
        validate_user_payload_for(
            &new_payload,
            self.inner.config.issuer.is_some(),
            self.inner.config.session_token_type_claim,
            old.version,
        )?;
        let dynamic = old.kid.starts_with("d-");
        let subject = Subject {
            handle: &old.session_handle,
            user_id: &old.user_id,
            recipe_user_id: &old.recipe_user_id,
            tenant_id: &old.tenant_id,
            user_payload: &new_payload,
            absolute_expires_at_ms: None,
            version: old.version,
        };
        let (signed, signed_claims) = self
            .sign_access_token(
                &subject,
                Lineage {
                    hash1: old.refresh_token_hash1.clone(),
                    parent_hash1: old.parent_refresh_token_hash1.clone(),
                },
                old.anti_csrf_token.clone(),
                dynamic,
                Some(old.expires_at),
                SizeRule::Refuse,
            )
            .await?;
        let now = self.now_ms();
        let Some(record) = self
            .inner
            .store
            .update_jwt_payload(&old.session_handle, &new_payload, now)
            .await?
        else {
            return Ok(None);
        };
        if u64::try_from(now).unwrap_or(0) >= old.expiry_ms() {
            let claims = AccessTokenClaims {
                user_payload: new_payload,
                ..old
            };
            return Ok(Some(RegeneratedSession {
                claims: Arc::new(claims),
                access_token: None,
            }));
        }
        let within_absolute_end = record
            .absolute_expires_at_ms
            .is_none_or(|abs| signed_claims.expiry_ms() <= u64::try_from(abs).unwrap_or(0));
        let (token, claims) = if within_absolute_end {
            self.cache_issued(&signed, &signed_claims);
            (signed, signed_claims)
        } else {
            // A token issued before expiries were capped: cap this one.
            let subject = Subject {
                absolute_expires_at_ms: record.absolute_expires_at_ms,
                ..subject
            };
            self.issue_access_token(
                &subject,
                Lineage {
                    hash1: old.refresh_token_hash1.clone(),
                    parent_hash1: old.parent_refresh_token_hash1.clone(),
                },
                old.anti_csrf_token.clone(),
                dynamic,
                Some(old.expires_at),
                SizeRule::Refuse,
            )
            .await?
        };
        Ok(Some(RegeneratedSession {
            claims,
            access_token: Some(token),
        }))
    }

    /// Everything the database knows of a live session; `None` if there is none.
    pub async fn get_session_information(
        &self,
        session_handle: &str,
    ) -> Result<Option<SessionInformation>> {
        check_key("session handle", session_handle)?;
        Ok(self
            .inner
            .store
            .get_session(session_handle, self.now_ms())
            .await?
            .map(SessionInformation::from))
    }

    async fn revoke_in(&self, handles: &[String], tenant: TenantFilter<'_>) -> Result<Vec<String>> {
        let revoked = self.inner.store.delete_sessions(handles, tenant).await?;
        for h in &revoked {
            tracing::debug!(target: "tessera::revoke", session_handle = ?h, "session revoked");
        }
        Ok(revoked)
    }

    async fn revoke_user_in(&self, user_id: &str, tenant: TenantFilter<'_>) -> Result<Vec<String>> {
        check_key("user id", user_id)?;
        let revoked = self
            .inner
            .store
            .delete_sessions_for_user(user_id, tenant)
            .await?;
        tracing::debug!(target: "tessera::revoke", user_id = ?user_id, count = revoked.len(), "user's sessions revoked");
        Ok(revoked)
    }
}

impl TenantScope {
    /// The tenant.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The tenant as a store filter, after checking the tenant id.
    fn filter(&self) -> Result<TenantFilter<'_>> {
        check_key("tenant id", &self.tenant_id)?;
        Ok(TenantFilter::Only(&self.tenant_id))
    }

    /// Creates a session in this tenant.
    pub async fn create_new_session(
        &self,
        user_id: &str,
        jwt_payload: Value,
        session_data: Value,
    ) -> Result<super::CreatedSession> {
        self.manager
            .create_session(
                NewSession::new(user_id)
                    .tenant(self.tenant_id.clone())
                    .jwt_payload(jwt_payload)
                    .session_data(session_data),
            )
            .await
    }

    /// Revokes one session if it is in this tenant; `true` if it was.
    pub async fn revoke_session(&self, session_handle: &str) -> Result<bool> {
        check_key("session handle", session_handle)?;
        self.manager
            .revoke_in(&[session_handle.to_owned()], self.filter()?)
            .await
            .map(|v| !v.is_empty())
    }

    /// Revokes a user's sessions in this tenant; returns their handles.
    pub async fn revoke_all_sessions_for_user(&self, user_id: &str) -> Result<Vec<String>> {
        self.manager.revoke_user_in(user_id, self.filter()?).await
    }

    /// Handles of a user's live sessions in this tenant, oldest first.
    pub async fn get_all_session_handles_for_user(&self, user_id: &str) -> Result<Vec<String>> {
        check_key("user id", user_id)?;
        self.manager
            .inner
            .store
            .list_handles_for_user(user_id, self.filter()?, self.manager.now_ms())
            .await
    }

    /// Information on a live session of this tenant; `None` otherwise.
    pub async fn get_session_information(
        &self,
        session_handle: &str,
    ) -> Result<Option<SessionInformation>> {
        Ok(self
            .manager
            .get_session_information(session_handle)
            .await?
            .filter(|i| i.tenant_id == self.tenant_id))
    }
}
