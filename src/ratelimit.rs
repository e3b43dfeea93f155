//! Fixed-window attempt counters shared by every replica: in the database,
//! or in Redis when `REDIS_URL` is set.
//!
//! An attempt is counted atomically *before* the work it guards, so
//! concurrent attempts (aliased fields, batches, parallel requests) cannot
//! slip past the limit together.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::{
    config::Limit,
    db::statement,
    error::{AppError, AppResult},
};

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

const HIT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}
";

const REFUND_SCRIPT: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0
";

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
            return Err(AppError::RateLimited {
                retry_after_secs: retry_after as u64,
            });
        }
        Ok(())
    }

    /// Takes back one counted attempt (a success that should not count).
    pub async fn refund(&self, key: &str) -> AppResult<()> {
        match self {
            Self::Database(db) => {
                db.execute_raw(statement(
                    db.get_database_backend(),
                    "UPDATE rate_limits SET hits = hits - 1 WHERE key = $1 AND hits > 0",
                    vec![key.into()],
                ))
                .await?;
            }
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let _: i64 = redis::Script::new(REFUND_SCRIPT)
                    .key(format!("{prefix}rl:{key}"))
                    .invoke_async(&mut conn)
                    .await
                    .map_err(AppError::internal)?;
            }
        }
        Ok(())
    }

    /// Forgets every attempt counted under `key`.
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
                    .query_async(&mut conn)
                    .await
                    .map_err(AppError::internal)?;
            }
        }
        Ok(())
    }
}
