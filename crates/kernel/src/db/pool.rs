//! The connection pool, and what keeps it usable when the database stops
//! answering.
//!
//! A connection can hang with its socket open: a primary that stopped
//! answering, a network path that lost its other end. sqlx checks a
//! connection with a ping when it is lent and again when it is returned,
//! and neither ping has a deadline; a connection abandoned mid-statement
//! (its request timed out) then never came back, and once every connection
//! of the pool was stuck, every statement failed with the acquire timeout
//! for as long as the kernel kept the sockets.
//!
//! Here every check has a deadline, and a connection that misses it is
//! thrown away. Throwing one away must not wait on it either: sqlx closes
//! a rejected connection with I/O, and over TLS that I/O waits to read
//! from the other end, for ever when the other end hangs (the same wait
//! sqlx's own idle reaper and lifetime check would do, which is why idle
//! time and lifetime are enforced here instead). A connection that fails
//! its check on lending is dropped when the acquire's deadline passes; one
//! that fails on return is dropped at once (see `release_check`).
//!
//! sqlx 0.9 opens its sockets itself and has no TCP keepalive or user
//! timeout option; these timed checks (and the LISTEN connection's
//! heartbeat in `events`) do that job, and also catch a server that still
//! acknowledges packets but answers nothing, which keepalives do not.

use std::{io, path::Path, time::Duration};

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr,
    sqlx::{self, Connection, pool::PoolConnectionMetadata, postgres::PgConnection},
};

use crate::config::ExposeSecret;
use crate::{
    backoff::Backoff,
    config::{Config, DatabaseTimeouts},
};

/// Opens the connection pool named by `DATABASE_URL`, waiting for the
/// database to come up for up to `DATABASE_CONNECT_TIMEOUT` (a database
/// container starting beside the server, a failover in progress).
///
/// SQLite gets one connection unless told otherwise: it has a single writer,
/// and one connection turns would-be `SQLITE_BUSY` failures on concurrent
/// writes into plain queueing.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let url = config.database_url.expose_secret();
    if url.starts_with("sqlite:") {
        create_sqlite_dir(url)?;
    }
    let options = options(config);
    let deadline = tokio::time::Instant::now() + config.database_timeouts.connect;
    let mut waits = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
    loop {
        let error = match Database::connect(options.clone()).await {
            Ok(db) => return Ok(db),
            Err(error) => error,
        };
        let now = tokio::time::Instant::now();
        if !is_unreachable(&error) || now + waits.peek() > deadline {
            return Err(error);
        }
        let wait = waits.next_wait();
        tracing::warn!(%error, retry_in = ?wait, "the database cannot be reached yet");
        tokio::time::sleep(wait).await;
    }
}

fn options(config: &Config) -> ConnectOptions {
    let url = config.database_url.expose_secret();
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(
            config
                .database_max_connections
                .unwrap_or(if sqlite { 1 } else { 10 }),
        )
        .acquire_timeout(config.database_timeouts.acquire)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    if sqlite {
        options
            .idle_timeout(config.database_timeouts.idle)
            .max_lifetime(config.database_timeouts.max_lifetime);
        return options;
    }
    let checks = Checks::from(&config.database_timeouts);
    options
        .idle_timeout(None)
        .max_lifetime(None)
        .map_sqlx_postgres_pool_opts(move |pool| {
            pool.test_before_acquire(false)
                .before_acquire(move |conn, meta| Box::pin(checks.lend_check(conn, meta)))
                .after_release(move |conn, meta| Box::pin(checks.release_check(conn, meta)))
        });
    options
}

/// What a pooled PostgreSQL connection is checked against.
#[derive(Clone, Copy)]
struct Checks {
    ping: Duration,
    idle: Duration,
    max_lifetime: Duration,
}

impl From<&DatabaseTimeouts> for Checks {
    fn from(timeouts: &DatabaseTimeouts) -> Self {
        Self {
            ping: timeouts.ping(),
            idle: timeouts.idle,
            max_lifetime: timeouts.max_lifetime,
        }
    }
}

/// A connection idle for less than this is lent without a ping of its own.
const RECENTLY_CHECKED: Duration = Duration::from_secs(1);

/// Unwinds the task that returns a connection to the pool (see `release_check`).
struct Discarded;

impl Checks {
    /// Before a connection is lent: too old or idle too long, it is closed
    /// and another taken; one that does not answer a ping in time fails.
    async fn lend_check(
        self,
        conn: &mut PgConnection,
        meta: PoolConnectionMetadata,
    ) -> Result<bool, sqlx::Error> {
        if meta.age >= self.max_lifetime || meta.idle_for >= self.idle {
            return Ok(false);
        }
        // Back from a release (and its timed ping) a moment ago: a second
        // round trip would cost each statement more than it can catch. One
        // that hangs meanwhile fails its statement at the work's deadline
        // and is dropped by the release check.
        if meta.idle_for < RECENTLY_CHECKED {
            return Ok(true);
        }
        self.ping(conn).await.map(|()| true)
    }

    /// When a connection comes back, maybe abandoned mid-statement: it must
    /// answer a ping in time to be lent again.
    ///
    /// One that does not is dropped without any I/O. sqlx offers no way to
    /// do that from this hook, and closes a rejected connection with I/O
    /// that can wait for ever (see the module's comment); so this unwinds
    /// the task sqlx spawned to return the connection, which drops the
    /// connection and frees its place in the pool on the way out. Only that
    /// detached task runs this hook, and `resume_unwind` calls no panic hook,
    /// so nothing else sees it (a build with `panic = "abort"` refuses to
    /// compile, below).
    async fn release_check(
        self,
        conn: &mut PgConnection,
        meta: PoolConnectionMetadata,
    ) -> Result<bool, sqlx::Error> {
        match self.ping(conn).await {
            Ok(()) => Ok(meta.age < self.max_lifetime),
            Err(sqlx::Error::Io(e)) if e.kind() == io::ErrorKind::TimedOut => {
                tracing::warn!(error = %e, "dropping a database connection that stopped answering");
                std::panic::resume_unwind(Box::new(Discarded))
            }
            Err(error) => Err(error),
        }
    }

    async fn ping(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        match tokio::time::timeout(self.ping, conn.ping()).await {
            Ok(result) => result,
            Err(_) => Err(sqlx::Error::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the connection did not answer a ping within {:?}",
                    self.ping
                ),
            ))),
        }
    }
}

#[cfg(not(panic = "unwind"))]
compile_error!("db/pool.rs drops hung connections by unwinding; build with panic = \"unwind\"");

/// Whether connecting failed because the database is not there (yet):
/// worth waiting for, unlike a wrong password or a missing database.
fn is_unreachable(error: &DbErr) -> bool {
    let sqlx_error = match error {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match &**sqlx_error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => true,
        // A connection closed during the handshake, as a load balancer with
        // no database behind it does.
        sqlx::Error::Protocol(_) => true,
        // Starting up or shutting down (57P..), too many connections
        // (53300), or a connection failure reported by the server (08...).
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("57P") || code == "53300" || code.starts_with("08")
        }),
        _ => false,
    }
}

/// The SQLite file's folder is made on first run, so the default
/// `./data/groundwork.db` works on a fresh checkout.
fn create_sqlite_dir(url: &str) -> Result<(), DbErr> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            DbErr::Custom(format!("cannot create the folder {}: {e}", dir.display()))
        })?;
    }
    Ok(())
}
