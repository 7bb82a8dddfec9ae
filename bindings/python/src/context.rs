//! [`Context`]: one request seen by the FDI core, from the ASGI middleware
//! to the response's headers.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll, Waker};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping};
use pyo3_async_runtimes::tokio::{future_into_py, get_runtime};
use tessera::NewSession;
use tessera_http::{RequestContext, SessionOptions};

use crate::errors::{self, Rejection};
use crate::request::{AsgiHeaders, Headers, Req};
use crate::session::Session;

/// One request: its method, path and headers, and the queue of token
/// changes for its response. Made by `Engine.context` in the middleware;
/// every session method of the request goes through it.
#[pyclass(frozen, module = "tessera._tessera")]
#[derive(Debug)]
pub struct Context {
    ctx: Arc<RequestContext>,
    req: Arc<Req>,
    client_ip: Option<String>,
    /// Whether a call that can queue token changes was made (creation,
    /// refresh, sign-out, a session's changes): without one and without a
    /// rejection, `finish` leaves the response alone without reading it.
    touched: Arc<AtomicBool>,
    /// The rejection of a tessera error that answers this request (set by
    /// the error handler with `reject`, taken by the [`Sender`]).
    rejection: Mutex<Option<tessera_http::Rejection>>,
}

impl Context {
    pub(crate) fn new(ctx: Arc<RequestContext>, req: Req, client_ip: Option<String>) -> Self {
        Self {
            ctx,
            req: Arc::new(req),
            client_ip,
            touched: Arc::new(AtomicBool::new(false)),
            rejection: Mutex::new(None),
        }
    }

    fn touch(&self) {
        self.touched.store(true, Ordering::Release);
    }

    fn take_rejection(&self) -> Option<tessera_http::Rejection> {
        self.rejection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Applies `rejection` and the queued token changes to the ASGI header
    /// list `headers`: the status to put on (if any) and the new list.
    fn apply<'py>(
        &self,
        py: Python<'py>,
        headers: &Bound<'py, PyAny>,
        rejection: Option<tessera_http::Rejection>,
    ) -> PyResult<(Option<u16>, Bound<'py, PyList>)> {
        let mut out = Headers(headers.extract::<AsgiHeaders>()?);
        let status = self.ctx.finish(rejection, &mut out);
        Ok((status, PyList::new(py, out.0)?))
    }
}

impl Context {
    fn verify_future(
        &self,
        session_required: bool,
        anti_csrf_check: Option<bool>,
        check_database: bool,
        validate_claims: bool,
    ) -> impl Future<Output = PyResult<Option<Session>>> + Send + 'static {
        let ctx = self.ctx.clone();
        let req = self.req.clone();
        let touched = self.touched.clone();
        let mut options = SessionOptions::new()
            .check_database(check_database)
            .validate_claims(validate_claims);
        if let Some(check) = anti_csrf_check {
            options = options.anti_csrf_check(check);
        }
        async move {
            match ctx.verify::<tessera_http::Error>(&*req, &options).await {
                Ok(Some(s)) => Ok(Some(Session::new(s, touched))),
                Ok(None) if session_required => Err(errors::to_py(tessera_http::Error::no_token())),
                Ok(None) => Ok(None),
                Err(e) => Err(errors::to_py(e)),
            }
        }
    }
}

/// A pending future, handed back out of `detach`.
struct SendFuture<F>(F);

/// Polls `fut` once on the engine's runtime: its output if it is ready
/// (verification without a database call never waits), else the future
/// itself, to be awaited from Python.
fn poll_once<F: Future>(mut fut: Pin<Box<F>>) -> Result<F::Output, Pin<Box<F>>> {
    let _runtime = get_runtime().enter();
    let mut cx = TaskContext::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(out) => Ok(out),
        Poll::Pending => Err(fut),
    }
}

