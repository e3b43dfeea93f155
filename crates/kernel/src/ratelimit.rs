//! Fixed-window attempt counters shared by every replica: in the database,
//! or in Redis when `REDIS_URL` is set.
//!
//! Two kinds of counter:
//!
//! - `hit` counts every attempt, atomically *before* the work it guards, so
//!   concurrent attempts (aliased fields, batches, parallel requests) cannot
//!   slip past the limit together (sign-ups, reset requests, password work
//!   per account).
//! - `reserve` guards failures only (wrong passwords). Counting failures
//!   after the fact would let N parallel guesses all pass the check before
//!   any of them is counted, exceeding the allowance by the number in
//!   flight; counting every attempt and refunding successes refuses correct
//!   attempts while the refunds are pending (an office behind one address
//!   signing in at nine). So an attempt reserves one unit of the allowance
//!   before the password is checked and settles it after: a failure turns
//!   it into a counted hit, a success hands it back. The counter holds
//!   failures and reservations apart: an attempt is refused only when the
//!   failures alone reach the limit; when reservations in flight fill the
//!   rest it waits for them to settle instead. Failures therefore never
//!   exceed the limit, even in parallel, and a correct attempt is never
//!   refused while the failures are below it. Callers take the reservation
//!   once their password hashing slot is theirs, so the reservations in
//!   flight are the few checks running at that moment and such waits are
//!   one check long.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::{
    backoff::Backoff,
    config::Limit,
    db::statement,
    error::{AppError, AppResult},
};

#[derive(Clone)]
pub enum RateLimiter {
    Database(DatabaseConnection),
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// How long an attempt waits for reservations in flight to settle before it
/// gives up with `RATE_LIMITED`. They are password checks already running,
/// so this is only reached when one was lost (a replica killed mid-check);
/// such a reservation lapses with its window.
const SETTLE_WAIT: Duration = Duration::from_secs(3);

const HIT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}
";

/// Returns {0} when reserved, {1, ttl} when reservations in flight fill the
/// allowance, {2, ttl} when the failures have reached the limit.
const RESERVE_SCRIPT: &str = r"
local max = tonumber(ARGV[2])
local hits = tonumber(redis.call('HGET', KEYS[1], 'hits') or '0')
local pending = tonumber(redis.call('HGET', KEYS[1], 'pending') or '0')
if hits >= max then return {2, redis.call('PTTL', KEYS[1])} end
if hits + pending >= max then return {1, redis.call('PTTL', KEYS[1])} end
redis.call('HINCRBY', KEYS[1], 'pending', 1)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {0, 0}
";

/// ARGV[1] is the outcome (`fail`, `pass`, `reset`), ARGV[2] the window.
/// A missing key is a window that lapsed (or was cleared) meanwhile: a
/// failure opens a new one, anything else has nothing left to settle.
const SETTLE_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[1] == 'fail' then
    redis.call('HSET', KEYS[1], 'hits', 1, 'pending', 0)
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return 0
end
local pending = tonumber(redis.call('HGET', KEYS[1], 'pending') or '0')
if pending > 0 then redis.call('HINCRBY', KEYS[1], 'pending', -1) end
if ARGV[1] == 'fail' then redis.call('HINCRBY', KEYS[1], 'hits', 1) end
if ARGV[1] == 'reset' then redis.call('HSET', KEYS[1], 'hits', 0) end
return 0
";

const CHECK_SCRIPT: &str = r"
local hits = tonumber(redis.call('HGET', KEYS[1], 'hits') or '0')
return {hits, redis.call('PTTL', KEYS[1])}
";

/// What became of a reservation's attempt.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// A wrong password: counted against the limit.
    Failed,
    /// Not a failure: the unit goes back unused.
    Passed,
    /// The account's owner proved themselves: the unit goes back and the
    /// failures counted so far are forgiven.
    PassedAndForgiven,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "fail",
            Self::Passed => "pass",
            Self::PassedAndForgiven => "reset",
        }
    }
}

enum Reserved {
    Granted,
    /// Reservations in flight fill what the failures leave.
    Busy,
    Limited {
        retry_after: i64,
    },
}

/// One unit of a failure allowance, held while a password is checked.
/// Dropped unsettled (the request was cancelled before it was answered, so
/// its caller learned nothing), it is handed back.
#[must_use = "settle the reservation with the attempt's outcome"]
pub struct Reservation {
    limiter: RateLimiter,
    key: String,
    window: Duration,
    settled: bool,
}

