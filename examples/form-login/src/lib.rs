//! A server-rendered app with a plain HTML form login: no JavaScript, no
//! SDK. The one setting that makes it work is
//! [`TokenTransferPolicy::CookieForBrowsers`]: SuperTokens' default rule
//! gives a login request without `st-auth-mode` header-mode tokens, which a
//! browser never stores; with this policy a browser (recognised by its
//! `Sec-Fetch-*` request headers) gets the session cookies, and an API
//! client (curl, a mobile app) still gets header tokens.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the signed-in user and a sign-out button, or the login form |
//! | `POST /login` | form field `user`: creates the session, redirects to `/` |
//! | `POST /logout` | revokes the session, clears the cookies, redirects to `/` |
//!
//! The access token lives an hour here and nothing refreshes it (a page
//! without the SDK has no refresh loop): after that `GET /` shows the form
//! again. An app that wants longer sessions sets a longer access-token
//! lifetime or calls `POST /auth/session/refresh` itself.

use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use tessera_axum::{Error, Session, SessionLayer, Sessions, TokenTransferPolicy};

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The user id to sign in as (a demo: no password).
    pub user: String,
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

async fn home(session: Option<Session>) -> Html<String> {
    let body = match session {
        Some(s) => format!(
            "<p id=\"who\">Signed in as <b>{}</b>.</p>\
             <form method=\"post\" action=\"/logout\"><button id=\"logout\">Sign out</button></form>",
            escape(s.get_user_id())
        ),
        None => "<form method=\"post\" action=\"/login\">\
                 <label>User <input id=\"user\" name=\"user\" required></label> \
                 <button id=\"login\">Sign in</button></form>"
            .to_owned(),
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>tessera form login</title></head><body>{body}</body></html>"
    ))
}

async fn login(sessions: Sessions, Form(form): Form<LoginForm>) -> Result<Response, Error> {
    let user = form.user.trim();
    if user.is_empty() {
        return Err(Error::InvalidInput("user must not be empty".into()));
    }
    sessions
        .create_new_session(user, json!({}), json!({}))
        .await?;
    // 303: the browser follows with a GET, carrying the new cookies.
    Ok(Redirect::to("/").into_response())
}

async fn logout(session: Session) -> Result<Redirect, Error> {
    session.revoke_session().await?;
    Ok(Redirect::to("/"))
}

/// The app: the pages, the session routes, and the layer with cookies for
/// browsers. `cookie_secure`: `false` only for plain HTTP off `localhost`
/// (browsers accept `Secure` cookies from `http://localhost`).
pub fn app(manager: tessera::SessionManager, cookie_secure: bool) -> Router {
    let layer = SessionLayer::new(manager)
        .cookie_secure(cookie_secure)
        .token_transfer_policy(TokenTransferPolicy::CookieForBrowsers);
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .merge(layer.routes())
        .layer(layer)
}
