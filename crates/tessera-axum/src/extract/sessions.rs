//! [`Sessions`]: creating sessions on a request, and the operations by
//! session handle or by user, as an axum extractor.

use std::net::SocketAddr;
use std::ops::Deref;

use axum::extract::{ConnectInfo, FromRequestParts};
use http::request::Parts;

use crate::error::Error;
use crate::headers::PartsView;
use crate::layer::context;

/// Session management on a request, as an axum extractor: create a session
/// (its tokens go out on this response), and list, read, update or revoke
/// sessions by handle or by user.
///
/// Extraction never fails while [`SessionLayer`](crate::SessionLayer) is
/// installed, and reads no database. The methods are the FDI core's
/// [`tessera_http::Sessions`] (through `Deref`), returning this crate's
/// [`Error`]; [`request_metadata`](tessera_http::Sessions::request_metadata)
/// has the peer address when the app is served with
/// `into_make_service_with_connect_info::<SocketAddr>()` (as
/// [`serve`](crate::serve) does).
///
/// ```
/// use axum::{Json, extract::Path};
/// use serde_json::{Value, json};
/// use tessera_axum::Sessions;
///
/// async fn login(sessions: Sessions, Path(user): Path<String>) -> Result<Json<Value>, tessera_axum::Error> {
///     let session = sessions
///         .create_new_session(&user, json!({ "role": "reader" }), json!({ "cart": [1, 2] }))
///         .await?;
///     Ok(Json(json!({ "handle": session.get_handle() })))
/// }
/// ```
#[derive(Debug)]
pub struct Sessions(tessera_http::Sessions<Error>);

impl Deref for Sessions {
    type Target = tessera_http::Sessions<Error>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Sessions {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ctx = context(&parts.extensions)?;
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(Self(ctx.sessions(&PartsView(parts), ip)))
    }
}
