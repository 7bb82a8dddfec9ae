//! Security finding 3: a web page must not be able to drive `tessera
//! serve` through a visitor's browser — not with a CORS-simple `text/plain`
//! POST, not with any request that carries `Origin` or cross-site fetch
//! metadata, and not, on a keyless server, under a rebound DNS name — and
//! a keyless server must not be exposed on the network by accident.
//! Everything over real loopback sockets; raw TCP where a browser's exact
//! headers matter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;

use common::{API_KEY, Options, ServeProcess, TestServer, addr_of, raw_http, tessera_command};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_server::serve::HostPolicy;

/// A raw HTTP/1.1 request with `Connection: close` and these headers (a
/// `Host` among them, or none at all).
fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    head.push_str(body);
    head.into_bytes()
}

async fn sessions_of(server: &TestServer, user: &str) -> Vec<Value> {
    let listed = server
        .get("/public/recipe/session/user", &[("userId", user)])
        .await
        .ok_json();
    listed["sessionHandles"].as_array().unwrap().clone()
}

/// The CDI endpoints that read a JSON body, with a body each accepts.
fn body_endpoints() -> Vec<(&'static str, &'static str, Value)> {
    let create = json!({
        "userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
        "useDynamicSigningKey": true, "enableAntiCsrf": false,
    });
    vec![
        ("POST", "/recipe/session", create.clone()),
        ("POST", "/acme/recipe/session", create),
        (
            "POST",
            "/recipe/session/verify",
            json!({"accessToken": "x", "doAntiCsrfCheck": false, "enableAntiCsrf": false, "checkDatabase": false}),
        ),
        (
            "POST",
            "/recipe/session/refresh",
            json!({"refreshToken": "x", "enableAntiCsrf": false, "useDynamicSigningKey": true}),
        ),
        (
            "POST",
            "/recipe/session/regenerate",
            json!({"accessToken": "x", "userDataInJWT": {}}),
        ),
        (
            "POST",
            "/recipe/session/remove",
            json!({"userId": "nobody"}),
        ),
        (
            "POST",
            "/acme/recipe/session/remove",
            json!({"userId": "nobody"}),
        ),
        (
            "PUT",
            "/recipe/session/data",
            json!({"sessionHandle": "h", "userDataInDatabase": {}}),
        ),
        (
            "PUT",
            "/recipe/jwt/data",
            json!({"sessionHandle": "h", "userDataInJWT": {}}),
        ),
    ]
}

#[tokio::test]
async fn cdi_bodies_that_are_not_application_json_get_415_and_change_nothing() {
    let server = TestServer::start().await;
    server.create("public", "victim").await;
    let addr = addr_of(&server.base);
    // The CORS-simple POST a page can send without a preflight (here
    // without `Origin`, to check the content-type rule on its own).
    let revoke = json!({"userId": "victim"}).to_string();
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("text/json"),
        Some("application/jsonp"),
        Some("application/merge-patch+json"),
        None,
    ] {
        let mut headers = vec![("Host", "127.0.0.1")];
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct));
        }
        let (status, body) = raw_http(
            &addr,
            &request("POST", "/public/recipe/session/remove", &headers, &revoke),
        )
        .await;
        assert_eq!(status, 415, "{content_type:?}: {body}");
        assert_eq!(body, "Content-Type must be application/json\n");
    }
    assert_eq!(sessions_of(&server, "victim").await.len(), 1);
    // Every endpoint that reads a body: refused as text/plain, read as JSON
    // (what both SDKs send: `application/json; charset=utf-8`).
    for (method, path, body) in body_endpoints() {
        let body = body.to_string();
        for (content_type, refused) in [
            ("text/plain", true),
            ("application/json; charset=utf-8", false),
            ("Application/JSON", false),
        ] {
            let (status, text) = raw_http(
                &addr,
                &request(
                    method,
                    path,
                    &[("Host", "127.0.0.1"), ("Content-Type", content_type)],
                    &body,
                ),
            )
            .await;
            if refused {
                assert_eq!(status, 415, "{method} {path} {content_type}: {text}");
            } else {
                assert_eq!(status, 200, "{method} {path} {content_type}: {text}");
            }
        }
    }
    // GETs carry no body: no content type needed (the SDKs send none).
    let listed = server
        .send(
            server
                .client
                .get(server.url("/recipe/session/user?userId=victim")),
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
}

