//! CORS: which origins and request headers browsers may use, and what
//! response headers their scripts may read.

use std::process::Command;

use reqwest::{Method, Response, header::HeaderMap};
use serde_json::json;

use crate::support::{TestApp, TestConfig, ops};

/// The harness's `APP_URL` origin.
const APP_ORIGIN: &str = "http://app.test";

async fn preflight(app: &TestApp, origin: &str, request_headers: &str) -> Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", request_headers)
        .send()
        .await
        .expect("preflight sent")
}

/// The comma-separated values of a header, lower-case.
fn listed(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

/// What a browser checks before sending the real request: the origin echoed
/// with credentials allowed, the method, and every requested header.
fn assert_preflight_allows(response: &Response, requested: &[&str]) {
    let headers = response.headers();
    assert!(
        response.status().is_success(),
        "preflight got {}",
        response.status()
    );
    assert_eq!(
        headers["access-control-allow-origin"], APP_ORIGIN,
        "{headers:?}"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert!(listed(headers, "access-control-allow-methods").contains(&"post".to_owned()));
    let allowed = listed(headers, "access-control-allow-headers");
    for name in requested {
        assert!(
            allowed.contains(&name.to_string()),
            "{name} is not in {allowed:?}"
        );
    }
}

#[tokio::test]
async fn a_preflight_from_the_app_allows_tracing_and_apollo_headers() {
    let app = TestApp::spawn().await;
    let requested = [
        "content-type",
        "traceparent",
        "sentry-trace",
        "apollographql-client-name",
    ];
    let response = preflight(&app, APP_ORIGIN, &requested.join(", ")).await;
    assert_preflight_allows(&response, &requested);

    let everything_by_default = [
        "authorization",
        "accept",
        "x-request-id",
        "tracestate",
        "baggage",
        "apollographql-client-version",
        "apollo-require-preflight",
        "x-apollo-operation-name",
    ];
    let response = preflight(&app, APP_ORIGIN, &everything_by_default.join(",")).await;
    assert_preflight_allows(&response, &everything_by_default);
}

#[tokio::test]
async fn a_header_is_allowed_once_cors_allowed_headers_names_it() {
    let plain = TestApp::spawn().await;
    let response = preflight(&plain, APP_ORIGIN, "content-type, x-tenant").await;
    let allowed = listed(response.headers(), "access-control-allow-headers");
    assert!(!allowed.contains(&"x-tenant".to_owned()), "{allowed:?}");

    let app = TestApp::spawn_with(
        TestConfig::default().var("CORS_ALLOWED_HEADERS", "X-Tenant, x-client-build"),
    )
    .await;
    let response = preflight(&app, APP_ORIGIN, "content-type, x-tenant, traceparent").await;
    assert_preflight_allows(&response, &["content-type", "x-tenant", "traceparent"]);

    let sent = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("origin", APP_ORIGIN)
        .header("x-tenant", "acme")
        .json(&json!({ "query": ops::API_VERSION }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert_eq!(sent.headers()["access-control-allow-origin"], APP_ORIGIN);
}

#[test]
fn a_bad_header_name_stops_start_up_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_groundwork"))
        .arg("serve")
        .env("CORS_ALLOWED_HEADERS", "x-ok, not a header")
        .env("DATABASE_URL", "sqlite::memory:")
        .env("BIND_ADDR", "127.0.0.1:0")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run groundwork");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("CORS_ALLOWED_HEADERS"), "{stderr}");
    assert!(stderr.contains("not a header"), "{stderr}");
}

#[tokio::test]
async fn a_foreign_origin_gets_no_allow_origin() {
    let app = TestApp::spawn().await;
    let response = preflight(&app, "https://evil.example", "content-type").await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        response.headers()
    );

    let sent = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("origin", "https://evil.example")
        .json(&json!({ "query": ops::API_VERSION }))
        .send()
        .await
        .unwrap();
    // Without an allowed origin the browser hides the response from the
    // page, whatever other CORS headers say.
    assert!(sent.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_post_from_the_app_exposes_the_request_id() {
    let app = TestApp::spawn().await;
    let sent = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("origin", APP_ORIGIN)
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .json(&json!({ "query": ops::API_VERSION }))
        .send()
        .await
        .unwrap();
    let headers = sent.headers().clone();
    assert_eq!(sent.status(), 200);
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert!(
        listed(&headers, "access-control-expose-headers").contains(&"x-request-id".to_owned()),
        "{headers:?}"
    );
    assert!(!headers["x-request-id"].is_empty());
}
