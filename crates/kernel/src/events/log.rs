//! The `live_events` table: appending in a change's transaction, reading
//! after a position, pruning past the retention window.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Value};

use super::{LIVE_CHANNEL, LiveEvent, stream::Filter};
use crate::db::statement;

/// The transaction-scoped advisory lock that orders appends on
/// PostgreSQL: its holder appends and commits before the next one may,
/// so positions (taken from the sequence under the lock) follow commit
/// order, and a reader that has read position N has seen every event
/// below it that will ever commit. Held from the append to the commit,
/// which `Work::commit` makes the last statements of a change.
const APPEND_LOCK: i64 = 0x6777_6c69_7665; // "gwlive"

const COLUMNS: &str = "position, organization_id, topic, subject, kind";

pub async fn append(conn: &impl ConnectionTrait, events: &[LiveEvent]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    if backend == DbBackend::Postgres {
        conn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({APPEND_LOCK})"))
            .await?;
    }
    let now = Utc::now();
    let mut values: Vec<Value> = Vec::with_capacity(events.len() * 5);
    let mut rows = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let n = i * 5;
        rows.push(format!(
            "(${}, ${}, ${}, ${}, ${})",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5
        ));
        values.extend([
            event.organization_id.into(),
            event.topic.clone().into(),
            event.subject.into(),
            event.kind.clone().into(),
            now.into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO live_events (organization_id, topic, subject, kind, created_at) VALUES {}",
        rows.join(", ")
    );
    conn.execute_raw(statement(backend, &sql, values)).await?;
    if backend == DbBackend::Postgres {
        // Delivered when the transaction commits, and not at all if it
        // rolls back: the wake-up of every process's reader.
        conn.execute_unprepared(&format!("NOTIFY {LIVE_CHANNEL}"))
            .await?;
    }
    Ok(())
}

fn event(row: &QueryResult) -> Result<LiveEvent, DbErr> {
    Ok(LiveEvent {
        position: row.try_get("", "position")?,
        organization_id: row.try_get("", "organization_id")?,
        topic: row.try_get("", "topic")?,
        subject: row.try_get("", "subject")?,
        kind: row.try_get("", "kind")?,
    })
}

/// Up to `limit` events after `position`, in order; only those `filter`
/// lets through when there is one.
pub async fn after(
    conn: &impl ConnectionTrait,
    position: i64,
    filter: Option<&Filter>,
    limit: u64,
) -> Result<Vec<LiveEvent>, DbErr> {
    let backend = conn.get_database_backend();
    let (sql, values) = match filter {
        None => (
            format!(
                "SELECT {COLUMNS} FROM live_events WHERE position > $1 ORDER BY position LIMIT {limit}"
            ),
            vec![position.into()],
        ),
        Some(filter) => (
            format!(
                "SELECT {COLUMNS} FROM live_events WHERE organization_id = $1 AND topic = $2 \
                 AND position > $3 ORDER BY position LIMIT {limit}"
            ),
            vec![
                filter.organization_id.into(),
                filter.topic.into(),
                position.into(),
            ],
        ),
    };
    conn.query_all_raw(statement(backend, &sql, values))
        .await?
        .iter()
        .map(event)
        .collect()
}

/// The last position in the log (0 for an empty one).
pub async fn end(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(statement(
            conn.get_database_backend(),
            "SELECT COALESCE(MAX(position), 0) AS n FROM live_events",
            vec![],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// The last position pruned: events at or before it are gone for good.
pub async fn horizon(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(statement(
            conn.get_database_backend(),
            "SELECT pruned_through FROM live_event_horizon WHERE id = 1",
            vec![],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "pruned_through"))
        .transpose()?
        .unwrap_or(0))
}

/// Deletes the events older than `age`, moving the horizon past them in
/// the same transaction; returns how many went.
pub async fn prune(db: &DatabaseConnection, age: Duration) -> Result<u64, DbErr> {
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    let cutoff = Utc::now() - age;
    let txn = crate::db::begin(db).await?;
    let backend = txn.get_database_backend();
    let last = txn
        .query_one_raw(statement(
            backend,
            "SELECT MAX(position) AS n FROM live_events WHERE created_at < $1",
            vec![cutoff.into()],
        ))
        .await?
        .map(|r| r.try_get::<Option<i64>>("", "n"))
        .transpose()?
        .flatten();
    let Some(last) = last else {
        txn.commit().await?;
        return Ok(0);
    };
    txn.execute_raw(statement(
        backend,
        "UPDATE live_event_horizon SET pruned_through = $1 WHERE id = 1 AND pruned_through < $1",
        vec![last.into()],
    ))
    .await?;
    let deleted = txn
        .execute_raw(statement(
            backend,
            "DELETE FROM live_events WHERE position <= $1",
            vec![last.into()],
        ))
        .await?
        .rows_affected();
    txn.commit().await?;
    Ok(deleted)
}
