//! Live events: a durable, ordered log in the database that every server
//! process tails.
//!
//! A change appends its events in its own transaction (`append`), so an
//! event exists exactly when its change does. Each process has one reader
//! that reads the log from the last position it saw and hands what it reads
//! to its subscribers. On PostgreSQL a NOTIFY sent in the same transaction
//! wakes the readers of every process at commit; it carries nothing, so a
//! notification lost while a listener reconnects loses no event: the reader
//! reads from where it was when it next wakes (at the latest after
//! `LIVE_EVENTS_POLL_INTERVAL`). In one SQLite process the commit wakes the
//! reader directly. Positions follow commit order, so reading "after the
//! last position" never skips an event that commits late.
//!
//! Subscribers may resume: `stream(after)` reads what they missed since a
//! position from the log, then follows the reader; past the retention window
//! (`LIVE_EVENTS_RETENTION`) the log no longer has it, and they are told so.
//!
//! Beside the log, "a user's sessions ended" hints (`SessionHint`) tell open
//! WebSockets to check their session at once; those are only hints (each
//! process also checks periodically), so they travel by NOTIFY alone.

mod listener;
mod log;
mod stream;

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

pub use self::stream::{Filter, Resume};
use crate::{
    backoff::Backoff,
    config::Config,
    ids::{OrganizationId, UserId, Uuid},
};

const LIVE_CHANNEL: &str = "groundwork_live_events";
const SESSION_CHANNEL: &str = "groundwork_session_ends";

/// Events read from the log at once by a reader.
const READ_BATCH: u64 = 500;

/// A committed change, announced to live subscribers: any slice's, so the
/// log knows no slice. Each slice's subscription picks its own topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// Where the event is in the log, in commit order; 0 until appended.
    pub position: i64,
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

/// How long events are kept and how often the log is read and pruned.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub retention: Duration,
    pub poll_interval: Duration,
    pub prune_interval: Duration,
}

pub struct EventBus {
    shared: Arc<Shared>,
}

struct Shared {
    db: DatabaseConnection,
    backend: DbBackend,
    /// Every event the reader reads, in order.
    tail: broadcast::Sender<Arc<LiveEvent>>,
    sessions: broadcast::Sender<SessionHint>,
    /// Wakes the reader: a NOTIFY heard, or a local commit.
    wake: Notify,
    /// The last position the reader has handed on.
    position: AtomicI64,
    statement_timeout: Duration,
}

