//! The server on tessera-axum: the FDI's refresh and signout routes, every
//! other route through [`answer`], the session layer of the FDI in force,
//! and CORS. Only translation lives here.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_LENGTH};
use http::request::Parts;
use http::{HeaderName, HeaderValue, StatusCode};
use tessera_axum::{Session, SessionLayer, Sessions};
use tower::{Layer, ServiceExt};

use crate::cors;
use crate::port::{Port, REFRESH_PATH};
use crate::reply::Reply;
use crate::routes::{Exchange, answer};

/// The largest request body read (express' JSON parser's limit is 100 kB).
const BODY_LIMIT: usize = 1 << 20;

/// The app of one port.
pub fn app(port: Arc<Port>) -> Router {
    let auth = tessera_axum::routes().route_layer(from_fn_with_state(port.clone(), count_refresh));
    Router::new()
        .merge(auth)
        .fallback(route)
        .layer(from_fn_with_state(port.clone(), sessions))
        .layer(from_fn(cors))
        .with_state(port)
}

/// Serves one port's app on a listener until it fails.
pub async fn serve(listener: tokio::net::TcpListener, port: Arc<Port>) -> std::io::Result<()> {
    axum::serve(listener, app(port)).await
}

/// tessera-axum's session layer over the FDI in force.
async fn sessions(State(port): State<Arc<Port>>, req: Request, next: Next) -> Response {
    match SessionLayer::from_fdi(port.fdi())
        .layer(next)
        .oneshot(req)
        .await
    {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

/// Counts the refresh route's calls and answers as upstream.
async fn count_refresh(State(port): State<Arc<Port>>, req: Request, next: Next) -> Response {
    if req.uri().path() != REFRESH_PATH {
        return next.run(req).await;
    }
    port.refresh_attempted();
    let has_rid = req.headers().contains_key("rid");
    let resp = next.run(req).await;
    let Some(body) = port.refresh_answered(has_rid, resp.status() == StatusCode::OK) else {
        return resp;
    };
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    let mut resp = Response::from_parts(parts, Body::from(body));
    set(&mut resp, &Reply::text(""));
    resp
}

/// Every other route.
async fn route(State(port): State<Arc<Port>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let mut x = AxumExchange { parts, body };
    match answer(&port, &mut x)
        .await
        .map_err(crate::Error::into_reply)
    {
        Ok(reply) | Err(Ok(reply)) => respond(reply),
        Err(Err(session)) => tessera_axum::Error::from(session).into_response(),
    }
}

/// CORS as express `cors()` (see [`cors`](crate::cors)).
async fn cors(req: Request, next: Next) -> Response {
    let preflight = req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if cors::is_preflight(req.method().as_str(), preflight) {
        return respond(cors::preflight());
    }
    let mut resp = next.run(req).await;
    if !resp.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        for (name, value) in cors::RESPONSE_HEADERS {
            resp.headers_mut()
                .append(name, HeaderValue::from_static(value));
        }
    }
    resp
}

/// A [`Reply`] as an axum response.
fn respond(mut reply: Reply) -> Response {
    let mut resp = Response::new(Body::from(std::mem::take(&mut reply.body)));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    set(&mut resp, &reply);
    resp
}

/// Puts a reply's content type and headers on a response.
fn set(resp: &mut Response, reply: &Reply) {
    let h = resp.headers_mut();
    if let Some(ct) = reply.content_type {
        h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    for (name, value) in &reply.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            h.append(HeaderName::from_static(name), value);
        }
    }
}

/// A request, for [`answer`].
struct AxumExchange {
    parts: Parts,
    body: Bytes,
}

impl Exchange for AxumExchange {
    type Error = tessera_axum::Error;
    type Session = Session;
    type Sessions = Sessions;

    fn method(&self) -> &str {
        self.parts.method.as_str()
    }

    fn path(&self) -> &str {
        self.parts.uri.path()
    }

    fn query(&self) -> &str {
        self.parts.uri.query().unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name)?.to_str().ok()
    }

    fn body(&self) -> &[u8] {
        &self.body
    }

    async fn session(&mut self) -> Result<Session, tessera_axum::Error> {
        Session::from_request_parts(&mut self.parts, &()).await
    }

    async fn sessions(&mut self) -> Result<Sessions, tessera_axum::Error> {
        Sessions::from_request_parts(&mut self.parts, &()).await
    }
}
