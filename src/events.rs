//! Live events for subscriptions. Published after the change commits; on
//! PostgreSQL they travel through LISTEN/NOTIFY, so every server process on
//! the database hears every change, and in-process otherwise.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "groundwork_project_events";

#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectEventKind {
    Created,
    Updated,
    Archived,
    Restored,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectChange {
    pub organization_id: String,
    pub project_id: String,
    pub kind: ProjectEventKind,
}

pub struct EventBus {
    local: broadcast::Sender<ProjectChange>,
    /// Set on PostgreSQL: publishing is a NOTIFY, and a listener feeds `local`.
    postgres: Option<DatabaseConnection>,
}

impl EventBus {
    /// Starts listening on PostgreSQL (until `shutdown`); in-process otherwise.
    pub fn start(db: &DatabaseConnection, database_url: &str, shutdown: CancellationToken) -> Self {
        let (local, _) = broadcast::channel(1024);
        let postgres = (db.get_database_backend() == DbBackend::Postgres).then(|| db.clone());
        if postgres.is_some() {
            tokio::spawn(listen(database_url.to_owned(), local.clone(), shutdown));
        }
        Self { local, postgres }
    }

    /// Announces a committed change to every subscriber, on every process.
    pub async fn publish(&self, change: ProjectChange) {
        match &self.postgres {
            Some(db) => {
                let payload = serde_json::to_string(&change).expect("changes serialize");
                let notify = Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [CHANNEL.into(), payload.into()],
                );
                // The change is committed already; a lost notification only
                // delays a live view, so it is logged, not returned.
                if let Err(e) = db.execute_raw(notify).await {
                    tracing::warn!(error = %e, "cannot publish a project event");
                }
            }
            None => {
                let _ = self.local.send(change);
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ProjectChange> {
        self.local.subscribe()
    }
}

async fn listen(url: String, local: broadcast::Sender<ProjectChange>, shutdown: CancellationToken) {
    use sea_orm::sqlx::postgres::PgListener;
    loop {
        let listener = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            () = shutdown.cancelled() => return,
            result = listener => match result {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot LISTEN for project events; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = listener.recv() => received,
            };
            match received {
                Ok(notification) => match serde_json::from_str(notification.payload()) {
                    Ok(change) => {
                        let _ = local.send(change);
                    }
                    Err(e) => tracing::warn!(error = %e, "malformed project event"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "project event listener lost its connection");
                    break;
                }
            }
        }
    }
}
