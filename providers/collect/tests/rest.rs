//! The shared REST client over real HTTP, against the shared loopback replay server (and a
//! server that never answers): hostile headers, oversized bodies, cyclic pages, foreign links,
//! time-outs. Each call must end with a classified error, never a panic or a hang.

use cloudscan_collect::fixture::{
    Cassette, PathMatch, RecordedResponse, RequestKey, EXCHANGES_DIR, SCENARIO_FILE,
};
use cloudscan_collect::rest::{
    Classified, Dialect, Incoming, Paging, ReplayDialect, ReplayServer, Request, RestClient,
    RetryPolicy, TokenProvider,
};
use cloudscan_collect::{CollectError, FailureKind};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Test;

impl Dialect for Test {
    fn name(&self, service: &str, method: &str, path: &str) -> (String, String, String) {
        let op = path.rsplit('/').next().unwrap_or_default().to_string();
        (
            service.to_string(),
            "global".to_string(),
            format!("{method}.{op}"),
        )
    }
    fn classify(&self, status: u16, body: &str) -> Classified {
        Classified {
            kind: match status {
                429 => FailureKind::Throttled,
                403 => FailureKind::AccessDenied,
                500..=599 => FailureKind::Server,
                _ => FailureKind::Other,
            },
            code: format!("HTTP {status}"),
            message: body.chars().take(80).collect(),
        }
    }
    fn permission(&self, _key: &RequestKey) -> Option<&'static str> {
        Some("things.read")
    }
    fn encode_path(&self, path: &str) -> String {
        path.to_string()
    }
}

struct Replay;

impl ReplayDialect for Replay {
    fn intercept(&self, request: &Incoming) -> Option<RecordedResponse> {
        (request.header("authorization") != Some("Bearer t"))
            .then(|| RecordedResponse::json(401, json!({"error": "no token"})))
    }
    fn key(&self, request: &Incoming) -> RequestKey {
        let trimmed = request.path.trim_start_matches('/');
        let (service, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        let path = format!("/{rest}");
        let (service, region, operation) = Test.name(service, &request.method, &path);
        RequestKey {
            service,
            region,
            operation,
            method: request.method.clone(),
            path,
            params: request.query.iter().cloned().collect(),
            body: request.json_body(),
        }
    }
    fn error(&self, status: u16, code: &str, message: &str) -> RecordedResponse {
        RecordedResponse::json(status, json!({"code": code, "message": message}))
    }
    fn served_body(&self, body: String, base: &str) -> String {
        body.replace("https://public.example", base)
    }
}

struct Token;

impl TokenProvider for Token {
    fn token(&self) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async { Ok("t".to_string()) })
    }
}

fn exchange(dir: &Path, name: &str, path: &str, params: Value, responses: Value) {
    let file = dir.join(EXCHANGES_DIR).join(format!("{name}.json"));
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    let op = path.rsplit('/').next().unwrap_or_default();
    let body = json!({
        "request": {"service": "svc", "region": "global", "operation": format!("GET.{op}"),
                    "method": "GET", "path": path, "params": params},
        "responses": responses,
    });
    std::fs::write(file, body.to_string()).expect("write");
}

async fn serve(dir: &Path) -> ReplayServer {
    std::fs::write(dir.join(SCENARIO_FILE), "{}").expect("scenario");
    let (cassette, _) =
        Cassette::load::<BTreeMap<String, Value>>(dir, PathMatch::Exact).expect("load");
    ReplayServer::start(cassette, Replay).await.expect("server")
}

fn client(retry_after_cap: Duration, timeout: Duration) -> RestClient<Test> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let retry = RetryPolicy {
        max_attempts: 2,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
        max_retry_after: retry_after_cap,
    };
    RestClient::new(http, Arc::new(Token), Test, 4, retry, timeout, None)
}

async fn call(client: &RestClient<Test>, base: &str, path: &str) -> Result<Value, CollectError> {
    let base = format!("{base}/svc");
    client
        .call(&Request::get("svc", &base, path, "the-target"))
        .await
}

