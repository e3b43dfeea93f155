//! Live events. Published after the change commits; on PostgreSQL they
//! travel through LISTEN/NOTIFY, so every server process on the database
//! hears every change, and in-process otherwise.
//!
//! Two kinds: changes of any slice's entities (`LiveEvent`), for
//! subscriptions, and "a user's sessions ended", hints on which open
//! WebSockets re-check their session at once instead of at their next
//! periodic check.

use std::{sync::Arc, time::Duration};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::ExposeSecret;
use crate::{
    config::Config,
    ids::{OrganizationId, UserId, Uuid},
};

const LIVE_CHANNEL: &str = "groundwork_live_events";
const SESSION_CHANNEL: &str = "groundwork_session_ends";

/// How often the LISTEN connection must answer a statement. A connection
/// that hangs delivers nothing and reports no error, so without this a
/// process stops hearing other processes' events for as long as the
/// kernel keeps the socket (or for ever, when the other end acknowledges
/// and never answers).
const HEARTBEAT: Duration = Duration::from_secs(5);

/// A committed change, announced to live subscribers: any slice's, so the
/// bus knows no slice. Each slice's subscription picks its own topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub organization_id: OrganizationId,
    /// What kind of entity changed: its GraphQL type name (`Project`).
    pub topic: String,
    /// Which one.
    pub subject: Uuid,
    /// What happened to it, in the slice's words (`CREATED`).
    pub kind: String,
}

/// What a process hears about sessions ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionHint {
    /// Some of this user's sessions ended (sign-out, revocation, password
    /// change or reset, account deletion).
    Ended { user_id: UserId },
    /// Hints may have been missed (the listener reconnected, or fell behind).
    Missed,
}

pub struct EventBus {
    local: broadcast::Sender<Arc<LiveEvent>>,
    sessions: broadcast::Sender<SessionHint>,
    /// Set on PostgreSQL: publishing is a NOTIFY, and a listener feeds the
    /// local channels.
    postgres: Option<DatabaseConnection>,
    statement_timeout: Duration,
}

impl EventBus {
    /// Starts listening on PostgreSQL (until `shutdown`); in-process otherwise.
    pub fn start(db: &DatabaseConnection, config: &Config, shutdown: CancellationToken) -> Self {
        let (local, _) = broadcast::channel(1024);
        let (sessions, _) = broadcast::channel(1024);
        let postgres = (db.get_database_backend() == DbBackend::Postgres).then(|| db.clone());
        if postgres.is_some() {
            tokio::spawn(listen(
                Listening {
                    url: config.database_url.expose_secret().to_owned(),
                    connect_timeout: config.database_timeouts.acquire,
                    ping_timeout: config.database_timeouts.ping(),
                    projects: local.clone(),
                    sessions: sessions.clone(),
                },
                shutdown,
            ));
        }
        Self {
            local,
            sessions,
            postgres,
            statement_timeout: config.database_timeouts.statement,
        }
    }

    /// Announces a committed change to every subscriber, on every process.
    pub async fn publish(&self, change: LiveEvent) {
        match &self.postgres {
            Some(_) => {
                let payload = serde_json::to_string(&change).expect("changes serialize");
                self.notify(LIVE_CHANNEL, payload).await;
            }
            None => {
                let _ = self.local.send(Arc::new(change));
            }
        }
    }

    /// Tells every process that sessions of `user_id` ended; call it after
    /// the change has committed.
    pub async fn session_ended(&self, user_id: UserId) {
        let _ = self.sessions.send(SessionHint::Ended { user_id });
        if self.postgres.is_some() {
            self.notify(SESSION_CHANNEL, user_id.to_string()).await;
        }
    }

    async fn notify(&self, channel: &str, payload: String) {
        let Some(db) = &self.postgres else {
            return;
        };
        let notify = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [channel.into(), payload.into()],
        );
        // The change is committed already; a lost notification only delays
        // a live view (sessions are also re-checked periodically), so it is
        // logged, not returned.
        if let Err(e) = crate::db::bounded(self.statement_timeout, db.execute_raw(notify)).await {
            tracing::warn!(error = %e, channel, "cannot publish a live event");
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.local.subscribe()
    }

    pub fn subscribe_sessions(&self) -> broadcast::Receiver<SessionHint> {
        self.sessions.subscribe()
    }
}

struct Listening {
    url: String,
    connect_timeout: Duration,
    ping_timeout: Duration,
    projects: broadcast::Sender<Arc<LiveEvent>>,
    sessions: broadcast::Sender<SessionHint>,
}

async fn listen(listening: Listening, shutdown: CancellationToken) {
    use sea_orm::sqlx::{Executor, postgres::PgListener};
    loop {
        let connect = async {
            let mut listener = PgListener::connect(&listening.url).await?;
            listener.listen_all([LIVE_CHANNEL, SESSION_CHANNEL]).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        let connected = tokio::select! {
            () = shutdown.cancelled() => return,
            connected = tokio::time::timeout(listening.connect_timeout, connect) => connected,
        };
        let mut listener = match connected {
            Ok(Ok(listener)) => listener,
            failed => {
                let error = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "no answer".to_owned(),
                };
                tracing::warn!(%error, "cannot LISTEN for live events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Whatever was sent while nobody listened is lost.
        let _ = listening.sessions.send(SessionHint::Missed);
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.reset();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) => deliver(&listening, &notification),
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

fn deliver(listening: &Listening, notification: &sea_orm::sqlx::postgres::PgNotification) {
    match notification.channel() {
        LIVE_CHANNEL => match serde_json::from_str(notification.payload()) {
            Ok(change) => {
                let _ = listening.projects.send(Arc::new(change));
            }
            Err(e) => tracing::warn!(error = %e, "malformed live event"),
        },
        SESSION_CHANNEL => match Uuid::try_parse(notification.payload()) {
            Ok(user) => {
                let _ = listening.sessions.send(SessionHint::Ended {
                    user_id: UserId(user),
                });
            }
            Err(_) => tracing::warn!("malformed session hint"),
        },
        _ => {}
    }
}
