//! Observability: the Prometheus metrics on /metrics.

use std::time::Duration;

use serde_json::json;

use crate::{
    loading::DASHBOARD,
    support::{
        TestApp, TestConfig,
        prometheus::Scrape,
        ws::{Auth, Subscription},
    },
};

const REQUESTS: &str = "groundwork_graphql_requests_total";
const DURATION: &str = "groundwork_graphql_request_duration_seconds";
const STATEMENTS: &str = "groundwork_graphql_request_sql_statements";
const SQL_TOTAL: &str = "groundwork_sql_statements_total";

#[tokio::test]
async fn graphql_operations_are_counted_by_name_and_outcome() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            // The mail worker's polling would add statements between readings.
            .var("MAIL_POLL_INTERVAL", "1h")
            .var("METRICS_MAX_OPERATION_NAMES", "3"),
    )
    .await;
    let viewer = app.sign_up("metrics@example.com", "Metrics").await;
    let anonymous = app.client();

    let before = Scrape::of(&app.base_url).await.get(SQL_TOTAL, &[]);
    viewer.client.gql(DASHBOARD, json!({})).await.data();
    let after_dashboard = Scrape::of(&app.base_url).await.get(SQL_TOTAL, &[]);
    viewer
        .client
        .gql("query Me { viewer { id } }", json!({}))
        .await
        .data();
    let after_me = Scrape::of(&app.base_url).await.get(SQL_TOTAL, &[]);
    anonymous
        .gql(
            "mutation CreateProject($input: CreateProjectInput!) { createProject(input: $input) { id } }",
            json!({ "input": { "organizationId": "x", "name": "Nope" } }),
        )
        .await
        .assert_code("UNAUTHENTICATED");
    let invalid = anonymous
        .gql("query Invalid { noSuchField }", json!({}))
        .await;
    assert!(!invalid.errors().is_empty());
    anonymous
        .gql("query OneNameTooMany { apiVersion }", json!({}))
        .await
        .data();

    let scrape = Scrape::of(&app.base_url).await;
    let count = |operation: &str, code: &str| {
        scrape.value(REQUESTS, &[("operation", operation), ("code", code)])
    };
    assert_eq!(count("anonymous", "OK"), Some(1.0), "the sign-up");
    assert_eq!(count("Dashboard", "OK"), Some(1.0));
    assert_eq!(count("Me", "OK"), Some(1.0));
    assert_eq!(count("CreateProject", "UNAUTHENTICATED"), Some(1.0));
    // Names past METRICS_MAX_OPERATION_NAMES share one label.
    assert_eq!(count("other", "NO_CODE"), Some(1.0), "{}", scrape.text);
    assert_eq!(count("other", "OK"), Some(1.0), "{}", scrape.text);
    assert_eq!(count("Invalid", "NO_CODE"), None);

    let dashboard = [("operation", "Dashboard"), ("code", "OK")];
    assert_eq!(scrape.get(&format!("{DURATION}_count"), &dashboard), 1.0);
    assert!(scrape.get(&format!("{DURATION}_sum"), &dashboard) > 0.0);
    let le_10s = [("operation", "Dashboard"), ("code", "OK"), ("le", "10")];
    assert_eq!(scrape.get(&format!("{DURATION}_bucket"), &le_10s), 1.0);

    // Statements per operation include those of batched loads, which run
    // in tasks of their own: what an operation does not count is only the
    // session lookup before it, the same for every signed-in request.
    let of =
        |operation: &str| scrape.get(&format!("{STATEMENTS}_sum"), &[("operation", operation)]);
    assert_eq!(
        scrape.get(
            &format!("{STATEMENTS}_count"),
            &[("operation", "Dashboard")]
        ),
        1.0
    );
    let (dashboard, me) = (of("Dashboard"), of("Me"));
    assert!(dashboard > me, "Dashboard {dashboard}, Me {me}");
    assert_eq!(
        (after_dashboard - before) - dashboard,
        (after_me - after_dashboard) - me,
        "statements outside the operation"
    );

    // The scrape itself is the one request in flight.
    assert_eq!(scrape.get("groundwork_http_requests_in_flight", &[]), 1.0);
    let ok = scrape.get("groundwork_http_responses_total", &[("class", "2xx")]);
    assert!(ok >= 9.0, "{ok} 2xx responses");

    let connections = scrape.get("groundwork_db_pool_connections", &[]);
    let idle = scrape.get("groundwork_db_pool_idle_connections", &[]);
    let in_use = scrape.get("groundwork_db_pool_in_use_connections", &[]);
    let max = scrape.get("groundwork_db_pool_max_connections", &[]);
    assert!(connections >= 1.0 && connections <= max, "{}", scrape.text);
    assert_eq!(idle + in_use, connections);
}

#[tokio::test]
async fn unusual_operation_names_and_errors_without_a_code_are_labeled() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let long = format!("query {} {{ apiVersion }}", "L".repeat(65));
    client.gql(&long, json!({})).await.data();
    client.gql("{ apiVersion }", json!({})).await.data();
    client.gql("query Broken {", json!({})).await;

    let scrape = Scrape::of(&app.base_url).await;
    let count = |operation: &str, code: &str| {
        scrape.value(REQUESTS, &[("operation", operation), ("code", code)])
    };
    assert_eq!(count("other", "OK"), Some(1.0), "{}", scrape.text);
    assert_eq!(count("anonymous", "OK"), Some(1.0));
    // A document that does not parse names no operation the server can trust.
    assert_eq!(count("anonymous", "NO_CODE"), Some(1.0), "{}", scrape.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_and_subscriptions_show_while_open() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("live@example.com", "Live").await;
    let org = app.create_org(&owner, "Live").await;
    let gauges = |scrape: &Scrape| {
        (
            scrape.get("groundwork_websocket_connections", &[]),
            scrape.get("groundwork_graphql_subscriptions_active", &[]),
        )
    };

    let events = Subscription::start(
        &app.base_url,
        Auth::Bearer(&owner.token),
        "subscription Live($org: ID!) { projectEvents(organizationId: $org) { kind } }",
        json!({ "org": org }),
    )
    .await;
    let open = wait_for_gauges(&app, gauges, (1.0, 1.0)).await;
    assert_eq!(open, (1.0, 1.0));

    drop(events);
    let closed = wait_for_gauges(&app, gauges, (0.0, 0.0)).await;
    assert_eq!(closed, (0.0, 0.0));
    // Subscription events are not requests.
    let scrape = Scrape::of(&app.base_url).await;
    assert_eq!(scrape.value(REQUESTS, &[("operation", "Live")]), None);
}

/// Scrapes until `read` gives `want`, for up to ten seconds; returns the
/// last reading.
async fn wait_for_gauges(
    app: &TestApp,
    read: impl Fn(&Scrape) -> (f64, f64),
    want: (f64, f64),
) -> (f64, f64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = read(&Scrape::of(&app.base_url).await);
        if got == want || tokio::time::Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
