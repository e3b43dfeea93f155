//! Subscriptions over WebSocket at `/graphql/ws`.
//!
//! async-graphql runs both protocols (graphql-transport-ws and the older
//! graphql-ws). Around it this module authenticates `connection_init` and
//! ends connections the way graphql-transport-ws asks. async-graphql 7.2
//! has no initialisation timeout, and when `on_connection_init` fails it
//! closes with 1002 (graphql-transport-ws) or sends `connection_error` and
//! drops the socket without a close frame (graphql-ws); so instead of
//! `GraphQLWebSocket::serve` a short loop of our own drives its message
//! stream, adds the timeout (4408), and turns a refused init into 4403.
//!
//! The loop also closes the socket when the session it was opened with ends
//! (4403, see `auth::live`), and sends a ping frame every `WS_PING_INTERVAL`:
//! a load balancer closes a connection that carries nothing for a minute or
//! so, and a subscription can be quiet for hours. A client that stops
//! reading is dropped by the connection's write deadline
//! (`serve::WriteDeadline`).

use std::{
    pin::pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt, future};

use super::request_meta;
use crate::{
    AppState, Core,
    auth::{
        live::{Ended, SessionWatch},
        session,
    },
    config::origin_of,
    error::AppError,
    graphql::{AppSchema, context::RequestContext, loaders::Loaders},
};

/// graphql-transport-ws close codes.
const FORBIDDEN: u16 = 4403;
const INIT_TIMEOUT: u16 = 4408;
const UNAUTHORIZED: u16 = 4401;
const BAD_REQUEST: u16 = 4400;
const INTERNAL: u16 = 1011;

/// The viewer comes from `connection_init`'s `{"authorization": "Bearer …"}`,
/// or else from the session cookie of the upgrade request, which counts only
/// when it comes from an allowed origin (a cookie alone must not let another
/// site open a socket as the user).
pub async fn websocket(
    State(state): State<AppState>,
    upgrade: WebSocketUpgrade,
    request: axum::extract::Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let head = http::Request::from_parts(parts, ());
    let Some(protocol) = protocol_of(head.headers()) else {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "Offer one of the subprotocols {} in Sec-WebSocket-Protocol.",
                ALL_WEBSOCKET_PROTOCOLS.join(", ")
            ),
        )
            .into_response();
    };
    let same_site = head
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|origin| {
            state.config.is_frontend_origin(origin) || origin == origin_of(&state.config.public_url)
        });
    let init = Init {
        core: state.core.clone(),
        cookie_token: same_site
            .then(|| super::cookies::session_token(&state.config, head.headers()))
            .flatten(),
        meta: request_meta(&state.config, &head),
    };
    let schema = state.schema.clone();
    let timeout = state.config.ws_connection_init_timeout;
    let ping = state.config.ws_ping_interval;
    let metrics = state.metrics.clone();
    // The answer names the protocol the connection will speak, even when a
    // client offers both in another order than ours.
    upgrade
        .protocols([protocol.sec_websocket_protocol()])
        .on_upgrade(move |socket| async move {
            // Counted while the connection is open.
            let _open = metrics.websocket_opened();
            serve(socket, schema, protocol, init, timeout, ping).await;
        })
}

/// The first offered subprotocol we speak, as async-graphql-axum picks it.
fn protocol_of(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|p| p.trim().parse().ok())
}

/// What the connection knows at upgrade time, for `connection_init`.
struct Init {
    core: Arc<Core>,
    cookie_token: Option<String>,
    meta: crate::graphql::context::RequestMeta,
}

/// How initialisation went, shared between async-graphql's init callback and
/// the loop that closes the socket.
#[derive(Default)]
struct InitState {
    received: bool,
    /// The close code and reason of a refused `connection_init`.
    refused: Option<(u16, String)>,
    /// The session the socket was opened with, until the loop takes it.
    session: Option<SessionWatch>,
}

type Shared = Arc<Mutex<InitState>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, InitState> {
    // The state is two plain fields; a panic elsewhere cannot leave it torn.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Init {
    async fn run(
        self,
        payload: serde_json::Value,
        state: Shared,
    ) -> async_graphql::Result<async_graphql::Data> {
        lock(&state).received = true;
        let refuse = |code: u16, reason: String| {
            lock(&state).refused = Some((code, reason.clone()));
            Err(async_graphql::Error::new(reason))
        };
        let offered = match authorization(&payload) {
            Ok(offered) => offered,
            Err(reason) => return refuse(FORBIDDEN, reason.into()),
        };
        let viewer = match offered.or(self.cookie_token) {
            None => None,
            Some(token) => {
                let lookup = session::authenticate(&self.core.db, &self.core.config, &token);
                match crate::db::bounded(self.core.config.database_timeouts.statement, lookup).await
                {
                    Ok(Some(viewer)) => Some(viewer),
                    Ok(None) => return refuse(FORBIDDEN, "The session is not valid.".into()),
                    // Logged under an id that the reason gives; the token may be
                    // fine, so this is not a refusal of the client.
                    Err(e) => return refuse(INTERNAL, AppError::into_graphql(e).message),
                }
            }
        };
        if let Some(viewer) = &viewer {
            let watch = (self.core.live_sessions).watch(viewer.session_id, viewer.user.id);
            lock(&state).session = Some(watch);
        }
        let mut data = async_graphql::Data::default();
        data.insert(RequestContext {
            viewer,
            meta: self.meta,
        });
        data.insert(Loaders::new(&self.core));
        Ok(data)
    }
}

