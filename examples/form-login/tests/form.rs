//! The form login over a socket, as a browser and as an API client.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::redirect::Policy;

async fn serve() -> String {
    let manager = tessera::SessionManager::in_memory().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = tessera_form_login_example::app(manager, false);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A client that sends what a browser sends on a form post and its
/// follow-up navigation (fetch metadata), keeps cookies, follows redirects.
fn browser() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("sec-fetch-mode", "navigate".parse().unwrap());
    headers.insert("sec-fetch-dest", "document".parse().unwrap());
    reqwest::Client::builder()
        .cookie_provider(Arc::new(Jar::default()))
        .default_headers(headers)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_browser_signs_in_with_a_form_sees_its_name_and_signs_out() {
    let base = serve().await;
    let client = browser();
    let page = client
        .get(&base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"user\""), "{page}");

    let after_login = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("user=%3Calice%3E")
        .send()
        .await
        .unwrap();
    assert_eq!(after_login.status(), 200);
    let page = after_login.text().await.unwrap();
    assert!(page.contains("Signed in as <b>&lt;alice&gt;</b>"), "{page}");

    let after_logout = client.post(format!("{base}/logout")).send().await.unwrap();
    assert_eq!(after_logout.status(), 200);
    let page = after_logout.text().await.unwrap();
    assert!(page.contains("name=\"user\""), "{page}");
}

#[tokio::test]
async fn an_api_client_gets_header_tokens_from_the_same_login() {
    let base = serve().await;
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("user=bob")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers().get("set-cookie").is_none());
    assert!(res.headers().get("st-access-token").is_some());
}
