//! [`Sessions`]: creating sessions on a request, and the operations by
//! session handle or by user.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde_json::Value;
use tessera::{NewSession, SessionInformation, SessionManager, SessionMetadata, TenantScope};

use crate::config::{TokenTransferMethod, TokenTransferPolicy};
use crate::context::RequestContext;
use crate::error::{Error, engine_error};
use crate::names::{ACCESS_TOKEN_COOKIE, USER_AGENT};
use crate::request::{RequestView, auth_mode, bearer_token, cookie_value, is_browser};
use crate::session::Session;
use crate::write::{Mutation, attach};

/// Session management on a request: create a session (its tokens go out
/// on this response), and list, read, update or revoke sessions by handle
/// or by user. `E` is the error type its methods return; adapters wrap it
/// in their extractor. Getting it reads no database.
pub struct Sessions<E = Error> {
    ctx: Arc<RequestContext>,
    create_method: TokenTransferMethod,
    access_token_in_cookie: bool,
    access_token_in_header: bool,
    metadata: SessionMetadata,
    error: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for Sessions<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("create_method", &self.create_method)
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    /// Session creation and management on this request. `client_ip` is the
    /// peer address as the adapter knows it (recorded only when passed on
    /// through [`Sessions::request_metadata`]).
    pub fn sessions<E>(
        self: &Arc<Self>,
        req: &impl RequestView,
        client_ip: Option<String>,
    ) -> Sessions<E> {
        // FDI §4: cookie iff `st-auth-mode: cookie`, header otherwise.
        let create_method = match self.config().transfer_policy {
            TokenTransferPolicy::Cookie => TokenTransferMethod::Cookie,
            TokenTransferPolicy::Header => TokenTransferMethod::Header,
            TokenTransferPolicy::Any => match auth_mode(req) {
                Some(TokenTransferMethod::Cookie) => TokenTransferMethod::Cookie,
                _ => TokenTransferMethod::Header,
            },
            TokenTransferPolicy::CookieForBrowsers => match auth_mode(req) {
                Some(method) => method,
                None if is_browser(req) => TokenTransferMethod::Cookie,
                None => TokenTransferMethod::Header,
            },
        };
        let metadata = SessionMetadata {
            ip: client_ip,
            user_agent: req.header(USER_AGENT).map(str::to_owned),
            device: None,
        };
        Sessions {
            access_token_in_cookie: cookie_value(req, ACCESS_TOKEN_COOKIE).is_some(),
            access_token_in_header: bearer_token(req).is_some(),
            ctx: self.clone(),
            create_method,
            metadata,
            error: PhantomData,
        }
    }
}

impl<E> Sessions<E> {
    /// Creates a session for `user_id` in the default tenant with this
    /// access-token payload and session data (JSON objects), and sends its
    /// tokens on this response. 1 database call.
    ///
    /// The tokens go out as cookies when the request says
    /// `st-auth-mode: cookie`, as headers otherwise (FDI §4); a session of
    /// the same client in the other method is cleared first.
    pub async fn create_new_session(
        &self,
        user_id: &str,
        jwt_payload: Value,
        session_data: Value,
    ) -> Result<Session<E>, E>
    where
        E: From<Error>,
    {
        self.create_session(
            NewSession::new(user_id)
                .jwt_payload(jwt_payload)
                .session_data(session_data),
        )
        .await
    }

    /// Creates a session with every option of [`NewSession`] (tenant,
    /// metadata, recipe user …) and sends its tokens on this response.
    ///
    /// ```
    /// # async fn demo(sessions: tessera_http::Sessions) -> Result<(), tessera_http::Error> {
    /// use tessera::NewSession;
    /// let session = sessions
    ///     .create_session(NewSession::new("user-1").tenant("acme").metadata(sessions.request_metadata()))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_session(&self, mut new: NewSession) -> Result<Session<E>, E>
    where
        E: From<Error>,
    {
        let method = self.create_method;
        // Header mode never uses anti-CSRF tokens (FDI §4).
        new.enable_anti_csrf = match method {
            TokenTransferMethod::Header => Some(false),
            TokenTransferMethod::Cookie => new
                .enable_anti_csrf
                .or(Some(self.ctx.fdi().anti_csrf_tokens(method))),
        };
        let created = self
            .ctx
            .manager()
            .create_session(new)
            .await
            .map_err(engine_error)?;
        let mut mutations = Vec::new();
        let other_had_token = match method.other() {
            TokenTransferMethod::Cookie => self.access_token_in_cookie,
            TokenTransferMethod::Header => self.access_token_in_header,
        };
        if other_had_token {
            mutations.push(Mutation::Clear(method.other()));
        }
        mutations.extend(attach(method, &created));
        self.ctx.queue(mutations);
        Ok(Session::new(
            self.ctx.clone(),
            method,
            created.claims,
            created.access_token.token,
        ))
    }