impl EventBus {
    /// Reads where the log ends, and starts this process's reader, pruner
    /// and (on PostgreSQL) listener, until `shutdown`.
    pub async fn start(
        db: &DatabaseConnection,
        config: &Config,
        shutdown: CancellationToken,
    ) -> Result<Self, DbErr> {
        let backend = db.get_database_backend();
        let timeout = config.database_timeouts.statement;
        let listening = |shared: Arc<Shared>| listener::Listening {
            url: config.database_listen_url().to_owned(),
            connect_timeout: config.database_timeouts.acquire,
            ping_timeout: config.database_timeouts.ping(),
            shared,
        };
        let shared = Arc::new(Shared {
            db: db.clone(),
            backend,
            tail: broadcast::channel(4096).0,
            sessions: broadcast::channel(1024).0,
            wake: Notify::new(),
            position: AtomicI64::new(0),
            statement_timeout: timeout,
        });
        // LISTEN before reading where the log ends: whatever commits after
        // the read is then announced, and the reader needs no first wake.
        let listening = (backend == DbBackend::Postgres).then(|| listening(shared.clone()));
        let first = match &listening {
            Some(listening) => match listener::connect(listening).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "cannot LISTEN for live events yet; retrying");
                    None
                }
            },
            None => None,
        };
        let end = crate::db::bounded(timeout, log::end(db)).await?;
        shared.position.store(end, Ordering::Release);
        let settings = config.live_events.clone();
        tokio::spawn(read_log(
            shared.clone(),
            settings.poll_interval,
            shutdown.clone(),
        ));
        tokio::spawn(prune_log(shared.clone(), settings, shutdown.clone()));
        if let Some(listening) = listening {
            tokio::spawn(listener::listen(listening, first, shutdown));
        }
        Ok(Self { shared })
    }

    /// Appends `events` to the log in `conn`, the transaction of the change
    /// they announce; they reach subscribers once it commits (call
    /// `committed` then).
    pub async fn append(
        &self,
        conn: &impl ConnectionTrait,
        events: &[LiveEvent],
    ) -> Result<(), DbErr> {
        log::append(conn, events).await
    }

    /// A transaction that appended events has committed: this process's
    /// reader reads them now (other processes hear the NOTIFY).
    pub fn committed(&self) {
        self.shared.wake.notify_one();
    }

    /// Appends one event in a transaction of its own, for events no change
    /// of ours carries.
    pub async fn publish(&self, event: LiveEvent) -> Result<(), DbErr> {
        let txn = crate::db::begin(&self.shared.db).await?;
        self.append(&txn, &[event]).await?;
        txn.commit().await?;
        self.committed();
        Ok(())
    }

    /// The events of one organization and topic as they are committed; with
    /// `after`, first those since that position. See `Resume`.
    pub async fn stream(&self, filter: Filter, after: Option<i64>) -> Resume {
        stream::open(self.shared.clone(), filter, after).await
    }

    /// Deletes the events older than `age` (the pruner does this every
    /// `LIVE_EVENTS_PRUNE_INTERVAL` with the retention); returns how many.
    pub async fn prune_older_than(&self, age: Duration) -> Result<u64, DbErr> {
        log::prune(&self.shared.db, age).await
    }

    /// Tells every process that sessions of `user_id` ended; call it after
    /// the change has committed.
    pub async fn session_ended(&self, user_id: UserId) {
        let _ = self.shared.sessions.send(SessionHint::Ended { user_id });
        if self.shared.backend != DbBackend::Postgres {
            return;
        }
        let notify = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [SESSION_CHANNEL.into(), user_id.to_string().into()],
        );
        // The change is committed already; a lost hint only delays closing a
        // socket until the next periodic check, so it is logged, not returned.
        let sent = self.shared.db.execute_raw(notify);
        if let Err(e) = crate::db::bounded(self.shared.statement_timeout, sent).await {
            tracing::warn!(error = %e, "cannot send a session hint");
        }
    }

    pub fn subscribe_sessions(&self) -> broadcast::Receiver<SessionHint> {
        self.shared.sessions.subscribe()
    }

    /// The last position this process's reader has handed on.
    pub fn position(&self) -> i64 {
        self.shared.position.load(Ordering::Acquire)
    }
}

/// The reader: reads the log after the last position it handed on, when
/// woken and at least every `poll`, until shutdown. A failed read is tried
/// again from the same position, so nothing is skipped.
async fn read_log(shared: Arc<Shared>, poll: Duration, shutdown: CancellationToken) {
    let mut waits = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        let last = shared.position.load(Ordering::Acquire);
        let read = crate::db::bounded(
            shared.statement_timeout,
            log::after(&shared.db, last, None, READ_BATCH),
        )
        .await;
        match read {
            Ok(events) => {
                waits = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
                let full = events.len() as u64 == READ_BATCH;
                for event in events {
                    // Stored before it is sent: a subscriber that sees the
                    // position finds the event in the log or in its channel.
                    shared.position.store(event.position, Ordering::Release);
                    let _ = shared.tail.send(Arc::new(event));
                }
                if full {
                    continue;
                }
            }
            Err(error) => {
                let wait = waits.next_wait();
                tracing::warn!(%error, retry_in = ?wait, "cannot read the live event log");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => continue,
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = shared.wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

/// The pruner: deletes events past the retention window, on every process
/// (it is idempotent), until shutdown.
async fn prune_log(shared: Arc<Shared>, settings: LogSettings, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(settings.prune_interval) => {}
        }
        let pruned = crate::db::bounded(
            shared.statement_timeout,
            log::prune(&shared.db, settings.retention),
        )
        .await;
        match pruned {
            Ok(0) => {}
            Ok(n) => tracing::debug!(events = n, "pruned the live event log"),
            Err(error) => tracing::warn!(%error, "cannot prune the live event log"),
        }
    }
}
