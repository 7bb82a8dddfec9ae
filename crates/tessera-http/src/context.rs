//! [`RequestContext`]: one request's view of the FDI, and the queue of
//! token changes for its response.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tessera::SessionManager;

use crate::config::{TokenTransferMethod, TransportConfig};
use crate::error::Rejection;
use crate::fdi::Fdi;
use crate::write::{Mutation, ResponseHeaders, Writes};

/// One request's view of the [`Fdi`]: the shared settings and the queue of
/// token changes for its response.
///
/// An adapter makes one per request (before the handler), hands an `Arc` of
/// it to its extractors, and calls [`finish`](Self::finish) on the way out.
pub struct RequestContext {
    fdi: Fdi,
    queue: Mutex<Vec<Mutation>>,
    finished: AtomicBool,
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext").finish_non_exhaustive()
    }
}

impl RequestContext {
    /// A context with an empty queue.
    pub fn new(fdi: Fdi) -> Arc<Self> {
        Arc::new(Self {
            fdi,
            queue: Mutex::new(Vec::new()),
            finished: AtomicBool::new(false),
        })
    }

    /// The app's FDI.
    pub fn fdi(&self) -> &Fdi {
        &self.fdi
    }

    /// The engine.
    pub fn manager(&self) -> &SessionManager {
        self.fdi.manager()
    }

    pub(crate) fn config(&self) -> &TransportConfig {
        self.fdi.config()
    }

    /// Queues token changes for this request's response.
    pub(crate) fn queue(&self, mutations: impl IntoIterator<Item = Mutation>) {
        if self.finished.load(Ordering::Acquire) {
            tracing::warn!(target: "tessera::transport", "session tokens changed after the response was sent; the client will not receive them");
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        q.extend(mutations);
    }

    /// Ends the request: applies the clearing of an error response (its
    /// [`Rejection`], if any) and every queued change to the response's
    /// `headers` (folded into one [`Writes`]); returns the configured
    /// status the response must take, if it is such an error.
    #[must_use = "an error response must take the returned status"]
    pub fn finish(
        &self,
        rejection: Option<Rejection>,
        headers: &mut impl ResponseHeaders,
    ) -> Option<u16> {
        self.finished.store(true, Ordering::Release);
        let mut mutations = {
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::take(&mut *q)
        };
        let mut status = None;
        if let Some(rejection) = rejection {
            status = Some(self.fdi.status_for(rejection.kind));
            if rejection.clear_tokens {
                mutations.push(Mutation::Clear(TokenTransferMethod::Cookie));
                mutations.push(Mutation::Clear(TokenTransferMethod::Header));
            }
        }
        // The common case (a verified request that changed nothing) writes
        // nothing and folds nothing.
        if !mutations.is_empty() {
            Writes::fold(self.config(), mutations).apply(headers);
        }
        status
    }
}