#[tokio::test]
async fn requests_with_origin_or_cross_site_fetch_metadata_get_403_even_with_a_key() {
    for api_keys in [Vec::new(), vec![API_KEY.to_owned()]] {
        let keyed = !api_keys.is_empty();
        let server = TestServer::with(Options {
            api_keys,
            ..Options::default()
        })
        .await;
        server.create("public", "victim").await;
        let addr = addr_of(&server.base);
        let host = addr.as_str();
        let revoke = json!({"userId": "victim"}).to_string();
        // What Chrome sends for a page's `fetch(url, {method: "POST",
        // mode: "no-cors", body})` to the core.
        let chrome = [
            ("Host", host),
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "no-cors"),
            ("Content-Type", "text/plain;charset=UTF-8"),
            ("api-key", API_KEY),
        ];
        let (status, body) = raw_http(
            &addr,
            &request("POST", "/public/recipe/session/remove", &chrome, &revoke),
        )
        .await;
        assert_eq!(status, 403, "keyed {keyed}: {body}");
        assert_eq!(body, "Browser requests not allowed\n");
        // Each browser signal alone, on a JSON request the SDK would send.
        for signal in [
            ("Origin", "https://evil.example"),
            ("Origin", "null"),
            ("Origin", "http://127.0.0.1:3567"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Site", "same-site"),
            ("Sec-Fetch-Site", "same-origin"),
        ] {
            let headers = [
                ("Host", host),
                signal,
                ("Content-Type", "application/json"),
                ("api-key", API_KEY),
            ];
            let (status, body) = raw_http(
                &addr,
                &request("POST", "/public/recipe/session/remove", &headers, &revoke),
            )
            .await;
            assert_eq!(status, 403, "keyed {keyed}, {signal:?}: {body}");
            for path in [
                "/public/recipe/session/user?userId=victim",
                "/apiversion",
                "/metrics",
            ] {
                let (status, _) = raw_http(&addr, &request("GET", path, &headers, "")).await;
                assert_eq!(status, 403, "keyed {keyed}, {signal:?}: {path}");
            }
        }
        assert_eq!(sessions_of(&server, "victim").await.len(), 1);
        // `Sec-Fetch-Site: none` (a URL the user typed) and `Sec-Fetch-Mode`
        // alone (Node's fetch sends `cors`) are not a page's requests.
        for harmless in [("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "cors")] {
            let headers = [("Host", host), harmless, ("api-key", API_KEY)];
            let (status, body) = raw_http(
                &addr,
                &request(
                    "GET",
                    "/public/recipe/session/user?userId=victim",
                    &headers,
                    "",
                ),
            )
            .await;
            assert_eq!(status, 200, "{harmless:?}: {body}");
        }
    }
}

#[tokio::test]
async fn a_keyless_server_refuses_any_host_but_a_loopback_one_so_dns_rebinding_fails() {
    let server = TestServer::start().await;
    let addr = addr_of(&server.base);
    let port = addr.rsplit_once(':').unwrap().1.to_owned();
    let create = json!({
        "userId": "victim", "userDataInJWT": {"role": "admin"}, "userDataInDatabase": {},
        "useDynamicSigningKey": true, "enableAntiCsrf": false,
    })
    .to_string();
    // After DNS rebinding the page is same-origin with the core: its
    // requests carry the attacker's name (and, from browsers that send
    // fetch metadata to this origin, `same-origin`; here without it).
    let rebound = format!("rebind.evil.example:{port}");
    for host in [
        rebound.as_str(),
        "evil.example",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "tessera",
        "0.0.0.0",
        "192.168.1.20",
        "[::2]",
        "",
    ] {
        let json_headers = [("Host", host), ("Content-Type", "application/json")];
        let (status, body) = raw_http(
            &addr,
            &request("POST", "/recipe/session", &json_headers, &create),
        )
        .await;
        assert_eq!(status, 403, "Host {host:?}: {body}");
        assert_eq!(body, "Host not allowed\n");
        let (status, _) = raw_http(
            &addr,
            &request(
                "GET",
                "/recipe/session/user?userId=victim",
                &[("Host", host)],
                "",
            ),
        )
        .await;
        assert_eq!(status, 403, "Host {host:?}");
    }
    assert!(sessions_of(&server, "victim").await.is_empty());
    // An absolute request target names the host too.
    let (status, _) = raw_http(
        &addr,
        &request(
            "GET",
            "http://evil.example/apiversion",
            &[("Host", "127.0.0.1")],
            "",
        ),
    )
    .await;
    assert_eq!(status, 403);
    // Loopback names, any port, and no Host at all (HTTP/1.0; a browser
    // always sends one).
    let with_port = format!("localhost:{port}");
    for host in [
        Some(with_port.as_str()),
        Some("LOCALHOST"),
        Some("127.0.0.1"),
        Some("127.0.0.1:3567"),
        Some("127.3.2.1:80"),
        Some("[::1]"),
        Some("[::1]:3567"),
    ] {
        let headers: Vec<(&str, &str)> = host.map(|h| ("Host", h)).into_iter().collect();
        let (status, body) = raw_http(&addr, &request("GET", "/apiversion", &headers, "")).await;
        assert_eq!(status, 200, "Host {host:?}: {body}");
    }
    let (status, body) = raw_http(&addr, b"GET /apiversion HTTP/1.0\r\n\r\n").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn with_api_keys_or_an_explicitly_exposed_server_other_hosts_are_accepted() {
    // With a key (a page cannot present it), the name the SDK was given is
    // whatever the deployment calls the core.
    let keyed = TestServer::with(Options {
        api_keys: vec![API_KEY.to_owned()],
        ..Options::default()
    })
    .await;
    let headers = [("Host", "tessera-core:3567"), ("api-key", API_KEY)];
    let (status, body) = raw_http(
        &addr_of(&keyed.base),
        &request("GET", "/apiversion", &headers, ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Keyless but exposed on purpose: IP literals pass, names do not.
    let exposed = TestServer::with(Options {
        host_policy: HostPolicy::LoopbackOrIp,
        ..Options::default()
    })
    .await;
    let addr = addr_of(&exposed.base);
    for (host, expected) in [
        ("10.1.2.3:3567", 200),
        ("[fd00::5]:3567", 200),
        ("127.0.0.1", 200),
        ("evil.example:3567", 403),
        ("tessera-core:3567", 403),
    ] {
        let (status, _) =
            raw_http(&addr, &request("GET", "/apiversion", &[("Host", host)], "")).await;
        assert_eq!(status, expected, "Host {host}");
    }
}

#[tokio::test]
async fn hello_and_jwks_answer_any_origin_and_host() {
    let server = TestServer::start().await;
    let addr = addr_of(&server.base);
    let browser = [
        ("Host", "rebind.evil.example"),
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ];
    for path in ["/", "/hello", "/acme/hello", "/.well-known/jwks.json"] {
        let (status, body) = raw_http(&addr, &request("GET", path, &browser, "")).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

#[test]
fn a_keyless_non_loopback_bind_is_refused_unless_declared_insecure() {
    for bind in ["0.0.0.0:0", "[::]:0"] {
        let mut child = tessera_command(&["serve", "--bind", bind, "--database", "memory:"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // It must exit by itself; one that serves instead is stopped after
        // a while so the test fails rather than hangs.
        let mut exited = None;
        for _ in 0..300 {
            exited = child.try_wait().unwrap();
            if exited.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        assert!(exited.is_some(), "{bind}: a keyless server started on it");
        assert_eq!(out.status.code(), Some(2), "{bind}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("without API keys") && stderr.contains("--insecure-no-api-key"),
            "{stderr}"
        );
    }
    // The flag, the environment or the config file says so: it starts,
    // says so once, and still refuses host names.
    let (_, dir) = common::temp_sqlite_url("insecure");
    let config = dir.join("tessera.toml");
    std::fs::write(&config, "insecure_no_api_key = true\n").unwrap();
    let serve = ["serve", "--bind", "0.0.0.0:0", "--database", "memory:"];
    let mut by_flag = tessera_command(&serve);
    by_flag.arg("--insecure-no-api-key");
    let mut by_env = tessera_command(&serve);
    by_env.env("TESSERA_INSECURE_NO_API_KEY", "1");
    let mut by_file = tessera_command(&serve);
    by_file.arg("--config").arg(&config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for mut cmd in [by_flag, by_env, by_file] {
        let served = ServeProcess::start(&mut cmd);
        runtime.block_on(async {
            for (host, expected) in [
                ("127.0.0.1", 200),
                ("10.9.8.7:1", 200),
                ("evil.example", 403),
            ] {
                let (status, _) = raw_http(
                    &served.addr,
                    &request("GET", "/apiversion", &[("Host", host)], ""),
                )
                .await;
                assert_eq!(status, expected, "{host}");
            }
        });
        let (status, stderr) = served.stop();
        assert!(status.success(), "{status:?}");
        assert_eq!(
            stderr
                .matches("serving without API keys on the non-loopback address")
                .count(),
            1,
            "{stderr}"
        );
    }
    // With a key, a non-loopback bind needs no declaration.
    let served = ServeProcess::start(&mut tessera_command(&[
        "serve",
        "--bind",
        "0.0.0.0:0",
        "--database",
        "memory:",
        "--api-keys",
        API_KEY,
    ]));
    let (status, stderr) = served.stop();
    assert!(status.success());
    assert!(!stderr.contains("without API keys"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_keyless_server_warns_once_at_start_up() {
    let served = ServeProcess::start(&mut tessera_command(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database",
        "memory:",
    ]));
    let address = served.base.trim_start_matches("http://").to_owned();
    let (status, stderr) = served.stop();
    assert!(status.success());
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("without API keys"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains(&address), "{}", warnings[0]);
}