    /// What the request says about its client: the IP address (when the
    /// adapter knows the peer) and the `User-Agent`. Not recorded unless passed to
    /// [`create_session`](Self::create_session).
    pub fn request_metadata(&self) -> SessionMetadata {
        self.metadata.clone()
    }

    /// The transfer method a session created on this request will use.
    pub fn token_transfer_method(&self) -> TokenTransferMethod {
        self.create_method
    }

    /// Revokes one session; `true` if it existed. 1 database call. (The
    /// client of that session is told on its next request, at once with
    /// blacklisting on, else when its access token expires.)
    pub async fn revoke_session(&self, session_handle: &str) -> Result<bool, E>
    where
        E: From<Error>,
    {
        self.ctx
            .manager()
            .revoke_session(session_handle)
            .await
            .map_err(engine_error)
    }

    /// Revokes the given sessions; returns the handles that existed.
    pub async fn revoke_multiple_sessions(
        &self,
        session_handles: &[String],
    ) -> Result<Vec<String>, E>
    where
        E: From<Error>,
    {
        self.ctx
            .manager()
            .revoke_multiple_sessions(session_handles)
            .await
            .map_err(engine_error)
    }

    /// Revokes every session of a user, in every tenant; returns their
    /// handles. 1 database call.
    pub async fn revoke_all_sessions_for_user(&self, user_id: &str) -> Result<Vec<String>, E>
    where
        E: From<Error>,
    {
        self.ctx
            .manager()
            .revoke_all_sessions_for_user(user_id)
            .await
            .map_err(engine_error)
    }

    /// Handles of a user's live sessions in every tenant, oldest first.
    /// 1 database call.
    pub async fn get_all_session_handles_for_user(&self, user_id: &str) -> Result<Vec<String>, E>
    where
        E: From<Error>,
    {
        self.ctx
            .manager()
            .get_all_session_handles_for_user(user_id)
            .await
            .map_err(engine_error)
    }

    /// Everything the database knows of a live session; `None` if there is
    /// none. 1 database call.
    pub async fn get_session_information(
        &self,
        session_handle: &str,
    ) -> Result<Option<SessionInformation>, E>
    where
        E: From<Error>,
    {
        self.ctx
            .manager()
            .get_session_information(session_handle)
            .await
            .map_err(engine_error)
    }

    /// The session data of a live session; `None` if there is none.
    pub async fn get_session_data(&self, session_handle: &str) -> Result<Option<Value>, E>
    where
        E: From<Error>,
    {
        self.ctx
            .manager()
            .get_session_data(session_handle)
            .await
            .map_err(engine_error)
    }

    /// Overwrites a session's data; `false` if the session is gone.
    pub async fn update_session_data(&self, session_handle: &str, data: Value) -> Result<bool, E>
    where
        E: From<Error>,
    {
        self.ctx
            .manager()
            .update_session_data(session_handle, data)
            .await
            .map_err(engine_error)
    }

    /// Replaces a session's stored access-token payload; its client gets
    /// it with the next refresh. `false` if the session is gone.
    pub async fn update_jwt_payload(&self, session_handle: &str, payload: Value) -> Result<bool, E>
    where
        E: From<Error>,
    {
        self.ctx
            .manager()
            .update_jwt_payload(session_handle, payload)
            .await
            .map_err(engine_error)
    }

    /// Handle and user operations limited to one tenant. (To create a
    /// session in a tenant on this request, use
    /// [`create_session`](Self::create_session) with
    /// [`NewSession::tenant`].)
    pub fn for_tenant(&self, tenant_id: impl Into<String>) -> TenantScope {
        self.ctx.manager().for_tenant(tenant_id)
    }

    /// The engine, for anything else.
    pub fn manager(&self) -> &SessionManager {
        self.ctx.manager()
    }
}
