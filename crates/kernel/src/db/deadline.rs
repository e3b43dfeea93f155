//! Client-side deadlines on database work.
//!
//! PostgreSQL's own `statement_timeout` is not set by the server: it is a
//! connection parameter, which PgBouncer in transaction mode refuses at
//! connect time (or drops, with `ignore_startup_parameters`), and it cannot
//! end a statement on a server or a network path that has stopped answering
//! anyway. Every unit of work has a deadline of its own instead: a GraphQL
//! operation `GRAPHQL_TIMEOUT`, an HTTP request `HTTP_REQUEST_TIMEOUT`, and
//! work outside requests (session lookups, checks of live subscriptions,
//! background jobs) `DATABASE_STATEMENT_TIMEOUT` per step, through `bounded`.
//! A connection abandoned at a deadline is closed by the pool (see `pool`).

use std::{future::Future, time::Duration};

use sea_orm::DbErr;

use crate::backoff::Backoff;

/// `work`, failed with a `DbErr` when it has not finished within `limit`.
pub async fn bounded<T, E>(
    limit: Duration,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    E: From<DbErr>,
{
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => {
            Err(DbErr::Custom(format!("no answer from the database within {limit:?}")).into())
        }
    }
}

/// Runs `attempt` until it succeeds, each attempt `bounded` by
/// `per_attempt`, waiting longer between failures (100 ms doubling to 2 s);
/// the last error once `limit` has passed since the first attempt. For
/// checks that must not end a live stream at the first blip of the database.
pub async fn retry<T, E, F, Fut>(
    limit: Duration,
    per_attempt: Duration,
    mut attempt: F,
) -> Result<T, E>
where
    E: From<DbErr> + std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = tokio::time::Instant::now();
    let mut waits = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    loop {
        let error = match bounded(per_attempt, attempt()).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if started.elapsed() + waits.peek() > limit {
            return Err(error);
        }
        let wait = waits.next_wait();
        tracing::warn!(?error, retry_in = ?wait, "a database check failed; retrying");
        tokio::time::sleep(wait).await;
    }
}
