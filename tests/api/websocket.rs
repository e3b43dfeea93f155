//! How `/graphql/ws` authenticates and ends connections, in both protocols.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{
    TestApp, TestConfig, create_project, ops,
    ws::{Auth, Socket, Subscription},
};

const MODERN: &str = "graphql-transport-ws";
const LEGACY: &str = "graphql-ws";

/// A server that closes uninitialised sockets after one second.
async fn spawn_with_short_init_timeout() -> TestApp {
    TestApp::spawn_with(TestConfig::default().var("WS_CONNECTION_INIT_TIMEOUT", "1s")).await
}

/// `connection_init` with `token`, answered by a close with 4403 in
/// graphql-transport-ws, and by `connection_error` then 4403 in graphql-ws.
async fn assert_refused(app: &TestApp, token: &str) {
    let mut socket = Socket::connect(&app.base_url, MODERN).await;
    socket.init_with_token(token).await;
    let (code, reason) = socket.closed("none").await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("session is not valid"), "{reason}");

    let mut legacy = Socket::connect(&app.base_url, LEGACY).await;
    legacy.init_with_token(token).await;
    let error = legacy.next().await;
    assert_eq!(error["type"], "connection_error", "{error}");
    assert_eq!(legacy.closed("none").await.0, 4403);
}

#[tokio::test]
async fn a_bad_token_in_connection_init_closes_with_4403() {
    let app = TestApp::spawn().await;
    assert_refused(&app, "not-a-session-token").await;

    // A token that was good once: its session ended at sign-out.
    let user = app.sign_up("gone@example.com", "Gone").await;
    user.client.gql(ops::SIGN_OUT, json!({})).await;
    assert_refused(&app, &user.token).await;

    let mut socket = Socket::connect(&app.base_url, MODERN).await;
    socket
        .send(json!({ "type": "connection_init", "payload": { "authorization": 42 } }))
        .await;
    let (code, reason) = socket.closed("none").await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("Bearer <token>"), "{reason}");
}

#[tokio::test]
async fn an_expired_session_closes_with_4403() {
    let app =
        TestApp::spawn_with(TestConfig::default().var("SESSION_ABSOLUTE_TIMEOUT", "1s")).await;
    let user = app.sign_up("brief@example.com", "Brief").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_refused(&app, &user.token).await;
}

#[tokio::test]
async fn a_client_that_never_initialises_is_closed_with_4408() {
    let app = spawn_with_short_init_timeout().await;
    for protocol in [MODERN, LEGACY] {
        let started = Instant::now();
        let mut socket = Socket::connect(&app.base_url, protocol).await;
        // graphql-ws clients learn of errors from connection_error.
        let (code, reason) = socket.closed("connection_error").await;
        let waited = started.elapsed();
        assert_eq!(code, 4408, "{protocol}: {reason}");
        assert_eq!(reason, "Connection initialisation timeout");
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
            "{protocol}: closed after {waited:?}"
        );
    }
}

#[tokio::test]
async fn a_subscribe_before_the_ack_closes_with_4401() {
    let app = TestApp::spawn().await;
    let mut socket = Socket::connect(&app.base_url, MODERN).await;
    socket
        .send(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { x }" } }),
        )
        .await;
    assert_eq!(socket.closed("none").await.0, 4401);

    let mut socket = Socket::connect(&app.base_url, MODERN).await;
    socket.send(json!({ "type": "no-such-message" })).await;
    assert_eq!(socket.closed("none").await.0, 4400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_token_still_subscribes_past_the_init_timeout() {
    let app = spawn_with_short_init_timeout().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Live").await;

    // `start` waits a second after subscribing, past the init timeout.
    let mut events = Subscription::start(
        &app.base_url,
        Auth::Bearer(&owner.token),
        ops::PROJECT_EVENTS,
        json!({ "org": org }),
    )
    .await;
    let mut legacy = Socket::connect(&app.base_url, LEGACY).await;
    legacy.init_with_token(&owner.token).await;
    assert_eq!(legacy.next().await["type"], "connection_ack");
    legacy
        .send(json!({ "id": "1", "type": "start", "payload": { "query": ops::PROJECT_EVENTS, "variables": { "org": org } } }))
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;

    create_project(&owner, &org, "Streamed").await;
    let next = events.next().await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(
        next["payload"]["data"]["projectEvents"]["project"]["name"],
        "Streamed"
    );
    let data = legacy.next().await;
    assert_eq!(data["type"], "data", "{data}");
    assert_eq!(data["payload"]["data"]["projectEvents"]["kind"], "CREATED");
}

#[tokio::test]
async fn an_unknown_subprotocol_is_refused_before_the_upgrade() {
    let app = TestApp::spawn().await;
    let response = reqwest::Client::new()
        .get(app.url("/graphql/ws"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", "mqtt")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("graphql-transport-ws")
    );
}

#[tokio::test]
async fn a_quiet_socket_is_pinged_so_balancers_keep_it_open() {
    let app = TestApp::spawn_with(TestConfig::default().var("WS_PING_INTERVAL", "200ms")).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let mut socket = Socket::connect(&app.base_url, MODERN).await;
    socket.init_with_token(&owner.token).await;
    assert_eq!(socket.next().await["type"], "connection_ack");
    // Nothing else happens on the socket: only the pings come.
    let pings = socket.pings_within(Duration::from_millis(1100)).await;
    assert!((3..=6).contains(&pings), "{pings} pings in 1.1 s");
}
