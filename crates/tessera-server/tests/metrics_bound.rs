//! Security finding 1: the metrics labels of `tessera serve` come from a
//! closed set, so no client, with or without an API key, can grow the
//! server's memory or its `/metrics` text by inventing methods or paths.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{ServeProcess, TCHARS, TestRng, TestServer, raw_http, raw_http_capped};
use tessera_server::metrics::METHOD_LABELS;
use tessera_server::serve::ROUTE_TEMPLATES;

/// Well above what the closed label set gives for these tests' requests
/// (≈ 75 KiB after 3,000 invented methods and paths, 11 KiB after the 60 KB
/// methods), far below what client-chosen labels gave (6.4 MB after the
/// 3,000; hundreds of MB after 400 × 60 KB).
const METRICS_BOUND: usize = 256 * 1024;

/// Every value of `label="…"` in the metrics text.
fn label_values(metrics: &str, label: &str) -> BTreeSet<String> {
    let needle = format!("{label}=\"");
    metrics
        .split(needle.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(v, _)| v.to_owned()))
        .collect()
}

fn assert_labels_closed(metrics: &str) {
    for method in label_values(metrics, "method") {
        assert!(
            METHOD_LABELS.contains(&method.as_str()),
            "method label {:.80}",
            method
        );
    }
    for endpoint in label_values(metrics, "endpoint") {
        assert!(
            endpoint == "unmatched" || ROUTE_TEMPLATES.contains(&endpoint.as_str()),
            "endpoint label {endpoint:.80}"
        );
    }
}

/// A path a client might invent: unknown paths, known templates with a
/// random tenant, app-id prefixes, percent-escapes and query strings.
fn random_path(rng: &mut TestRng) -> String {
    const SEGMENT: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_.~%41";
    let seg = |rng: &mut TestRng| {
        let len = 1 + rng.below(24);
        rng.string(SEGMENT, len).replace('%', "%25")
    };
    let path = match rng.below(6) {
        0 => format!("/{}", seg(rng)),
        1 => format!("/{}/{}/{}", seg(rng), seg(rng), seg(rng)),
        2 => format!("/{}/recipe/session", seg(rng)),
        3 => format!("/{}/hello", seg(rng)),
        4 => format!("/appid-{}/{}/recipe/session/user", seg(rng), seg(rng)),
        _ => format!("/recipe/session/{}", seg(rng)),
    };
    format!("{path}?{}={}", seg(rng), seg(rng))
}

#[tokio::test]
async fn metrics_labels_stay_in_a_closed_set_whatever_methods_and_paths_clients_send() {
    let server = TestServer::start().await;
    let mut rng = TestRng::from_clock();
    let standard = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
    let requests: Vec<(reqwest::Method, String)> = (0..3000)
        .map(|i| {
            let method = if i % 10 == 0 {
                standard[rng.below(standard.len())].to_owned()
            } else {
                let len = 1 + rng.below(48);
                rng.string(TCHARS, len)
            };
            (
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                random_path(&mut rng),
            )
        })
        .collect();
    let server = std::sync::Arc::new(server);
    let mut tasks = Vec::new();
    for chunk in requests.chunks(300) {
        let chunk = chunk.to_vec();
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            for (method, path) in chunk {
                let reply = server
                    .send(server.client.request(method, server.url(&path)))
                    .await;
                assert!(reply.status.as_u16() < 500, "{path}: {}", reply.status);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let metrics = server.metrics().await;
    println!("metrics text: {} bytes", metrics.len());
    assert!(
        metrics.len() <= METRICS_BOUND,
        "metrics text is {} bytes after 3,000 invented methods and paths",
        metrics.len()
    );
    assert_labels_closed(&metrics);
    // The requests were counted, under `other` and `unmatched`.
    assert!(metrics.contains("method=\"other\""), "{metrics:.2000}");
    assert!(metrics.contains("endpoint=\"unmatched\""));
    assert!(metrics.contains("endpoint=\"/{tenant}/recipe/session\""));
}

#[tokio::test]
async fn every_route_is_counted_under_its_template() {
    let server = TestServer::start().await;
    for template in ROUTE_TEMPLATES {
        let path = template.replace("{tenant}", "acme");
        let _ = server.get(&path, &[]).await;
        let _ = server
            .send(
                server
                    .client
                    .post(server.url(&path))
                    .json(&serde_json::json!({})),
            )
            .await;
        let _ = server
            .send(
                server
                    .client
                    .put(server.url(&path))
                    .json(&serde_json::json!({})),
            )
            .await;
    }
    let metrics = server.metrics().await;
    let endpoints = label_values(&metrics, "endpoint");
    for template in ROUTE_TEMPLATES {
        assert!(endpoints.contains(*template), "{template} not counted");
    }
    assert!(!endpoints.contains("unmatched"), "{endpoints:?}");
    assert_labels_closed(&metrics);
}

/// The reviewer's attack on the built binary: 400 requests, each with a
/// fresh 60 KB method name, no API key needed. Before the fix each one
/// became a label kept for ever (≈ 48 MB of RSS, a ≈ 480 MB scrape).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn sixty_kilobyte_random_methods_grow_neither_the_servers_memory_nor_its_metrics() {
    let served = ServeProcess::start(&mut common::tessera_command(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database",
        "memory:",
    ]));
    let mut rng = TestRng::from_clock();
    let request = |method: &str, path: &str| {
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .into_bytes()
    };
    // Warm up with the same path through the server (buffers, allocator
    // arenas, one label set in the old code), then take the baseline.
    let warm = rng.string(TCHARS, 60 * 1024);
    for _ in 0..50 {
        let (status, _) = raw_http(&served.addr, &request(&warm, "/recipe/session")).await;
        assert_eq!(status, 405);
    }
    let before = served.rss_bytes();
    for i in 0..400 {
        let method = rng.string(TCHARS, 60 * 1024);
        let path = if i % 2 == 0 {
            "/recipe/session".to_owned()
        } else {
            random_path(&mut rng)
        };
        let (status, _) = raw_http(&served.addr, &request(&method, &path)).await;
        assert!(status != 0 && status < 500, "{status}");
    }
    let after = served.rss_bytes();
    let growth = after.saturating_sub(before);
    println!(
        "RSS before {} KiB, after {} KiB, growth {} KiB",
        before / 1024,
        after / 1024,
        growth / 1024
    );
    assert!(
        growth < 16 << 20,
        "RSS grew by {} KiB after 400 × 60 KB methods",
        growth / 1024
    );
    // The scrape is small (read at most the bound, so the old code's
    // hundreds of megabytes are not read here).
    let (status, metrics, cut) =
        raw_http_capped(&served.addr, &request("GET", "/metrics"), METRICS_BOUND).await;
    assert_eq!(status, 200);
    assert!(!cut, "the metrics answer is over {METRICS_BOUND} bytes");
    println!("metrics text: {} bytes", metrics.len());
    assert_labels_closed(&metrics);
    assert!(metrics.contains("method=\"other\",endpoint=\"/recipe/session\",status=\"405\""));
    let (status, _) = served.stop();
    assert!(status.success(), "{status:?}");
}
