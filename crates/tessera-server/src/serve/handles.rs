//! Handlers that work by session handle or by user: information, session
//! data, access-token payload, revocation, listing.
//!
//! tessera has no account linking: a session's user id is its recipe user
//! id, so the `...ForLinkedAccounts` flags the SDKs send are accepted and
//! change nothing.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::json;
use tessera::DEFAULT_TENANT;

use super::AppState;
use super::claims::{type_claim, user_payload_from_sdk};
use super::error::ApiError;
use super::input::{JsonInput, QueryInput};
use super::reply;
use super::session::tenant_id;

/// `GET /recipe/session?sessionHandle=`: what the database knows of a
/// session. Answer: `OK` with `sessionHandle`, `userId`, `recipeUserId`,
/// `userDataInDatabase`, `userDataInJWT`, `expiry`, `timeCreated`,
/// `tenantId`; `UNAUTHORISED` when there is no such live session.
pub(crate) async fn information(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let handle = QueryInput::new(params).string("sessionHandle")?;
    let Some(info) = state.manager().get_session_information(&handle).await? else {
        return Ok(reply::unauthorised(reply::SESSION_DOES_NOT_EXIST));
    };
    Ok(reply::ok(json!({
        "status": "OK",
        "sessionHandle": info.session_handle,
        "userId": info.user_id,
        "recipeUserId": info.recipe_user_id,
        "userDataInDatabase": info.session_data,
        "userDataInJWT": info.jwt_payload,
        "expiry": info.expiry_ms,
        "timeCreated": info.time_created_ms,
        "tenantId": info.tenant_id,
    })))
}

/// `PUT /recipe/session/data`: overwrites a session's data.
/// Body: `sessionHandle`, `userDataInDatabase`. Answer: `OK`, or
/// `UNAUTHORISED` when the session is gone.
pub(crate) async fn update_data(
    State(state): State<AppState>,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    let handle = input.string("sessionHandle")?;
    let data = input.object("userDataInDatabase")?;
    if state.manager().update_session_data(&handle, data).await? {
        Ok(reply::status_ok())
    } else {
        Ok(reply::unauthorised(reply::SESSION_DOES_NOT_EXIST))
    }
}

/// `PUT /recipe/jwt/data`: replaces the stored access-token payload of a
/// session; it goes out with the session's next access token.
/// Body: `sessionHandle`, `userDataInJWT`. Answer: `OK`, or `UNAUTHORISED`
/// when the session is gone.
pub(crate) async fn update_jwt_data(
    State(state): State<AppState>,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    let handle = input.string("sessionHandle")?;
    let payload = user_payload_from_sdk(input.object("userDataInJWT")?, type_claim(&state))?;
    if state.manager().update_jwt_payload(&handle, payload).await? {
        Ok(reply::status_ok())
    } else {
        Ok(reply::unauthorised(reply::SESSION_DOES_NOT_EXIST))
    }
}

/// `POST /recipe/session/remove`: revokes sessions (tenant `public` for a
/// by-user revocation with `revokeAcrossAllTenants: false`).
pub(crate) async fn remove(
    State(state): State<AppState>,
    input: JsonInput,
) -> Result<Response, ApiError> {
    remove_for(&state, DEFAULT_TENANT.to_owned(), input).await
}

/// `POST /{tenant}/recipe/session/remove`: revokes sessions.
///
/// Body, one of: `{"sessionHandles": [...]}` (those sessions, whatever
/// their tenant), or `{"userId", "revokeAcrossAllTenants"?,
/// "revokeSessionsForLinkedAccounts"?}` (the user's sessions in every
/// tenant, or only in this one with `revokeAcrossAllTenants: false`; both
/// flags default to true, as in the core). Answer: `OK` with
/// `sessionHandlesRevoked`.
pub(crate) async fn remove_in_tenant(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    input: JsonInput,
) -> Result<Response, ApiError> {
    remove_for(&state, tenant_id(&tenant), input).await
}

async fn remove_for(
    state: &AppState,
    tenant: String,
    mut input: JsonInput,
) -> Result<Response, ApiError> {
    // The core's checks, in the core's order and with its messages.
    let user_id = input.opt_string("userId")?;
    let handles = input.opt_string_array("sessionHandles")?;
    if user_id.is_some() == handles.is_some() {
        return Err(ApiError::BadRequest(
            "Invalid JSON input - use one of userId or sessionHandles array".to_owned(),
        ));
    }
    let across_all_tenants = input.opt_bool("revokeAcrossAllTenants")?;
    if user_id.is_none() && across_all_tenants.is_some() {
        return Err(ApiError::BadRequest(
            "Invalid JSON input - revokeAcrossAllTenants can only be set if userId is set"
                .to_owned(),
        ));
    }
    let linked = input.opt_bool("revokeSessionsForLinkedAccounts")?;
    if user_id.is_none() && linked.is_some() {
        return Err(ApiError::BadRequest(
            "Invalid JSON input - revokeSessionsForLinkedAccounts can only be set if userId is set"
                .to_owned(),
        ));
    }
    let manager = state.manager();
    let revoked = match (user_id, handles) {
        (Some(user_id), _) if across_all_tenants.unwrap_or(true) => {
            manager.revoke_all_sessions_for_user(&user_id).await?
        }
        (Some(user_id), _) => {
            manager
                .for_tenant(tenant)
                .revoke_all_sessions_for_user(&user_id)
                .await?
        }
        (None, handles) => {
            manager
                .revoke_multiple_sessions(&handles.unwrap_or_default())
                .await?
        }
    };
    state.metrics().sessions_revoked(revoked.len());
    Ok(reply::ok(json!({
        "status": "OK",
        "sessionHandlesRevoked": revoked,
    })))
}

/// `GET /recipe/session/user?userId=`: handles of a user's live sessions
/// (in every tenant unless `fetchAcrossAllTenants=false`, then `public`).
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    list_for(&state, DEFAULT_TENANT.to_owned(), params).await
}

/// `GET /{tenant}/recipe/session/user?userId=&fetchAcrossAllTenants=&fetchSessionsForAllLinkedAccounts=`:
/// handles of a user's live sessions in every tenant, or only in this one
/// with `fetchAcrossAllTenants=false`. As in the core, a flag is true when
/// absent or equal to `true` in any case, false otherwise. Answer: `OK`
/// with `sessionHandles`.
pub(crate) async fn list_in_tenant(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    list_for(&state, tenant_id(&tenant), params).await
}

async fn list_for(
    state: &AppState,
    tenant: String,
    params: HashMap<String, String>,
) -> Result<Response, ApiError> {
    let mut query = QueryInput::new(params);
    let user_id = query.string("userId")?;
    let across_all_tenants = query.flag("fetchAcrossAllTenants");
    let handles = if across_all_tenants {
        state
            .manager()
            .get_all_session_handles_for_user(&user_id)
            .await?
    } else {
        state
            .manager()
            .for_tenant(tenant)
            .get_all_session_handles_for_user(&user_id)
            .await?
    };
    Ok(reply::ok(json!({
        "status": "OK",
        "sessionHandles": handles,
    })))
}