impl Reservation {
    pub async fn settle(mut self, outcome: Outcome) -> AppResult<()> {
        self.settled = true;
        self.limiter.settle(&self.key, self.window, outcome).await
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let limiter = self.limiter.clone();
        let key = std::mem::take(&mut self.key);
        let window = self.window;
        runtime.spawn(async move {
            if let Err(e) = limiter.settle(&key, window, Outcome::Passed).await {
                tracing::warn!(error = ?e, "could not hand back a rate-limit reservation");
            }
        });
    }
}

impl RateLimiter {
    pub async fn redis(url: &str, prefix: String) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client).await?;
        Ok(Self::Redis { conn, prefix })
    }

    /// Counts one attempt under `key`; fails with `RATE_LIMITED` when this
    /// attempt goes past the limit.
    pub async fn hit(&self, key: &str, limit: Limit) -> AppResult<()> {
        let window = limit.window.as_secs().max(1) as i64;
        let (hits, retry_after) = match self {
            Self::Database(db) => {
                let now = now_secs();
                let row = db
                    .query_one_raw(statement(
                        db.get_database_backend(),
                        "INSERT INTO rate_limits (key, window_ends, hits) VALUES ($1, $2, 1) \
                         ON CONFLICT (key) DO UPDATE SET \
                         hits = CASE WHEN rate_limits.window_ends <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
                         window_ends = CASE WHEN rate_limits.window_ends <= $3 THEN $2 ELSE rate_limits.window_ends END \
                         RETURNING hits, window_ends",
                        vec![key.into(), (now + window).into(), now.into()],
                    ))
                    .await?
                    .ok_or_else(|| AppError::internal("rate limit upsert returned nothing"))?;
                let hits: i32 = row.try_get("", "hits")?;
                let ends: i64 = row.try_get("", "window_ends")?;
                (i64::from(hits), (ends - now).max(1))
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let (hits, ttl_ms): (i64, i64) = redis::Script::new(HIT_SCRIPT)
                    .key(format!("{prefix}rl:{key}"))
                    .arg(window * 1000)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(AppError::internal)?;
                (hits, (ttl_ms / 1000).max(1))
            }
        };
        if hits > i64::from(limit.max) {
            return Err(limited(retry_after));
        }
        Ok(())
    }

    /// `RATE_LIMITED` when the failures under `key` have reached the limit;
    /// a read, for refusing before anything is queued.
    pub async fn check(&self, key: &str, limit: Limit) -> AppResult<()> {
        let (hits, retry_after) = match self {
            Self::Database(db) => {
                let now = now_secs();
                let row = db
                    .query_one_raw(statement(
                        db.get_database_backend(),
                        "SELECT hits, window_ends FROM rate_limits WHERE key = $1 AND window_ends > $2",
                        vec![key.into(), now.into()],
                    ))
                    .await?;
                match row {
                    None => return Ok(()),
                    Some(row) => {
                        let hits: i32 = row.try_get("", "hits")?;
                        let ends: i64 = row.try_get("", "window_ends")?;
                        (i64::from(hits), ends - now)
                    }
                }
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let (hits, ttl_ms): (i64, i64) = redis::Script::new(CHECK_SCRIPT)
                    .key(failure_key(prefix, key))
                    .invoke_async(&mut conn)
                    .await
                    .map_err(AppError::internal)?;
                (hits, ttl_ms / 1000)
            }
        };
        if hits >= i64::from(limit.max) {
            return Err(limited(retry_after));
        }
        Ok(())
    }

    /// Reserves one unit of the failure allowance under `key` for an attempt
    /// about to run, waiting while reservations in flight hold the rest.
    /// `RATE_LIMITED` when the failures have reached the limit.
    pub async fn reserve(&self, key: &str, limit: Limit) -> AppResult<Reservation> {
        let started = Instant::now();
        let mut waits = Backoff::new(Duration::from_millis(5), Duration::from_millis(100));
        loop {
            match self.try_reserve(key, limit).await? {
                Reserved::Granted => {
                    return Ok(Reservation {
                        limiter: self.clone(),
                        key: key.to_owned(),
                        window: limit.window,
                        settled: false,
                    });
                }
                Reserved::Limited { retry_after } => return Err(limited(retry_after)),
                Reserved::Busy if started.elapsed() >= SETTLE_WAIT => return Err(limited(1)),
                Reserved::Busy => tokio::time::sleep(waits.next_wait()).await,
            }
        }
    }

    async fn try_reserve(&self, key: &str, limit: Limit) -> AppResult<Reserved> {
        let window = limit.window.as_secs().max(1) as i64;
        let max = i64::from(limit.max);
        match self {
            Self::Database(db) => {
                let backend = db.get_database_backend();
                let now = now_secs();
                // The update is skipped (and nothing returned) when the
                // allowance is taken; a lapsed window starts afresh, dropping
                // reservations a lost replica never settled.
                let granted = db
                    .query_one_raw(statement(
                        backend,
                        "INSERT INTO rate_limits (key, window_ends, hits, pending) VALUES ($1, $2, 0, 1) \
                         ON CONFLICT (key) DO UPDATE SET \
                         hits = CASE WHEN rate_limits.window_ends <= $3 THEN 0 ELSE rate_limits.hits END, \
                         pending = CASE WHEN rate_limits.window_ends <= $3 THEN 1 ELSE rate_limits.pending + 1 END, \
                         window_ends = CASE WHEN rate_limits.window_ends <= $3 THEN $2 ELSE rate_limits.window_ends END \
                         WHERE rate_limits.window_ends <= $3 OR rate_limits.hits + rate_limits.pending < $4 \
                         RETURNING window_ends",
                        vec![key.into(), (now + window).into(), now.into(), max.into()],
                    ))
                    .await?;
                if granted.is_some() {
                    return Ok(Reserved::Granted);
                }
                let row = db
                    .query_one_raw(statement(
                        backend,
                        "SELECT hits, window_ends FROM rate_limits WHERE key = $1",
                        vec![key.into()],
                    ))
                    .await?;
                let Some(row) = row else {
                    // Cleared since: try again at once.
                    return Ok(Reserved::Busy);
                };
                let hits: i32 = row.try_get("", "hits")?;
                let ends: i64 = row.try_get("", "window_ends")?;
                Ok(if i64::from(hits) >= max && ends > now {
                    Reserved::Limited {
                        retry_after: ends - now,
                    }
                } else {
                    Reserved::Busy
                })
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let (state, ttl_ms): (i64, i64) = redis::Script::new(RESERVE_SCRIPT)
                    .key(failure_key(prefix, key))
                    .arg(window * 1000)
                    .arg(max)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(AppError::internal)?;
                Ok(match state {
                    0 => Reserved::Granted,
                    1 => Reserved::Busy,
                    _ => Reserved::Limited {
                        retry_after: ttl_ms / 1000,
                    },
                })
            }
        }
    }

    async fn settle(&self, key: &str, window: Duration, outcome: Outcome) -> AppResult<()> {
        let window = window.as_secs().max(1) as i64;
        match self {
            Self::Database(db) => {
                let now = now_secs();
                let (sql, values) = match outcome {
                    // A window that lapsed (or was cleared) meanwhile: the
                    // failure opens a new one.
                    Outcome::Failed => (
                        "INSERT INTO rate_limits (key, window_ends, hits, pending) VALUES ($1, $2, 1, 0) \
                         ON CONFLICT (key) DO UPDATE SET \
                         hits = CASE WHEN rate_limits.window_ends <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
                         pending = CASE WHEN rate_limits.pending > 0 THEN rate_limits.pending - 1 ELSE 0 END, \
                         window_ends = CASE WHEN rate_limits.window_ends <= $3 THEN $2 ELSE rate_limits.window_ends END",
                        vec![key.into(), (now + window).into(), now.into()],
                    ),
                    Outcome::Passed => (
                        "UPDATE rate_limits SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END \
                         WHERE key = $1",
                        vec![key.into()],
                    ),
                    Outcome::PassedAndForgiven => (
                        "UPDATE rate_limits SET hits = 0, \
                         pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END \
                         WHERE key = $1",
                        vec![key.into()],
                    ),
                };
                db.execute_raw(statement(db.get_database_backend(), sql, values))
                    .await?;
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let _: i64 = redis::Script::new(SETTLE_SCRIPT)
                    .key(failure_key(prefix, key))
                    .arg(outcome.as_str())
                    .arg(window * 1000)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(AppError::internal)?;
            }
        }
        Ok(())
    }

    /// Forgets every attempt counted under `key`, of either kind.
    pub async fn clear(&self, key: &str) -> AppResult<()> {
        match self {
            Self::Database(db) => {
                db.execute_raw(statement(
                    db.get_database_backend(),
                    "DELETE FROM rate_limits WHERE key = $1",
                    vec![key.into()],
                ))
                .await?;
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let _: i64 = redis::cmd("DEL")
                    .arg(format!("{prefix}rl:{key}"))
                    .arg(failure_key(prefix, key))
                    .query_async(&mut conn)
                    .await
                    .map_err(AppError::internal)?;
            }
        }
        Ok(())
    }
}

/// Failure counters are Redis hashes (failures and reservations), apart
/// from the plain counters of `hit`.
fn failure_key(prefix: &str, key: &str) -> String {
    format!("{prefix}rf:{key}")
}

fn limited(retry_after: i64) -> AppError {
    AppError::RateLimited {
        retry_after_secs: retry_after.max(1) as u64,
    }
}
