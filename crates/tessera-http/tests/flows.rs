//! The FDI rules on plain types: no web framework, an in-memory engine,
//! requests and responses as vectors of header pairs. The adapters'
//! behaviour table (crates/tessera-adapter-tests) checks the same rules
//! again over real HTTP, once per framework.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::json;
use tessera::{AntiCsrfMode, SessionManager};
use tessera_http::{
    Error, Fdi, RequestContext, RequestView, ResponseHeaders, Session, SessionOptions,
    TokenTransferMethod, TokenTransferPolicy,
};

#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: &'static str,
    headers: Vec<(String, String)>,
}

impl Req {
    fn new(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            headers: Vec::new(),
        }
    }
    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    /// The `Cookie` header a browser would send from a response's cookies.
    fn cookies_from(self, res: &Res) -> Self {
        let pairs: Vec<String> = res
            .all("set-cookie")
            .iter()
            .filter(|c| !c.contains("1970"))
            .filter_map(|c| c.split(';').next().map(str::to_owned))
            .collect();
        self.header("cookie", &pairs.join("; "))
    }
}

impl RequestView for Req {
    fn method(&self) -> &str {
        self.method
    }
    fn path(&self) -> &str {
        self.path
    }
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct Res(Vec<(String, String)>);

impl Res {
    fn all(&self, name: &str) -> Vec<String> {
        self.values(name)
    }
    fn one(&self, name: &str) -> Option<String> {
        self.values(name).into_iter().next()
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.all("set-cookie")
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

impl ResponseHeaders for Res {
    fn values(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
    fn append(&mut self, name: &'static str, value: &str) -> bool {
        self.0.push((name.to_owned(), value.to_owned()));
        true
    }
    fn insert(&mut self, name: &'static str, value: &str) -> bool {
        self.remove(name);
        self.append(name, value)
    }
    fn remove(&mut self, name: &'static str) {
        self.0.retain(|(n, _)| n != name);
    }
}

async fn fdi(mode: AntiCsrfMode) -> Fdi {
    let manager = SessionManager::builder()
        .anti_csrf(mode)
        .background_tasks(false)
        .build()
        .await
        .unwrap();
    Fdi::new(manager)
}

/// Runs `f` on a fresh request context and ends the request as an adapter
/// does: the error's rejection, then the writes; returns the status the
/// response takes (200 or the error's) and its headers.
async fn run<F, Fut>(fdi: &Fdi, f: F) -> (u16, Res)
where
    F: FnOnce(Arc<RequestContext>) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let ctx = RequestContext::new(fdi.clone());
    let (status, rejection) = match f(ctx.clone()).await {
        Ok(()) => (200, None),
        Err(e) => {
            let r = e.respond();
            (r.status, r.rejection)
        }
    };
    let mut res = Res::default();
    let configured = ctx.finish(rejection, &mut res);
    (configured.unwrap_or(status), res)
}

async fn login(fdi: &Fdi, req: Req) -> Res {
    let (status, res) = run(fdi, |ctx| async move {
        let sessions = ctx.sessions::<Error>(&req, None);
        sessions
            .create_new_session("alice", json!({ "role": "reader" }), json!({}))
            .await?;
        Ok(())
    })
    .await;
    assert_eq!(status, 200);
    res
}

#[tokio::test]
async fn cookie_login_sets_both_cookies_with_the_refresh_path_a_front_token_and_no_store() {
    let fdi = fdi(AntiCsrfMode::None).await;
    let res = login(
        &fdi,
        Req::new("POST", "/login").header("st-auth-mode", "cookie"),
    )
    .await;
    let access = res.cookie("sAccessToken").unwrap();
    let refresh = res.cookie("sRefreshToken").unwrap();
    for c in [&access, &refresh] {
        assert!(c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Lax"));
    }
    assert!(access.contains("Path=/;"));
    assert!(refresh.contains("Path=/auth/session/refresh"));
    assert!(res.one("front-token").is_some());
    assert_eq!(res.one("cache-control").as_deref(), Some("no-store"));
    assert!(res.one("st-access-token").is_none());
    assert_eq!(
        res.one("access-control-expose-headers").as_deref(),
        Some("front-token")
    );
}

#[tokio::test]
async fn a_login_without_st_auth_mode_gets_header_tokens() {
    let fdi = fdi(AntiCsrfMode::None).await;
    let res = login(&fdi, Req::new("POST", "/login")).await;
    assert!(res.cookie("sAccessToken").is_none());
    assert!(res.one("st-access-token").is_some());
    assert!(res.one("st-refresh-token").is_some());
}

#[tokio::test]
async fn cookie_for_browsers_recognises_fetch_metadata() {
    let fdi = fdi(AntiCsrfMode::None)
        .await
        .token_transfer_policy(TokenTransferPolicy::CookieForBrowsers);
    let form = login(
        &fdi,
        Req::new("POST", "/login").header("sec-fetch-mode", "navigate"),
    )
    .await;
    assert!(form.cookie("sAccessToken").is_some());
    let curl = login(&fdi, Req::new("POST", "/login")).await;
    assert!(curl.one("st-access-token").is_some());
}

#[tokio::test]
async fn no_token_is_no_session_and_writes_nothing() {
    let fdi = fdi(AntiCsrfMode::None).await;
    let (status, res) = run(&fdi, |ctx| async move {
        let s: Option<Session> = ctx
            .verify(&Req::new("GET", "/me"), &SessionOptions::new())
            .await?;
        assert!(s.is_none());
        Ok(())
    })
    .await;
    assert_eq!(status, 200);
    assert!(res.0.is_empty());
}

#[tokio::test]
async fn via_custom_header_needs_rid_on_a_cookie_post_but_not_on_get() {
    let fdi = fdi(AntiCsrfMode::ViaCustomHeader).await;
    let login = login(
        &fdi,
        Req::new("POST", "/login").header("st-auth-mode", "cookie"),
    )
    .await;
    let post = Req::new("POST", "/me").cookies_from(&login);
    let (status, res) = run(&fdi, |ctx| {
        let post = post.clone();
        async move {
            ctx.verify::<Error>(&post, &SessionOptions::new()).await?;
            Ok(())
        }
    })
    .await;
    assert_eq!(status, 401, "try refresh token");
    assert!(res.cookie("sAccessToken").is_none(), "nothing cleared");
    let with_rid = post.clone().header("rid", "anti-csrf");
    let get = Req::new("GET", "/me").cookies_from(&login);
    for req in [with_rid, get] {
        let (status, _) = run(&fdi, |ctx| async move {
            let s = ctx.verify::<Error>(&req, &SessionOptions::new()).await?;
            assert_eq!(
                s.unwrap().token_transfer_method(),
                TokenTransferMethod::Cookie
            );
            Ok(())
        })
        .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn cookie_refresh_rotates_both_cookies_and_a_refresh_without_token_clears_both_methods() {
    let fdi = fdi(AntiCsrfMode::None).await;
    let login = login(
        &fdi,
        Req::new("POST", "/login").header("st-auth-mode", "cookie"),
    )
    .await;
    let req = Req::new("POST", "/auth/session/refresh").cookies_from(&login);
    let (status, res) = run(&fdi, |ctx| async move {
        assert_eq!(ctx.refresh(&req).await?, json!({}));
        Ok(())
    })
    .await;
    assert_eq!(status, 200);
    assert_ne!(res.cookie("sRefreshToken"), login.cookie("sRefreshToken"));
    assert!(res.one("front-token").is_some());

    let (status, res) = run(&fdi, |ctx| async move {
        ctx.refresh(&Req::new("POST", "/auth/session/refresh"))
            .await?;
        Ok(())
    })
    .await;
    assert_eq!(status, 401);
    assert!(res.cookie("sAccessToken").unwrap().contains("1970"));
    assert!(res.cookie("sRefreshToken").unwrap().contains("1970"));
    assert_eq!(res.one("st-access-token").as_deref(), Some(""));
    assert_eq!(res.one("front-token").as_deref(), Some("remove"));
}

#[tokio::test]
async fn signout_revokes_and_clears_only_the_method_in_use() {
    let fdi = fdi(AntiCsrfMode::None).await;
    let login = login(
        &fdi,
        Req::new("POST", "/login").header("st-auth-mode", "cookie"),
    )
    .await;
    let req = Req::new("POST", "/auth/signout").cookies_from(&login);
    let again = req.clone();
    let (status, res) = run(&fdi, |ctx| async move {
        assert_eq!(ctx.signout(&req).await?, json!({ "status": "OK" }));
        Ok(())
    })
    .await;
    assert_eq!(status, 200);
    assert!(res.cookie("sAccessToken").unwrap().contains("1970"));
    assert!(res.one("st-access-token").is_none());
    // The session is gone from the store: a database-checked verify says so.
    let (status, _) = run(&fdi, |ctx| async move {
        let options = SessionOptions::new().check_database(true);
        ctx.verify::<Error>(&again, &options).await?;
        Ok(())
    })
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn configured_status_codes_replace_the_defaults_at_the_end_of_the_request() {
    let fdi = fdi(AntiCsrfMode::None)
        .await
        .status_codes(440, 403)
        .unwrap();
    let (status, _) = run(&fdi, |_ctx| async move { Err(Error::no_token()) }).await;
    assert_eq!(status, 440);
    let (status, _) = run(&fdi, |_ctx| async move {
        Err(Error::InvalidInput("bad".into()))
    })
    .await;
    assert_eq!(status, 400);
    assert!(fdi.clone().status_codes(401, 401).is_err());
}
