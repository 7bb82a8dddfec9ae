//! The test app on tessera-axum.
#![allow(clippy::unwrap_used)]

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_axum::{Session, SessionLayer, SessionOptions, Sessions};

// ---------------------------------------------------------------- the seed

/// The seed handler of the README, exactly as written there.
pub async fn test_info(session: Session) -> Result<Json<Value>, tessera_axum::Error> {
    let user_id = session.get_user_id();

    let mut data = session.get_session_data().await?;
    data["newKey"] = json!("newVal");
    session.update_session_data(data).await?;

    let mut payload = session.get_jwt_payload().clone();
    payload["newKey"] = json!("newVal");
    session.update_jwt_payload(payload).await?;

    session.revoke_session().await?;
    Ok(Json(json!({ "status": "ok", "user": user_id })))
}

/// The seed login handler of the README.
pub async fn login(
    sessions: Sessions,
    Path(user): Path<String>,
) -> Result<Json<Value>, tessera_axum::Error> {
    let session = sessions
        .create_new_session(
            &user,
            json!({ "role": "reader" }),
            json!({ "cart": [1, 2] }),
        )
        .await?;
    Ok(Json(json!({ "handle": session.get_handle() })))
}

// ---------------------------------------------------------------- probes

fn describe(session: &Session) -> Value {
    json!({
        "userId": session.get_user_id(),
        "handle": session.get_handle(),
        "tenantId": session.get_tenant_id(),
        "payload": session.get_jwt_payload(),
        "method": session.token_transfer_method().as_str(),
    })
}

async fn me(session: Session) -> Json<Value> {
    Json(describe(&session))
}

async fn maybe(session: Option<Session>) -> Json<Value> {
    Json(json!({ "userId": session.as_ref().map(|s| s.get_user_id().to_owned()) }))
}

async fn set_data(
    session: Session,
    Json(data): Json<Value>,
) -> Result<Json<Value>, tessera_axum::Error> {
    session.update_session_data(data).await?;
    Ok(Json(json!({ "data": session.get_session_data().await? })))
}

async fn set_payload(
    session: Session,
    Json(payload): Json<Value>,
) -> Result<Json<Value>, tessera_axum::Error> {
    session.update_jwt_payload(payload).await?;
    Ok(Json(json!({
        "payload": session.get_jwt_payload(),
        "accessToken": session.get_access_token(),
    })))
}

async fn revoke_own(session: Session) -> Result<Json<Value>, tessera_axum::Error> {
    session.revoke_session().await?;
    Ok(Json(json!({ "revoked": session.get_handle() })))
}

async fn admin_revoke(
    sessions: Sessions,
    Path(handle): Path<String>,
) -> Result<Json<Value>, tessera_axum::Error> {
    Ok(Json(
        json!({ "revoked": sessions.revoke_session(&handle).await? }),
    ))
}

/// Calls exactly one `Session` method, for the database-call counts.
async fn one_method(
    Path(op): Path<String>,
    session: Session,
) -> Result<Json<Value>, tessera_axum::Error> {
    match op.as_str() {
        "get_user_id" => {
            let _ = session.get_user_id();
        }
        "get_jwt_payload" => {
            let _ = session.get_jwt_payload();
        }
        "update_jwt_payload" => session.update_jwt_payload(json!({ "k": 1 })).await?,
        "get_session_data" => {
            session.get_session_data().await?;
        }
        "update_session_data" => session.update_session_data(json!({ "k": 2 })).await?,
        "revoke_session" => session.revoke_session().await?,
        _ => return Err(tessera_axum::Error::InvalidInput("unknown op".into())),
    }
    Ok(Json(json!({ "op": op })))
}

/// The app every test drives.
pub fn app(layer: SessionLayer) -> Router {
    let checked = Router::new()
        .route("/checked", post(me))
        .route_layer(SessionOptions::new().check_database(true));
    Router::new()
        .route("/login/{user}", post(login))
        .route("/test", post(test_info))
        .route("/me", get(me).post(me).head(me))
        .route("/maybe", get(maybe))
        .route("/data", post(set_data))
        .route("/payload", post(set_payload))
        .route("/revoke", post(revoke_own))
        .route("/admin/revoke/{handle}", post(admin_revoke))
        .route("/one/{op}", post(one_method))
        .merge(checked)
        .merge(layer.routes())
        .layer(layer)
}
