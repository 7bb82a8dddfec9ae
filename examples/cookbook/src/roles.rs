//! Role checks on claims in the access-token payload, with tessera-axum's
//! [`ClaimValidator`]: no database call, and a failure answers SuperTokens'
//! `403 {"message":"invalid claim","claimValidationErrors":[…]}`, which the
//! SuperTokens frontend SDKs understand.
//!
//! The login handler ([`crate::login`]) puts `{"roles": [...]}` into the
//! payload. A route group requires a role with
//! `route_layer(middleware::from_fn(require_admin))`; a single handler can
//! call `session.assert_claims(&[&HasRole("…")])` itself. To apply a
//! validator to *every* session route, give it to
//! [`SessionLayer::claim_validator`](tessera_axum::SessionLayer::claim_validator).
//!
//! Roles in the payload are as fresh as the access token: after changing a
//! user's roles, call `update_jwt_payload` on [`Sessions`](tessera_axum::Sessions)
//! for each of the user's sessions (or revoke them) so that the next
//! refresh carries the new roles.

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_axum::{ClaimValidator, Session};

use crate::Error;

/// Passes when the payload's `roles` array holds the role.
#[derive(Debug, Clone, Copy)]
pub struct HasRole(pub &'static str);

impl ClaimValidator for HasRole {
    fn id(&self) -> &str {
        "roles"
    }

    fn validate(&self, payload: &Value) -> Result<(), Option<Value>> {
        let has = payload["roles"]
            .as_array()
            .is_some_and(|roles| roles.iter().any(|r| r == self.0));
        if has {
            Ok(())
        } else {
            Err(Some(
                json!({ "message": "wrong value", "expectedToInclude": self.0 }),
            ))
        }
    }
}

/// Middleware: the request's session must have role `admin`.
pub async fn require_admin(session: Session, req: Request, next: Next) -> Result<Response, Error> {
    session.assert_claims(&[&HasRole("admin")])?;
    Ok(next.run(req).await)
}

/// `GET /api/admin/stats`, admins only (put it inside a group that
/// already requires a session: see [`crate::protected`]).
pub fn admin_router() -> Router {
    Router::new()
        .route("/api/admin/stats", get(stats))
        .route_layer(middleware::from_fn(require_admin))
}

async fn stats(session: Session) -> Json<Value> {
    Json(json!({ "admin": session.get_user_id(), "stats": { "users": "many" } }))
}
