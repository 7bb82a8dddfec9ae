//! The server on tessera-actix: the FDI's refresh and signout routes, every
//! other route through [`answer`], the session middleware of the FDI in
//! force, and CORS. Only translation lives here.

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE, HeaderName,
    HeaderValue,
};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, FromRequest, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use tessera_actix::{Session, SessionMiddleware, Sessions};

use crate::cors;
use crate::port::{Port, REFRESH_PATH};
use crate::reply::Reply;
use crate::routes::{Exchange, answer};

/// The largest request body read.
const BODY_LIMIT: usize = 1 << 20;

/// How long an idle keep-alive connection stays open (see [`server`]).
const IDLE_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(75);

/// One port's app, for `HttpServer::new`.
pub fn configure(port: Arc<Port>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg| {
        cfg.app_data(web::Data::from(port.clone()))
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .configure(SessionMiddleware::from_fdi(port.fdi()).routes())
            .default_service(web::to(route));
    }
}

/// An actix-web server for these ports (one listener each), not yet
/// running: `.await` it inside an actix system.
pub fn server(
    ports: Vec<(std::net::TcpListener, Arc<Port>)>,
    workers: usize,
) -> std::io::Result<Vec<actix_web::dev::Server>> {
    ports
        .into_iter()
        .map(|(listener, port)| {
            let server = HttpServer::new(move || {
                App::new()
                    .configure(configure(port.clone()))
                    .wrap(from_fn(count_refresh))
                    .wrap(from_fn(sessions))
                    .wrap(from_fn(cors))
            })
            .workers(workers)
            // actix-web closes an idle keep-alive connection after 5 s and
            // says nothing of it; Node's HTTP agent (the suite's axios)
            // keeps idle sockets for 5 s too, so a request sent on a reused
            // socket just as the server closes it fails with "socket hang
            // up". Express avoids the race with a `Keep-Alive: timeout=5`
            // hint, hyper with no idle timeout; here the server outlasts
            // the client.
            .keep_alive(IDLE_KEEP_ALIVE)
            .disable_signals()
            .listen(listener)?
            .run();
            Ok(server)
        })
        .collect()
}

/// The request's port.
fn port_of(req: &HttpRequest) -> Option<Arc<Port>> {
    req.app_data::<web::Data<Port>>()
        .map(|d| d.clone().into_inner())
}

/// Counts the refresh route's calls and answers as upstream.
async fn count_refresh(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let port = port_of(req.request());
    let Some(port) = port.filter(|_| req.path() == REFRESH_PATH) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    port.refresh_attempted();
    let has_rid = req.headers().contains_key("rid");
    let res = next.call(req).await?;
    let Some(body) = port.refresh_answered(has_rid, res.status() == StatusCode::OK) else {
        return Ok(res.map_into_boxed_body());
    };
    let mut res = res.map_body(|_, _| BoxBody::new(body));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(res)
}

/// CORS as express `cors()` (see [`cors`](crate::cors)).
async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let preflight = req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if cors::is_preflight(req.method().as_str(), preflight) {
        return Ok(req.into_response(respond(cors::preflight())));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    if !res.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        for (name, value) in cors::RESPONSE_HEADERS {
            res.headers_mut().append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    }
    Ok(res)
}

/// Every other route.
async fn route(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some(port) = port_of(&req) else {
        return HttpResponse::InternalServerError().finish();
    };
    let mut x = ActixExchange { req, body };
    match answer(&port, &mut x)
        .await
        .map_err(crate::Error::into_reply)
    {
        Ok(reply) | Err(Ok(reply)) => respond(reply),
        Err(Err(session)) => tessera_actix::Error::from(session).error_response(),
    }
}

/// A [`Reply`] as an actix-web response.
fn respond(reply: Reply) -> HttpResponse {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    if let Some(ct) = reply.content_type {
        res.insert_header((CONTENT_TYPE, ct));
    }
    for (name, value) in reply.headers {
        res.append_header((name, value));
    }
    res.body(reply.body)
}

/// A request, for [`answer`].
struct ActixExchange {
    req: HttpRequest,
    body: web::Bytes,
}

impl Exchange for ActixExchange {
    type Error = tessera_actix::Error;
    type Session = Session;
    type Sessions = Sessions;

    fn method(&self) -> &str {
        self.req.method().as_str()
    }

    fn path(&self) -> &str {
        self.req.path()
    }

    fn query(&self) -> &str {
        self.req.query_string()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.req.headers().get(name)?.to_str().ok()
    }

    fn body(&self) -> &[u8] {
        &self.body
    }

    async fn session(&mut self) -> Result<Session, tessera_actix::Error> {
        Session::from_request(&self.req, &mut Payload::None).await
    }

    async fn sessions(&mut self) -> Result<Sessions, tessera_actix::Error> {
        Sessions::from_request(&self.req, &mut Payload::None).await
    }
}

/// tessera-actix's session middleware over the FDI in force at each
/// request (a setup call changes it while the server runs).
async fn sessions(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(port) = port_of(req.request()) else {
        return Err(actix_web::error::ErrorInternalServerError("no port"));
    };
    let service = SessionMiddleware::from_fdi(port.fdi())
        .new_transform(next)
        .into_inner()
        .map_err(|()| actix_web::error::ErrorInternalServerError("session middleware"))?;
    service.call(req).await
}
