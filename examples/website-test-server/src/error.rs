//! The server's one error type, framework-neutral: session outcomes stay
//! the FDI core's error, which each adapter answers as its own.

use crate::reply::Reply;

/// What a test-server route can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A session outcome (401, 403 …), answered by the adapter's error type
    /// so that its middleware puts on the status and clears tokens.
    #[error(transparent)]
    Session(#[from] tessera_http::Error),
    /// The engine failed outside a request's session (setting up an app).
    #[error("engine: {0}")]
    Engine(#[from] tessera::Error),
    /// The request asked for something this server does not take.
    #[error("{0}")]
    BadRequest(&'static str),
}

impl Error {
    /// The answer to this error, or the session error for the adapter to
    /// answer.
    pub fn into_reply(self) -> Result<Reply, tessera_http::Error> {
        match self {
            Self::Session(e) => Err(e),
            Self::Engine(e) => {
                tracing::error!(error = %e, "engine error");
                Ok(Reply::plain(500, "engine error"))
            }
            Self::BadRequest(m) => Ok(Reply::plain(400, m)),
        }
    }
}
