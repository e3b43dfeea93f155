//! The server's foundation: endpoints, limits, shutdown, configuration.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use axum::{Router, routing::get};
use serde_json::{Value, json};

use crate::support::{GqlResponse, TestApp, TestConfig, ops};

#[tokio::test]
async fn answers_a_query_on_a_fresh_database() {
    let app = TestApp::spawn().await;
    let res = app.client().gql(ops::API_VERSION, json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.data()["apiVersion"], env!("CARGO_PKG_VERSION"));
    assert!(res.headers.contains_key("x-request-id"));
    app.stop().await;
}

#[tokio::test]
async fn queries_work_over_get() {
    let app = TestApp::spawn().await;
    let res = GqlResponse::read(app.client().get("/graphql?query=%7BapiVersion%7D").await).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.data()["apiVersion"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn mutations_over_get_are_refused() {
    let app = TestApp::spawn().await;
    for query in [
        "mutation%20%7B%20signOut%20%7D",
        // The operation picked by name must be checked, not the first one.
        "query%20A%20%7BapiVersion%7D%20mutation%20B%20%7BsignOut%7D&operationName=B",
    ] {
        let res = app.client().get(&format!("/graphql?query={query}")).await;
        assert_eq!(res.status(), 405, "{query}");
        assert_eq!(res.headers()["allow"], "POST");
        let body: Value = res.json().await.unwrap();
        assert!(body["data"].is_null());
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("POST")
        );
    }
}

#[tokio::test]
async fn non_json_posts_are_refused() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let res = http
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body(r#"{"query":"{ apiVersion }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415, "{content_type}");
    }
    let res = http
        .post(app.url("/graphql"))
        .body(r#"{"query":"{ apiVersion }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415, "no content type");

    let res = http
        .post(app.url("/graphql"))
        .header("content-type", "application/json; charset=utf-8")
        .header("accept", "application/graphql-response+json")
        .body(r#"{"query":"{ apiVersion }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/graphql-response+json"
    );
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = TestApp::spawn().await;
    let res = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn depth_and_complexity_limits_reject_with_a_clear_error() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("GRAPHQL_MAX_DEPTH", "3")
            .var("GRAPHQL_MAX_COMPLEXITY", "4"),
    )
    .await;
    let client = app.client();

    let deep = client
        .gql("{ __schema { types { fields { name } } } }", json!({}))
        .await;
    deep.assert_code("QUERY_TOO_COMPLEX");
    let message = deep.first_error()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("depth is 4; at most 3"), "{message}");
    assert!(deep.body["data"].is_null());

    let wide = client
        .gql(
            "{ a: apiVersion b: apiVersion c: apiVersion d: apiVersion e: apiVersion }",
            json!({}),
        )
        .await;
    wide.assert_code("QUERY_TOO_COMPLEX");
    let message = wide.first_error()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("costs 5"), "{message}");

    let fine = client
        .gql("{ a: apiVersion b: apiVersion }", json!({}))
        .await;
    fine.data();
}

#[tokio::test]
async fn batches_are_capped() {
    let app = TestApp::spawn_with(TestConfig::default().var("GRAPHQL_MAX_BATCH", "2")).await;
    let client = app.client();
    let op = json!({ "query": ops::API_VERSION });
    let ok = client.post_json(&json!([op, op])).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body.as_array().unwrap().len(), 2);
    let too_many = client.post_json(&json!([op, op, op])).await;
    assert_eq!(too_many.status, 400);
    assert!(
        too_many.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 2")
    );

    let off = TestApp::spawn_with(TestConfig::default().var("GRAPHQL_MAX_BATCH", "0")).await;
    let refused = off.client().post_json(&json!([op])).await;
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = TestApp::spawn_with(TestConfig::default().var("MAX_BODY_BYTES", "1024")).await;
    let padding = "x".repeat(2048);
    let res = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"query":"{{ apiVersion }}","extensions":{{"p":"{padding}"}}}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn production_hides_the_schema_from_introspection() {
    let app = production().await;
    let res = app
        .client()
        .gql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(res.body["data"]["__schema"].is_null(), "{}", res.body);
}

