//! A header-mode client, as a mobile app uses tessera: it logs in with
//! `st-auth-mode: header`, keeps the tokens from the `st-access-token` and
//! `st-refresh-token` response headers, sends `Authorization: Bearer
//! <access token>`, and on `401 {"message":"try refresh token"}` refreshes
//! once (`POST /auth/session/refresh` with `Authorization: Bearer <refresh
//! token>`) and retries. No cookies, no anti-CSRF token (header-mode tokens
//! need none).
//!
//! Keep the refresh token in the platform's secure storage (Keychain,
//! Android Keystore); here it lives in memory.

use std::sync::Mutex;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::Error;

/// The two tokens a header-mode session travels with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tokens {
    access: String,
    refresh: String,
}

/// A client of the cookbook app in header mode.
#[derive(Debug)]
pub struct MobileClient {
    http: reqwest::Client,
    base: String,
    tokens: Mutex<Tokens>,
    refreshes: Mutex<u32>,
}

impl MobileClient {
    /// A client of the server at `base` (`http://host:port`, no trailing
    /// slash).
    pub fn new(base: impl Into<String>) -> Result<Self, Error> {
        Ok(Self {
            http: reqwest::Client::builder().build()?,
            base: base.into().trim_end_matches('/').to_owned(),
            tokens: Mutex::new(Tokens::default()),
            refreshes: Mutex::new(0),
        })
    }

    /// `POST /login` in header mode; keeps the tokens it returns.
    pub async fn login(&self, email: &str, password: &str) -> Result<Value, Error> {
        let res = self
            .http
            .post(format!("{}/login", self.base))
            .header("st-auth-mode", "header")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await?;
        self.keep_tokens(res.headers());
        let status = res.status();
        let body: Value = res.json().await?;
        if !status.is_success() {
            return Err(Error::Unexpected(format!(
                "login answered {status}: {body}"
            )));
        }
        Ok(body)
    }

    /// `GET path` with the access token; refreshes once on `try refresh
    /// token` and retries.
    pub async fn get_json(&self, path: &str) -> Result<Value, Error> {
        let (status, body) = self.call(Method::GET, path).await?;
        if status == StatusCode::UNAUTHORIZED && body["message"] == "try refresh token" {
            self.refresh().await?;
            let (status, body) = self.call(Method::GET, path).await?;
            return ok_or_unexpected(status, body);
        }
        ok_or_unexpected(status, body)
    }

    /// `POST /auth/session/refresh` with the refresh token; keeps the new
    /// tokens. An error means the session is over: log in again.
    pub async fn refresh(&self) -> Result<(), Error> {
        let refresh = self.lock_tokens().refresh.clone();
        if refresh.is_empty() {
            return Err(Error::Unexpected("no refresh token: log in first".into()));
        }
        let res = self
            .http
            .post(format!("{}/auth/session/refresh", self.base))
            .header(AUTHORIZATION, format!("Bearer {refresh}"))
            .send()
            .await?;
        self.keep_tokens(res.headers());
        if !res.status().is_success() {
            return Err(Error::Unexpected(format!(
                "refresh answered {}",
                res.status()
            )));
        }
        if let Ok(mut n) = self.refreshes.lock() {
            *n += 1;
        }
        Ok(())
    }

    /// `POST /auth/signout`; forgets the tokens.
    pub async fn sign_out(&self) -> Result<(), Error> {
        let (status, body) = self.call(Method::POST, "/auth/signout").await?;
        *self.lock_tokens() = Tokens::default();
        ok_or_unexpected(status, body).map(|_| ())
    }

    /// The access token held now (empty before login).
    pub fn access_token(&self) -> String {
        self.lock_tokens().access.clone()
    }

    /// How many refreshes succeeded.
    pub fn refreshes(&self) -> u32 {
        self.refreshes.lock().map(|n| *n).unwrap_or(0)
    }

    async fn call(&self, method: Method, path: &str) -> Result<(StatusCode, Value), Error> {
        let access = self.lock_tokens().access.clone();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !access.is_empty() {
            req = req.header(AUTHORIZATION, format!("Bearer {access}"));
        }
        let res = req.send().await?;
        self.keep_tokens(res.headers());
        let status = res.status();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// Takes new tokens from a response; an empty header value clears one.
    fn keep_tokens(&self, headers: &HeaderMap) {
        let read = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut tokens = self.lock_tokens();
        if let Some(access) = read("st-access-token") {
            tokens.access = access;
        }
        if let Some(refresh) = read("st-refresh-token") {
            tokens.refresh = refresh;
        }
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn ok_or_unexpected(status: StatusCode, body: Value) -> Result<Value, Error> {
    if status.is_success() {
        Ok(body)
    } else {
        Err(Error::Unexpected(format!("{status}: {body}")))
    }
}
