//! Observability: the Prometheus metrics on /metrics, and spans exported
//! over OTLP to a fake collector.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    TestApp, TestConfig, TestDatabase,
    binary::Binary,
    fake_otlp::{FakeCollector, ReceivedSpan},
    ops,
    prometheus::Scrape,
    ws::{Auth, Subscription},
};

const REQUESTS: &str = "groundwork_graphql_requests_total";
const DURATION: &str = "groundwork_graphql_request_duration_seconds";
const STATEMENTS: &str = "groundwork_graphql_request_sql_statements";
const SQL_TOTAL: &str = "groundwork_sql_statements_total";

#[tokio::test]
async fn graphql_operations_are_counted_by_name_and_outcome() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            // The mail worker's and the event reader's polling would add
            // statements between readings.
            .var("MAIL_POLL_INTERVAL", "1h")
            .var("LIVE_EVENTS_POLL_INTERVAL", "1h")
            .var("METRICS_MAX_OPERATION_NAMES", "3"),
    )
    .await;
    let viewer = app.sign_up("metrics@example.com", "Metrics").await;
    let anonymous = app.client();

    let before = Scrape::of(&app.base_url).await.get(SQL_TOTAL, &[]);
    viewer.client.gql(ops::DASHBOARD, json!({})).await.data();
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
    assert_eq!(
        count("other", "GRAPHQL_VALIDATION_FAILED"),
        Some(1.0),
        "{}",
        scrape.text
    );
    assert_eq!(count("other", "OK"), Some(1.0), "{}", scrape.text);
    assert_eq!(count("Invalid", "GRAPHQL_VALIDATION_FAILED"), None);

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
async fn unusual_operation_names_and_unparsable_documents_are_labeled() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let long = format!("query {} {{ apiVersion }}", "L".repeat(65));
    client.gql(&long, json!({})).await.data();
    client.gql(ops::API_VERSION, json!({})).await.data();
    client.gql("query Broken {", json!({})).await;

    let scrape = Scrape::of(&app.base_url).await;
    let count = |operation: &str, code: &str| {
        scrape.value(REQUESTS, &[("operation", operation), ("code", code)])
    };
    assert_eq!(count("other", "OK"), Some(1.0), "{}", scrape.text);
    assert_eq!(count("anonymous", "OK"), Some(1.0));
    // A document that does not parse names no operation the server can trust.
    assert_eq!(
        count("anonymous", "GRAPHQL_PARSE_FAILED"),
        Some(1.0),
        "{}",
        scrape.text
    );
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

    // A query sent over the socket is a request, not a subscription.
    let mut query = Subscription::start(
        &app.base_url,
        Auth::Bearer(&owner.token),
        "query OverSocket { apiVersion }",
        json!({}),
    )
    .await;
    assert_eq!(query.next().await["type"], "next");
    let scrape = Scrape::of(&app.base_url).await;
    let over_socket = [("operation", "OverSocket"), ("code", "OK")];
    assert_eq!(scrape.value(REQUESTS, &over_socket), Some(1.0));
    assert_eq!(gauges(&scrape), (1.0, 0.0));
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

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_continues_the_callers_trace_down_to_its_sql_statements() {
    let collector = FakeCollector::start().await;
    let database = TestDatabase::create().await;
    let server = Binary::start(&[
        ("DATABASE_URL", database.url.clone()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.clone()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".into()),
        ("OTEL_SERVICE_NAME", "groundwork-under-test".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
    ]);

    let body: Value = reqwest::Client::new()
        .post(format!("http://{}/graphql", server.addr))
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-01"))
        .json(&json!({
            "query": "mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token } }",
            "variables": { "input": {
                "email": "traced@example.com", "password": "correct horse battery", "name": "Traced"
            } },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");

    let spans = collector
        .wait_for(Duration::from_secs(10), |spans| {
            named(spans, "POST /graphql").is_some()
                && named(spans, "mutation SignUp").is_some()
                && spans.iter().any(|s| s.name.starts_with("sea_orm."))
        })
        .await;
    let request = named(&spans, "POST /graphql").expect("the request's span");
    assert_eq!(request.trace_id, TRACE_ID);
    assert_eq!(request.parent_span_id, CALLER_SPAN_ID);
    assert_eq!(request.service, "groundwork-under-test");
    assert_eq!(request.content_type, "application/json");

    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let operation =
        named(&spans, "mutation SignUp").unwrap_or_else(|| panic!("no operation span: {names:?}"));
    assert_eq!(operation.trace_id, TRACE_ID);
    assert_eq!(operation.parent_span_id, request.span_id);
    assert_eq!(operation.attributes["graphql.operation.name"], "SignUp");
    assert_eq!(operation.attributes["graphql.operation.type"], "mutation");

    let statements: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name.starts_with("sea_orm."))
        .collect();
    assert!(statements.iter().all(|s| s.trace_id == TRACE_ID));
    let inserts = statements
        .iter()
        .filter(|s| s.attributes.get("db.operation").map(String::as_str) == Some("INSERT"))
        .count();
    assert!(inserts >= 2, "the user, the session: {statements:#?}");
    // Every statement hangs under the operation (directly or through its
    // transaction), none under the caller's span or a trace of its own.
    let ids: Vec<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    assert!(
        statements
            .iter()
            .all(|s| ids.contains(&s.parent_span_id.as_str())),
        "{spans:#?}"
    );

    // Health checks and the work of background jobs make no traces; the
    // shutdown sends whatever was still queued.
    let ready = reqwest::get(format!("http://{}/readyz", server.addr))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let logs = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    let strays: Vec<ReceivedSpan> = collector
        .spans()
        .into_iter()
        .filter(|s| s.trace_id != TRACE_ID)
        .collect();
    assert!(strays.is_empty(), "spans outside the request: {strays:#?}");
    let needle = format!("\"trace_id\":\"{TRACE_ID}\"");
    assert!(
        logs.iter().any(|l| l.contains(&needle)),
        "no log line with the trace id: {logs:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_still_queued_are_sent_when_the_server_stops() {
    let collector = FakeCollector::start().await;
    let database = TestDatabase::create().await;
    // A batch delay far beyond the test: only the shutdown can send them.
    let server = Binary::start(&[
        ("DATABASE_URL", database.url.clone()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.clone()),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000".into()),
    ]);
    let body: Value = reqwest::Client::new()
        .post(format!("http://{}/graphql", server.addr))
        .json(&json!({ "query": ops::API_VERSION }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    assert!(collector.spans().is_empty());

    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    let spans = collector.spans();
    let request = named(&spans, "POST /graphql").expect("the request's span");
    assert_eq!(request.content_type, "application/x-protobuf");
    assert_eq!(request.service, "groundwork");
    assert_eq!(request.parent_span_id, "", "a trace of its own");
    let operation = named(&spans, "query").expect("the anonymous query's span");
    assert_eq!(operation.trace_id, request.trace_id);
    assert_eq!(operation.parent_span_id, request.span_id);
}

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|s| s.name == name)
}