#[tokio::test]
async fn hostile_retry_after_values_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, value) in ["1e20", "18446744073709551616", "-5", "NaN", "soon"]
        .iter()
        .enumerate()
    {
        exchange(
            dir.path(),
            &format!("t{i}"),
            &format!("/t{i}"),
            json!({}),
            json!([{"status": 429, "headers": {"retry-after": value}, "json": {"e": 1}}]),
        );
    }
    let server = serve(dir.path()).await;
    let client = client(Duration::from_millis(200), Duration::from_secs(10));
    let started = Instant::now();
    for i in 0..5 {
        let e = call(&client, server.base_url(), &format!("/t{i}"))
            .await
            .expect_err("throttled");
        assert_eq!(e.kind, FailureKind::Throttled, "{e}");
        assert_eq!(e.target, "the-target");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = "x".repeat(64 * 1024);
    exchange(
        dir.path(),
        "big",
        "/big",
        json!({}),
        json!([{"status": 200, "json": {"blob": big}}]),
    );
    let server = serve(dir.path()).await;
    let small = client(Duration::from_secs(1), Duration::from_secs(10)).with_max_body(1024);
    let e = call(&small, server.base_url(), "/big")
        .await
        .expect_err("too big");
    assert_eq!(e.kind, FailureKind::Malformed);
    assert!(e.message.contains("1024"), "{e}");
    let large = client(Duration::from_secs(1), Duration::from_secs(10));
    assert!(call(&large, server.base_url(), "/big").await.is_ok());
}

#[tokio::test]
async fn cyclic_page_tokens_end_the_listing_as_incomplete() {
    let dir = tempfile::tempdir().expect("tempdir");
    exchange(
        dir.path(),
        "p0",
        "/list",
        json!({}),
        json!([{"status": 200, "json": {"items": [1], "next": "A"}}]),
    );
    exchange(
        dir.path(),
        "pa",
        "/list",
        json!({"token": "A"}),
        json!([{"status": 200, "json": {"items": [2], "next": "B"}}]),
    );
    exchange(
        dir.path(),
        "pb",
        "/list",
        json!({"token": "B"}),
        json!([{"status": 200, "json": {"items": [3], "next": "A"}}]),
    );
    let server = serve(dir.path()).await;
    let client = client(Duration::from_secs(1), Duration::from_secs(10));
    let base = format!("{}/svc", server.base_url());
    let (pages, error) = client
        .pages(
            &Request::get("svc", &base, "/list", "t"),
            Paging::Token {
                field: "next",
                param: "token",
            },
        )
        .await;
    assert_eq!(pages.len(), 3);
    let e = error.expect("cycle detected");
    assert_eq!(e.kind, FailureKind::Malformed);
    assert!(e.message.contains("`A` was returned before"), "{e}");
}

#[tokio::test]
async fn next_links_must_stay_on_the_first_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    exchange(
        dir.path(),
        "l0",
        "/items",
        json!({}),
        json!([{"status": 200, "json": {"value": [1], "nextLink": "https://public.example/svc/items?page=2"}}]),
    );
    exchange(
        dir.path(),
        "l1",
        "/items",
        json!({"page": "2"}),
        json!([{"status": 200, "json": {"value": [2], "nextLink": "https://evil.example/svc/items?page=3"}}]),
    );
    let server = serve(dir.path()).await;
    let client = client(Duration::from_secs(1), Duration::from_secs(10));
    let base = format!("{}/svc", server.base_url());
    let (pages, error) = client
        .pages(
            &Request::get("svc", &base, "/items", "t"),
            Paging::Link { field: "nextLink" },
        )
        .await;
    assert_eq!(pages.len(), 2, "the same-origin link is followed");
    let e = error.expect("foreign link refused");
    assert!(e.message.contains("does not point under"), "{e}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let client = client(Duration::from_secs(1), Duration::from_millis(300));
    let started = Instant::now();
    let e = call(&client, &format!("http://{addr}"), "/slow")
        .await
        .expect_err("timeout");
    assert_eq!(e.kind, FailureKind::Network, "{e}");
    assert!(e.message.contains("no answer within"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
}

#[tokio::test]
async fn denied_calls_name_the_permission_and_missing_recordings_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    exchange(
        dir.path(),
        "d",
        "/denied",
        json!({}),
        json!([{"status": 403, "json": {"error": "no"}}]),
    );
    let server = serve(dir.path()).await;
    let client = client(Duration::from_secs(1), Duration::from_secs(10));
    let e = call(&client, server.base_url(), "/denied")
        .await
        .expect_err("denied");
    assert_eq!(e.kind, FailureKind::AccessDenied);
    assert_eq!(e.permission, Some("things.read"));
    assert!(e.to_string().contains("needs things.read"), "{e}");
    let e = call(&client, server.base_url(), "/absent")
        .await
        .expect_err("missing");
    assert_eq!(e.kind, FailureKind::NotRecorded);
    let e = call(&client, server.base_url(), "/a/../b")
        .await
        .expect_err("bad path");
    assert_eq!(e.kind, FailureKind::Malformed);
}