#[pymethods]
impl Context {
    /// Verifies the request's session (FDI §4, §5): a `Session`, or `None`
    /// when the request carries no access token and `session_required` is
    /// false. Raises `UnauthorisedError`, `TryRefreshTokenError`,
    /// `InvalidClaimError` (the global claim validators run unless
    /// `validate_claims` is false). Returns an awaitable.
    #[pyo3(signature = (session_required = true, anti_csrf_check = None, check_database = false, validate_claims = true))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        session_required: bool,
        anti_csrf_check: Option<bool>,
        check_database: bool,
        validate_claims: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fut = self.verify_future(
            session_required,
            anti_csrf_check,
            check_database,
            validate_claims,
        );
        future_into_py(py, fut)
    }

    /// [`verify`](Self::verify) without a round trip through the event
    /// loop when the answer needs no database: `(True, result)` when it is
    /// ready now (the GIL is released while the engine works), `(False,
    /// awaitable)` when the engine must wait for the store.
    #[pyo3(signature = (session_required = true, anti_csrf_check = None, check_database = false, validate_claims = true))]
    fn verify_now<'py>(
        &self,
        py: Python<'py>,
        session_required: bool,
        anti_csrf_check: Option<bool>,
        check_database: bool,
        validate_claims: bool,
    ) -> PyResult<(bool, Bound<'py, PyAny>)> {
        let fut = Box::pin(self.verify_future(
            session_required,
            anti_csrf_check,
            check_database,
            validate_claims,
        ));
        match py.detach(move || poll_once(fut).map_err(SendFuture)) {
            Ok(out) => Ok((true, out?.into_pyobject(py)?)),
            Err(SendFuture(fut)) => Ok((false, future_into_py(py, fut)?)),
        }
    }

    /// Creates a session (JSON text for the payload and the data) and
    /// queues its tokens for this response, as cookies when the request
    /// says `st-auth-mode: cookie`, as headers otherwise. 1 database call.
    #[pyo3(signature = (user_id, access_token_payload = "{}".to_owned(), session_data_in_database = "{}".to_owned(), tenant_id = None))]
    fn create_new_session<'py>(
        &self,
        py: Python<'py>,
        user_id: String,
        access_token_payload: String,
        session_data_in_database: String,
        tenant_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let payload = crate::json::parse(&access_token_payload, "the access token payload")?;
        let data = crate::json::parse(&session_data_in_database, "the session data")?;
        let sessions = self
            .ctx
            .sessions::<tessera_http::Error>(&*self.req, self.client_ip.clone());
        self.touch();
        let touched = self.touched.clone();
        future_into_py(py, async move {
            let mut new = NewSession::new(user_id)
                .jwt_payload(payload)
                .session_data(data);
            if let Some(t) = tenant_id {
                new = new.tenant(t);
            }
            sessions
                .create_session(new)
                .await
                .map(|s| Session::new(s, touched))
                .map_err(errors::to_py)
        })
    }

    /// The refresh flow (FDI §7): the JSON body of the `200` answer.
    fn refresh<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.touch();
        let ctx = self.ctx.clone();
        let req = self.req.clone();
        future_into_py(py, async move {
            ctx.refresh(&*req)
                .await
                .map(|v| v.to_string())
                .map_err(errors::to_py)
        })
    }

    /// The sign-out flow (FDI §8): the JSON body of the `200` answer.
    fn signout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.touch();
        let ctx = self.ctx.clone();
        let req = self.req.clone();
        future_into_py(py, async move {
            ctx.signout(&*req)
                .await
                .map(|v| v.to_string())
                .map_err(errors::to_py)
        })
    }

    /// Ends the request: applies the error's `rejection` (if the response
    /// is an error of tessera) and every queued token change to the
    /// response's ASGI `headers`. Returns the status the response must take
    /// (or `None` to keep its own) and the new header list, or `None` when
    /// nothing changes (nothing was queued and there is no rejection: the
    /// headers are not even read).
    #[pyo3(signature = (headers, rejection = None))]
    fn finish<'py>(
        &self,
        py: Python<'py>,
        headers: &Bound<'py, PyAny>,
        rejection: Option<PyRef<'_, Rejection>>,
    ) -> PyResult<(Option<u16>, Option<Bound<'py, PyList>>)> {
        if rejection.is_none() && !self.touched.load(Ordering::Acquire) {
            return Ok((None, None));
        }
        let (status, list) = self.apply(py, headers, rejection.map(|r| r.0))?;
        Ok((status, Some(list)))
    }

    /// Keeps the rejection of the tessera error that answers this request,
    /// for the [`Sender`] to apply to the response.
    fn reject(&self, rejection: PyRef<'_, Rejection>) {
        *self
            .rejection
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(rejection.0);
    }

    /// ASGI's `send` for this request: a callable that passes every
    /// message on to `send`, with the rejection (see `reject`) and the
    /// queued token changes put on `http.response.start` (as `finish`
    /// does). It returns `send`'s own awaitable: no coroutine of its own.
    fn sender(slf: &Bound<'_, Self>, send: Py<PyAny>) -> Sender {
        Sender {
            ctx: slf.clone().unbind(),
            send,
        }
    }
}

/// The `send` of one request's ASGI app, made by `Context.sender`.
#[pyclass(frozen, module = "tessera._tessera")]
#[derive(Debug)]
pub struct Sender {
    ctx: Py<Context>,
    send: Py<PyAny>,
}

#[pymethods]
impl Sender {
    /// Sends `message`, the response's start with the token changes on it.
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        message: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let send = self.send.bind(py);
        let ctx = self.ctx.get();
        let pending = ctx.touched.load(Ordering::Acquire)
            || ctx
                .rejection
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some();
        if !pending
            || !message
                .get_item(intern!(py, "type"))?
                .eq(intern!(py, "http.response.start"))?
        {
            return send.call1((message,));
        }
        let rejection = ctx.take_rejection();
        let copy = PyDict::new(py);
        copy.update(message.cast::<PyMapping>()?)?;
        let headers = match copy.get_item(intern!(py, "headers"))? {
            Some(h) => h,
            None => PyList::empty(py).into_any(),
        };
        let (status, list) = ctx.apply(py, &headers, rejection)?;
        copy.set_item(intern!(py, "headers"), list)?;
        if let Some(status) = status {
            copy.set_item(intern!(py, "status"), status)?;
        }
        send.call1((copy,))
    }
}