/// The token of `connection_init`'s `authorization` (any letter case), with
/// or without the `Bearer ` scheme.
fn authorization(payload: &serde_json::Value) -> Result<Option<String>, &'static str> {
    let Some(object) = payload.as_object() else {
        return Ok(None);
    };
    let Some((_, value)) = object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
    else {
        return Ok(None);
    };
    let not_a_token = "authorization must be a string \"Bearer <token>\".";
    let value = value.as_str().ok_or(not_a_token)?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value,
    };
    if token.is_empty() {
        return Err(not_a_token);
    }
    Ok(Some(token.to_owned()))
}

async fn serve(
    socket: WebSocket,
    schema: AppSchema,
    protocol: WebSocketProtocols,
    init: Init,
    timeout: Duration,
    ping: Duration,
) {
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let state = Shared::default();
    let init_state = state.clone();
    let messages = async_graphql::http::WebSocket::new(schema, input, protocol)
        .on_connection_init(move |payload| init.run(payload, init_state));
    let mut messages = pin!(messages);
    let mut deadline = pin!(tokio::time::sleep(timeout));
    let mut session: Option<SessionWatch> = None;
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + ping, ping);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    // `ours`: the server ends the connection, rather than the protocol
    // machinery or the client.
    let (code, reason, ours) = loop {
        let waiting = !lock(&state).received;
        if session.is_none() {
            session = lock(&state).session.take();
        }
        let session_ended = async {
            match session.as_mut() {
                Some(session) => session.ended().await,
                None => future::pending().await,
            }
        };
        let message = tokio::select! {
            message = messages.next() => message,
            () = &mut deadline, if waiting => {
                if lock(&state).received {
                    continue;
                }
                break (INIT_TIMEOUT, "Connection initialisation timeout".to_owned(), true);
            }
            _ = pings.tick() => {
                // The browser answers with a pong; nothing waits for it, as
                // the write deadline already drops a client that is gone.
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
                continue;
            }
            ended = session_ended => break match ended {
                Ended::Ended => (FORBIDDEN, "The session has ended.".to_owned(), true),
                Ended::Unchecked { error_id } => (
                    INTERNAL,
                    format!("The session could not be checked. Reference: {error_id}"),
                    true,
                ),
            },
        };
        let refused = lock(&state).refused.clone();
        match message {
            Some(WsMessage::Text(text)) => {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            Some(WsMessage::Close(code, reason)) => {
                let (code, reason) = match refused {
                    Some(refused) => refused,
                    None => (translate(protocol, code), reason),
                };
                break (code, reason, false);
            }
            // graphql-ws ends after `connection_error`; the client gets the
            // refusal's code too. Otherwise the client went away or said
            // `connection_terminate`.
            None => {
                let (code, reason) = refused.unwrap_or((1000, String::new()));
                break (code, reason, false);
            }
        }
    };
    if ours && protocol == WebSocketProtocols::SubscriptionsTransportWS {
        // Legacy clients report errors from this message, not the close frame
        // (async-graphql sends it itself for a refused init).
        let error = serde_json::json!({
            "type": "connection_error",
            "payload": { "message": reason },
        });
        if sink
            .send(Message::Text(error.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
    let frame = CloseFrame {
        code,
        reason: fit_close_reason(reason).into(),
    };
    // The client may be gone already; there is no one left to tell.
    let _ = sink.send(Message::Close(Some(frame))).await;
}

/// async-graphql's close codes for graphql-transport-ws, as that protocol
/// names them: a `subscribe` before the ack is 4401, and an unreadable
/// message 4400 (refused inits are handled before this).
fn translate(protocol: WebSocketProtocols, code: u16) -> u16 {
    match (protocol, code) {
        (WebSocketProtocols::GraphQLWS, 1011) => UNAUTHORIZED,
        (WebSocketProtocols::GraphQLWS, 1002) => BAD_REQUEST,
        (_, code) => code,
    }
}

/// A close frame's reason is at most 123 bytes, and the message of a JSON
/// error can be longer.
fn fit_close_reason(mut reason: String) -> String {
    if reason.len() > 123 {
        let mut end = 120;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push('…');
    }
    reason
}
