//! [`SessionOptions`]: per-route verification settings (SuperTokens'
//! `verify_session(check_database=…, anti_csrf_check=…)`).

/// How a session is verified on a route.
///
/// The default verifies with no database call, checks anti-CSRF on every
/// non-GET cookie request, and runs the configured claim validators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    pub(crate) check_database: bool,
    pub(crate) anti_csrf_check: Option<bool>,
    pub(crate) validate_claims: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            check_database: false,
            anti_csrf_check: None,
            validate_claims: true,
        }
    }
}

impl SessionOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also check that the session still exists in the store (one database
    /// call per extraction; a revoked session is `401 unauthorised` with
    /// the tokens cleared). Blacklisting in the engine's config does this
    /// on every route.
    pub fn check_database(mut self, on: bool) -> Self {
        self.check_database = on;
        self
    }

    /// Force the anti-CSRF check on or off (default: on for every method
    /// but GET, and never for header-mode tokens).
    pub fn anti_csrf_check(mut self, check: bool) -> Self {
        self.anti_csrf_check = Some(check);
        self
    }

    /// Run the configured claim validators (default on).
    pub fn validate_claims(mut self, on: bool) -> Self {
        self.validate_claims = on;
        self
    }
}
