//! Connections nobody closes: half-sent request heads, idle keep-alive
//! connections, bodies sent a byte at a time, WebSockets that never send
//! `connection_init`, requests that wait on a locked database. Each is
//! closed or answered within its configured deadline.

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::support::{TestApp, TestConfig, database::is_postgres, http_raw::RawConnection, ops};

/// Deadlines of a second, so the tests take seconds.
async fn spawn_with_short_deadlines() -> TestApp {
    TestApp::spawn_with(
        TestConfig::default()
            .var("HTTP_HEADER_TIMEOUT", "1s")
            .var("HTTP_BODY_TIMEOUT", "1s")
            .var("WS_CONNECTION_INIT_TIMEOUT", "1s"),
    )
    .await
}

/// Closed by the server within the deadline and some slack, but not at once.
fn assert_closed_in_time(closed: Option<(String, Duration)>, what: &str) -> String {
    let (received, after) = closed.unwrap_or_else(|| panic!("{what}: still open after 5 s"));
    assert!(
        after >= Duration::from_millis(800) && after < Duration::from_secs(3),
        "{what}: closed after {after:?}"
    );
    received
}

#[tokio::test]
async fn half_sent_request_heads_are_closed() {
    let app = spawn_with_short_deadlines().await;
    let mut connections = Vec::new();
    for i in 0..10 {
        let mut connection = RawConnection::open(app.addr).await;
        // Half a head, or nothing at all.
        if i % 2 == 0 {
            assert!(
                connection
                    .send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                    .await
            );
        }
        connections.push(connection);
    }
    let closes = connections
        .iter_mut()
        .map(|c| c.closed_within(Duration::from_secs(5)));
    for closed in futures_util::future::join_all(closes).await {
        assert_closed_in_time(closed, "a half-sent head");
    }
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let app = spawn_with_short_deadlines().await;
    let mut connection = RawConnection::open(app.addr).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    assert!(connection.send(request).await);
    assert!(connection.response().await.starts_with("HTTP/1.1 200"));
    // Kept alive for the next request meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(connection.send(request).await);
    assert!(connection.response().await.starts_with("HTTP/1.1 200"));
    let idle_from = Instant::now();
    connection
        .closed_within(Duration::from_secs(5))
        .await
        .expect("an idle connection is closed");
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(800) && idle < Duration::from_secs(3),
        "closed after {idle:?} idle"
    );
}

#[tokio::test]
async fn a_body_sent_slowly_is_cut_off() {
    let app = spawn_with_short_deadlines().await;
    let mut connection = RawConnection::open(app.addr).await;
    let head = "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    assert!(connection.send(head.as_bytes()).await);
    // A byte every 200 ms, until the server answers and closes.
    let started = Instant::now();
    let received = loop {
        let _ = connection.send(b" ").await;
        if let Some((received, _)) = connection.closed_within(Duration::from_millis(200)).await {
            break received;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still reading the body"
        );
    };
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "cut off after {took:?}"
    );
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(received.contains("\"code\":\"BAD_REQUEST\""), "{received}");

    // A body that arrives in time is answered as usual.
    let res = app.client().gql(ops::API_VERSION, json!({})).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}

