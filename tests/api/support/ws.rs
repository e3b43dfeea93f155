//! WebSocket clients for subscription tests: `Subscription` speaks
//! graphql-transport-ws from start to subscribe, `Socket` sends whatever a
//! test tells it to in either protocol.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

pub struct Subscription {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Subscription {
    /// Connects, authenticates with `connection_init` (a bearer token) or a
    /// cookie, and subscribes to `query`.
    pub async fn start(base_url: &str, auth: Auth<'_>, query: &str, variables: Value) -> Self {
        Self::start_with(
            base_url,
            auth,
            json!({ "query": query, "variables": variables }),
        )
        .await
    }

    /// Like `start`, with the whole `subscribe` payload, e.g. a persisted
    /// document's hash in `extensions` instead of a query.
    pub async fn start_with(base_url: &str, auth: Auth<'_>, payload: Value) -> Self {
        let url = format!("{}/graphql/ws", base_url.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let init = match auth {
            Auth::Bearer(token) => json!({ "authorization": format!("Bearer {token}") }),
            Auth::Cookie { cookie, origin } => {
                headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
                if let Some(origin) = origin {
                    headers.insert("origin", HeaderValue::from_str(origin).unwrap());
                }
                json!({})
            }
        };
        let (mut socket, _) = connect_async(request).await.expect("websocket connects");
        socket
            .send(Message::text(
                json!({ "type": "connection_init", "payload": init }).to_string(),
            ))
            .await
            .unwrap();
        let ack = next_json(&mut socket).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        socket
            .send(Message::text(
                json!({ "id": "1", "type": "subscribe", "payload": payload }).to_string(),
            ))
            .await
            .unwrap();
        // The protocol does not acknowledge a subscribe; give the server a
        // moment to start listening before the test makes changes.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        Self { socket }
    }

    /// The next message of the subscription (`next`, `error` or `complete`).
    pub async fn next(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(10), next_json(&mut self.socket))
            .await
            .expect("a subscription message within 10 s")
    }

    /// Reads until the server closes the socket, for at most `limit`; its
    /// close code (0 without a close frame) and reason. Messages before
    /// the close (a `complete`, an error) are skipped.
    pub async fn closed_within(&mut self, limit: Duration) -> (u16, String) {
        let read = async {
            loop {
                let message = next_json(&mut self.socket).await;
                if message["type"] == "closed" {
                    let code = message["code"].as_u64().map_or(0, |c| c as u16);
                    let reason = message["reason"].as_str().unwrap_or_default();
                    return (code, reason.to_owned());
                }
            }
        };
        tokio::time::timeout(limit, read)
            .await
            .unwrap_or_else(|_| panic!("the socket is still open after {limit:?}"))
    }

    /// Nothing arrives for a while.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(message) = tokio::time::timeout(wait, next_json(&mut self.socket)).await {
            panic!("expected no message, got {message}");
        }
    }
}

/// A bare connection: the test writes the protocol's messages itself.
pub struct Socket {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Socket {
    /// Opens `/graphql/ws` offering the subprotocol `protocol`.
    pub async fn connect(base_url: &str, protocol: &str) -> Self {
        let url = format!("{}/graphql/ws", base_url.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocol).unwrap(),
        );
        let (socket, response) = connect_async(request).await.expect("websocket connects");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            protocol,
            "the server speaks the offered protocol"
        );
        Self { socket }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("message sent");
    }

    /// `connection_init` with a bearer token.
    pub async fn init_with_token(&mut self, token: &str) {
        self.send(json!({
            "type": "connection_init",
            "payload": { "authorization": format!("Bearer {token}") },
        }))
        .await;
    }

    /// The next message, or `{"type": "closed", "code": …, "reason": …}`.
    pub async fn next(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(10), next_json(&mut self.socket))
            .await
            .expect("a message within 10 s")
    }

    /// How many ping frames arrive within `wait` (answered with pongs by
    /// the client library, as a browser does); any other message fails.
    pub async fn pings_within(&mut self, wait: Duration) -> usize {
        let mut pings = 0;
        let until = tokio::time::Instant::now() + wait;
        while let Ok(frame) = tokio::time::timeout_at(until, self.socket.next()).await {
            match frame {
                Some(Ok(Message::Ping(_))) => pings += 1,
                other => panic!("expected only pings, got {other:?}"),
            }
        }
        pings
    }

    /// Reads up to the close frame, skipping messages of the type `allowed`
    /// and failing on any other; returns the close code and reason.
    pub async fn closed(&mut self, allowed: &str) -> (u16, String) {
        loop {
            let message = self.next().await;
            match message["type"].as_str() {
                Some("closed") => {
                    let code = message["code"].as_u64().map_or(0, |c| c as u16);
                    let reason = message["reason"].as_str().unwrap_or_default().to_owned();
                    return (code, reason);
                }
                Some(kind) if kind == allowed => continue,
                _ => panic!("expected the socket to close, got {message}"),
            }
        }
    }
}

pub enum Auth<'a> {
    Bearer(&'a str),
    Cookie {
        cookie: &'a str,
        origin: Option<&'a str>,
    },
}

async fn next_json(socket: &mut WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>) -> Value {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "ping" {
                    socket
                        .send(Message::text(json!({ "type": "pong" }).to_string()))
                        .await
                        .unwrap();
                    continue;
                }
                return value;
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                return json!({ "type": "closed", "code": code, "reason": reason });
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return json!({ "type": "closed", "error": e.to_string() }),
            None => return json!({ "type": "closed" }),
        }
    }
}