#[tokio::test]
async fn production_suggests_no_field_names() {
    let app = production().await;
    let res = app.client().gql("{ apiVersio }", json!({})).await;
    let message = res.first_error()["message"].as_str().unwrap().to_owned();
    assert!(!message.contains("Did you mean"), "{message}");
}

#[tokio::test]
async fn production_serves_no_graphiql() {
    let app = production().await;
    assert_eq!(app.client().get("/graphiql").await.status(), 404);
}

#[tokio::test]
async fn development_allows_introspection_and_serves_graphiql() {
    let dev = TestApp::spawn().await;
    let client = dev.client();
    client
        .gql("{ __schema { queryType { name } } }", json!({}))
        .await
        .data();
    let page = client.get("/graphiql").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("/graphql/ws"));
}

async fn production() -> TestApp {
    TestApp::spawn_with(
        TestConfig::default()
            .var("APP_ENV", "production")
            .var("PUBLIC_URL", "https://api.example.com"),
    )
    .await
}

#[tokio::test]
async fn graphiql_can_be_turned_on_in_production() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("APP_ENV", "production")
            .var("GRAPHIQL", "on")
            .var("GRAPHQL_INTROSPECTION", "on"),
    )
    .await;
    assert_eq!(app.client().get("/graphiql").await.status(), 200);
}

#[tokio::test]
async fn a_running_server_is_healthy_and_ready() {
    let app = TestApp::spawn().await;
    let client = app.client();
    assert_eq!(client.get("/healthz").await.status(), 200);
    assert_eq!(client.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn losing_the_database_makes_the_server_unready_not_dead() {
    let app = TestApp::spawn().await;
    let client = app.client();
    app.db.close_by_ref().await.unwrap();
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(client.get("/healthz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_finish_during_graceful_shutdown() {
    let slow = Router::new().route(
        "/test/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "finished"
        }),
    );
    let mut app = TestApp::spawn_with(TestConfig::default().routes(slow)).await;
    let url = app.url("/test/slow");
    let in_flight = tokio::spawn(async move { reqwest::get(url).await?.text().await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.begin_stop();
    let server = app.take_task();

    let body = in_flight
        .await
        .unwrap()
        .expect("the request in flight completes");
    assert_eq!(body, "finished");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once the request is done")
        .unwrap();
    assert!(reqwest::get(app.url("/healthz")).await.is_err());
}

#[test]
fn schema_graphql_matches_the_served_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let printed = Command::new(env!("CARGO_BIN_EXE_groundwork"))
        .arg("schema")
        .output()
        .expect("run groundwork schema");
    assert!(printed.status.success());
    let printed = String::from_utf8(printed.stdout).unwrap();
    assert_eq!(printed, groundwork::graphql::sdl());
    assert!(
        on_disk == printed,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`"
    );
}

#[test]
fn a_malformed_database_url_stops_start_up_with_status_2() {
    for url in ["mysql://localhost/app", "postgres://", "not-a-url"] {
        let out = Command::new(env!("CARGO_BIN_EXE_groundwork"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("BIND_ADDR", "127.0.0.1:0")
            .current_dir(std::env::temp_dir())
            .output()
            .expect("run groundwork");
        assert_eq!(out.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    }
}

/// The README's command, as a user runs it: a bare `groundwork` in an empty
/// folder makes its SQLite file under ./data, migrates, serves, and stops
/// cleanly on SIGTERM.
#[test]
fn the_binary_serves_on_the_embedded_default_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("gw-bin-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_groundwork"))
        .current_dir(&dir)
        .env_remove("DATABASE_URL")
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start groundwork");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the server logs its address").unwrap();
        let entry: Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["message"] == "listening" {
            break entry["addr"].as_str().unwrap().to_owned();
        }
    };
    assert!(dir.join("data/groundwork.db").exists());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let body: Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("http://{addr}/graphql"))
            .json(&json!({ "query": ops::API_VERSION }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(body["data"]["apiVersion"], env!("CARGO_PKG_VERSION"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    std::fs::remove_dir_all(&dir).ok();
}