#[tokio::test]
async fn websockets_that_never_initialise_are_closed() {
    let app = spawn_with_short_deadlines().await;
    let upgrade = "GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n";
    let mut sockets = Vec::new();
    for _ in 0..20 {
        let mut socket = RawConnection::open(app.addr).await;
        assert!(socket.send(upgrade.as_bytes()).await);
        sockets.push(socket);
    }
    let closes = sockets
        .iter_mut()
        .map(|s| s.closed_within(Duration::from_secs(5)));
    for closed in futures_util::future::join_all(closes).await {
        let received = assert_closed_in_time(closed, "an uninitialised WebSocket");
        assert!(received.starts_with("HTTP/1.1 101"), "{received}");
        // A close frame with 4408 (0x1138) before the connection ends.
        assert!(received.as_bytes().windows(2).any(|w| w == [0x11, 0x38]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_is_answered_503() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("HTTP_REQUEST_TIMEOUT", "2s")
            .var("GRAPHQL_TIMEOUT", "30s"),
    )
    .await;
    // A writer holds the database beside the server (on SQLite, BEGIN
    // IMMEDIATE takes the write lock); sign-up waits for it.
    let beside = sea_orm::Database::connect(app.database_url())
        .await
        .unwrap();
    let lock = groundwork::db::begin(&beside).await.unwrap();
    if is_postgres() {
        lock.execute_unprepared("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
    }
    let started = Instant::now();
    let res = app
        .client()
        .gql(
            ops::SIGN_UP,
            json!({ "input": { "email": "late@example.com", "password": crate::support::PASSWORD, "name": "Late" } }),
        )
        .await;
    let took = started.elapsed();
    drop(lock);
    assert_eq!(res.status, 503, "{:?}", res.body);
    res.assert_code("INTERNAL");
    assert!(res.first_error()["extensions"]["errorId"].is_string());
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "answered after {took:?}"
    );
}

/// A client that asks for much and never reads fills the socket's buffers,
/// so the server's writes wait; they must not wait for ever (a subscriber
/// that stopped reading would otherwise hold its socket, and its session
/// could not end it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_that_never_reads_is_dropped() {
    let app = TestApp::spawn_with(TestConfig::default().var("HTTP_WRITE_TIMEOUT", "1s")).await;
    let user = app.sign_up("hoarder@example.com", "Hoarder").await;
    let upgrade = "GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n";
    let mut socket = RawConnection::open_with_small_buffer(app.addr, 4096).await;
    assert!(socket.send(upgrade.as_bytes()).await);
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", user.token) } });
    assert!(socket.send(&ws_frame(&init.to_string())).await);
    // Each answer is tens of kilobytes; together far more than the buffers.
    let mut flood = Vec::new();
    for id in 0..300 {
        let query = "{ __schema { types { name description fields { name description args { name } type { name } } } } }";
        let subscribe =
            json!({ "id": id.to_string(), "type": "subscribe", "payload": { "query": query } });
        flood.extend(ws_frame(&subscribe.to_string()));
    }
    let sent = tokio::time::timeout(Duration::from_secs(5), socket.send(&flood)).await;
    assert_eq!(sent, Ok(true), "the server takes the requests");
    // Past the write deadline the server drops the connection: what it had
    // written already arrives, then the end, well before it would have
    // finished answering.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (received, _) = socket
        .closed_within(Duration::from_secs(10))
        .await
        .expect("the connection is closed");
    assert!(
        received.len() < 300 * 20_000,
        "read {} bytes",
        received.len()
    );
}

/// A client's text frame: masked, with a zero mask that leaves the payload as it is.
fn ws_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// A client that asks for large responses and never reads them fills the
/// socket's buffers; hyper would wait on the write for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_client_that_never_reads_is_dropped() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("HTTP_WRITE_TIMEOUT", "1s")
            .var("HTTP_HEADER_TIMEOUT", "60s"),
    )
    .await;
    let page = reqwest::get(app.url("/graphiql"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let script = page
        .split('"')
        .find(|s| s.starts_with("/graphiql/assets/") && s.ends_with("/graphiql.min.js"))
        .expect("the page loads GraphiQL's script")
        .to_owned();
    // Twenty pipelined requests for a megabyte each.
    let request = format!("GET {script} HTTP/1.1\r\nHost: x\r\n\r\n").repeat(20);
    let mut socket = RawConnection::open_with_small_buffer(app.addr, 4096).await;
    assert!(socket.send(request.as_bytes()).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (received, _) = socket
        .closed_within(Duration::from_secs(10))
        .await
        .expect("the connection is closed");
    assert!(received.len() < 20_000_000, "read {} bytes", received.len());
}
