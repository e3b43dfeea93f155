//! How long the server waits on clients and on the database before giving
//! up on them: connections nobody closes, a database that stops answering.

use std::time::Duration;

use super::{ConfigError, env::Env};

/// Deadlines on HTTP connections and requests.
#[derive(Debug, Clone)]
pub struct HttpTimeouts {
    /// From a connection's start, or the end of its previous response,
    /// to a complete request head; also the idle keep-alive timeout.
    pub header: Duration,
    /// From the request head to the end of its body.
    pub body: Duration,
    /// From the request head to the response.
    pub request: Duration,
    /// How long `/readyz` waits for the database.
    pub readiness: Duration,
    /// How long a write to a client (a response, a WebSocket message) may
    /// wait for the client to read.
    pub write: Duration,
}

/// Deadlines on the database: reaching it, borrowing a connection, waiting
/// for a statement, keeping connections.
#[derive(Debug, Clone)]
pub struct DatabaseTimeouts {
    /// How long start-up keeps retrying to reach the database.
    pub connect: Duration,
    /// How long a statement waits for a pooled connection, opening and
    /// checking one included.
    pub acquire: Duration,
    /// Client-side: the longest one step of database work outside a
    /// GraphQL operation (a session lookup, a check, a job's statement) may take.
    pub statement: Duration,
    pub idle: Duration,
    pub max_lifetime: Duration,
}

impl DatabaseTimeouts {
    /// How long a pooled connection has to answer a ping before it is
    /// thrown away: a fraction of the acquire timeout, so one stalled
    /// connection does not use up a whole acquire.
    pub fn ping(&self) -> Duration {
        (self.acquire / 5).clamp(Duration::from_millis(100), Duration::from_secs(2))
    }
}

/// How open WebSockets follow the sessions and memberships they depend on.
#[derive(Debug, Clone)]
pub struct LiveChecks {
    /// How often each process re-checks the sessions of its open sockets.
    pub session_interval: Duration,
    /// How long a failing check is retried before the socket or the
    /// subscription is ended with an error.
    pub retry_limit: Duration,
}

pub(super) fn http(env: &Env<'_>) -> Result<HttpTimeouts, ConfigError> {
    Ok(HttpTimeouts {
        header: env.duration("HTTP_HEADER_TIMEOUT", "20s")?,
        body: env.duration("HTTP_BODY_TIMEOUT", "20s")?,
        request: env.duration("HTTP_REQUEST_TIMEOUT", "60s")?,
        readiness: env.duration("READYZ_TIMEOUT", "2s")?,
        write: env.duration("HTTP_WRITE_TIMEOUT", "10s")?,
    })
}

pub(super) fn database(env: &Env<'_>) -> Result<DatabaseTimeouts, ConfigError> {
    Ok(DatabaseTimeouts {
        connect: env.duration("DATABASE_CONNECT_TIMEOUT", "60s")?,
        acquire: env.duration("DATABASE_ACQUIRE_TIMEOUT", "5s")?,
        statement: env.duration("DATABASE_STATEMENT_TIMEOUT", "10s")?,
        idle: env.duration("DATABASE_IDLE_TIMEOUT", "10m")?,
        max_lifetime: env.duration("DATABASE_MAX_LIFETIME", "30m")?,
    })
}

pub(super) fn live(env: &Env<'_>) -> Result<LiveChecks, ConfigError> {
    Ok(LiveChecks {
        session_interval: env.duration("WS_SESSION_CHECK_INTERVAL", "5s")?,
        retry_limit: env.duration("WS_CHECK_RETRY_LIMIT", "30s")?,
    })
}
