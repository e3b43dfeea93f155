//! PostgreSQL's LISTEN, on one dedicated connection per process: the
//! wake-up for the log's reader and the channel of session hints.
//!
//! It connects directly (`DATABASE_LISTEN_URL`, or `DATABASE_URL`), never
//! through a pool: LISTEN is session state, which a pooler in transaction
//! mode does not keep.

use std::{sync::Arc, time::Duration};

use sea_orm::sqlx::{
    Executor,
    postgres::{PgListener, PgNotification},
};
use tokio_util::sync::CancellationToken;

use super::{LIVE_CHANNEL, SESSION_CHANNEL, SessionHint, Shared};
use crate::ids::{UserId, Uuid};

/// How often the LISTEN connection must answer a statement. A connection
/// that hangs delivers nothing and reports no error, so without this a
/// process stops hearing other processes for as long as the kernel keeps
/// the socket (or for ever, when the other end acknowledges and never
/// answers). The reader's poll covers the events meanwhile.
const HEARTBEAT: Duration = Duration::from_secs(5);

pub struct Listening {
    pub url: String,
    pub connect_timeout: Duration,
    pub ping_timeout: Duration,
    pub shared: Arc<Shared>,
}

/// Connects and LISTENs, within the connect timeout.
pub async fn connect(listening: &Listening) -> Result<PgListener, String> {
    let connect = async {
        let mut listener = PgListener::connect(&listening.url).await?;
        listener.listen_all([LIVE_CHANNEL, SESSION_CHANNEL]).await?;
        Ok::<_, sea_orm::sqlx::Error>(listener)
    };
    match tokio::time::timeout(listening.connect_timeout, connect).await {
        Ok(Ok(listener)) => Ok(listener),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer".to_owned()),
    }
}

/// Delivers notifications until shutdown, reconnecting whenever the
/// connection fails; `first` is a listener connected before the reader
/// read where the log ends, so nothing before it needs catching up.
pub async fn listen(listening: Listening, first: Option<PgListener>, shutdown: CancellationToken) {
    let mut first = first;
    loop {
        let mut listener = match first.take() {
            Some(listener) => listener,
            None => {
                let connected = tokio::select! {
                    () = shutdown.cancelled() => return,
                    connected = connect(&listening) => connected,
                };
                match connected {
                    Ok(listener) => {
                        // Whatever was sent while nobody listened: the reader
                        // catches up from its position, and hints may have
                        // been missed.
                        listening.shared.wake.notify_one();
                        let _ = listening.shared.sessions.send(SessionHint::Missed);
                        listener
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot LISTEN for live events; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
        };
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.reset();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) => deliver(&listening.shared, &notification),
                    Ok(None) => {
                        tracing::warn!("the live event listener lost its connection");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the live event listener failed");
                        break;
                    }
                },
                _ = heartbeat.tick() => {
                    // `try_recv` is cancel-safe: no notification is lost here.
                    let ping = listener.execute("SELECT 1");
                    if !matches!(tokio::time::timeout(listening.ping_timeout, ping).await, Ok(Ok(_))) {
                        tracing::warn!("the live event listener stopped answering; reconnecting");
                        break;
                    }
                }
            }
        }
        // Dropping a listener whose connection hangs leaves sqlx's cleanup
        // (UNLISTEN, on a task of its own) waiting until the socket dies;
        // the new listener does not wait for it.
        drop(listener);
    }
}

fn deliver(shared: &Shared, notification: &PgNotification) {
    match notification.channel() {
        LIVE_CHANNEL => shared.wake.notify_one(),
        SESSION_CHANNEL => match Uuid::try_parse(notification.payload()) {
            Ok(user) => {
                let _ = shared.sessions.send(SessionHint::Ended {
                    user_id: UserId(user),
                });
            }
            Err(_) => tracing::warn!("malformed session hint"),
        },
        _ => {}
    }
}
