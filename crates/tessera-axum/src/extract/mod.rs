//! Extractors: [`Session`](session::Session), `Option<Session>`,
//! [`Sessions`](sessions::Sessions), and the per-route
//! [`SessionOptions`](options::SessionOptions).

pub(crate) mod options;
pub(crate) mod session;
pub(crate) mod sessions;
