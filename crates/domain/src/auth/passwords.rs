//! Password hashing: argon2id with the baseline's parameters, run on the
//! blocking pool in a fixed number of slots.
//!
//! Each computation holds 19 MiB, so the slots bound the memory hashing can
//! take as much as the CPU. Work waiting for a slot queues, but only so
//! far: past `PASSWORD_HASH_QUEUE` waiting operations a new one is refused
//! at once with `RATE_LIMITED` instead of waiting behind minutes of work.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{AppError, AppResult};

/// What hashing tells the server's metrics.
pub trait HashingObserver: Send + Sync {
    /// A hash was computed (or checked).
    fn hashed(&self);
    /// An operation was refused because the queue was full.
    fn refused(&self);
    /// An operation waits for a slot until the returned guard is dropped.
    fn queued(&self) -> Box<dyn Send>;
}

/// For commands and tests that keep no metrics.
pub struct Unobserved;

impl HashingObserver for Unobserved {
    fn hashed(&self) {}
    fn refused(&self) {}
    fn queued(&self) -> Box<dyn Send> {
        Box::new(())
    }
}

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

/// What one computation is assumed to take until one has been measured.
const FIRST_ESTIMATE: Duration = Duration::from_millis(50);

pub struct Passwords {
    shared: Arc<Shared>,
}

struct Shared {
    permits: Arc<Semaphore>,
    concurrency: usize,
    queue: usize,
    waiting: AtomicUsize,
    /// A moving average of one computation, in microseconds, to tell a
    /// refused client when the queue will have drained.
    average_micros: AtomicU64,
    /// Verified against when an email has no account or no password, so
    /// that answer takes as long as a wrong password.
    dummy_hash: OnceLock<String>,
    metrics: Arc<dyn HashingObserver>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random source is available");
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

impl Shared {
    fn record(&self, took: Duration) {
        let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        // An eighth of each new figure: steady under noise, quick to follow
        // a slower machine.
        let _ = self
            .average_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |avg| {
                Some(avg - avg / 8 + took / 8)
            });
        self.metrics.hashed();
    }

    /// Whole seconds until the work queued now would have run.
    fn drain_secs(&self) -> u64 {
        let average = self.average_micros.load(Ordering::Relaxed);
        let rounds = (self.waiting.load(Ordering::Relaxed) / self.concurrency + 1) as u64;
        (average.saturating_mul(rounds)).div_ceil(1_000_000).max(1)
    }
}

/// Takes a place in the queue back when the wait ends, however it ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Passwords {
    /// `concurrency` computations at once, at most `queue` waiting.
    pub fn new(concurrency: usize, queue: usize, metrics: Arc<dyn HashingObserver>) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            shared: Arc::new(Shared {
                permits: Arc::new(Semaphore::new(concurrency)),
                concurrency,
                queue,
                waiting: AtomicUsize::new(0),
                average_micros: AtomicU64::new(FIRST_ESTIMATE.as_micros() as u64),
                dummy_hash: OnceLock::new(),
                metrics,
            }),
        }
    }

    /// A hashing slot, once one is free; `RATE_LIMITED` at once when the
    /// queue is full.
    pub async fn slot(&self) -> AppResult<HashSlot> {
        let shared = &self.shared;
        // The semaphore is fair: with anyone waiting this fails, so nobody
        // passes the queue.
        if let Ok(permit) = shared.permits.clone().try_acquire_owned() {
            return Ok(HashSlot {
                permit: Some(permit),
                shared: shared.clone(),
            });
        }
        let admitted = shared
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                (w < shared.queue).then_some(w + 1)
            })
            .is_ok();
        if !admitted {
            shared.metrics.refused();
            return Err(AppError::RateLimited {
                retry_after_secs: shared.drain_secs(),
            });
        }
        let _place = Waiting(&shared.waiting);
        let _counted = shared.metrics.queued();
        let permit = shared
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(AppError::internal)?;
        Ok(HashSlot {
            permit: Some(permit),
            shared: shared.clone(),
        })
    }

    /// Hashes in a slot of its own.
    pub async fn hash(&self, password: &str) -> AppResult<String> {
        self.slot().await?.hash(password).await
    }
}

/// A hashing slot held by one operation, which may run several computations
/// in it (check the current password, hash the new one) without queueing
/// again.
pub struct HashSlot {
    /// Out while a computation runs: it travels with the work, so a request
    /// abandoned mid-way keeps the slot taken until its computation ends
    /// and the slots keep bounding what runs.
    permit: Option<OwnedSemaphorePermit>,
    shared: Arc<Shared>,
}

impl HashSlot {
    async fn run<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&Shared) -> T + Send + 'static,
    ) -> AppResult<T> {
        let permit = self
            .permit
            .take()
            .ok_or_else(|| AppError::internal("a hashing slot was used after it failed"))?;
        let shared = self.shared.clone();
        let (out, permit) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let out = work(&shared);
            shared.record(started.elapsed());
            (out, permit)
        })
        .await
        .map_err(|e| AppError::internal(format!("password task failed: {e}")))?;
        self.permit = Some(permit);
        Ok(out)
    }

    pub async fn hash(&mut self, password: &str) -> AppResult<String> {
        let password = password.to_owned();
        self.run(move |_| hash_blocking(&password))
            .await?
            .map_err(|e| AppError::internal(format!("cannot hash a password: {e}")))
    }

    /// Whether `password` matches `hash`; with no hash, the same work is done
    /// against a dummy and the answer is no.
    pub async fn verify(&mut self, password: &str, hash: Option<&str>) -> AppResult<bool> {
        let password = password.to_owned();
        let known = hash.map(str::to_owned);
        self.run(move |shared| {
            let hash = match &known {
                Some(hash) => hash.as_str(),
                None => shared.dummy_hash.get_or_init(|| {
                    hash_blocking(&crate::crypto::random_token()).expect("dummy hash")
                }),
            };
            let ok = PasswordHash::new(hash)
                .map(|parsed| {
                    argon2()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && known.is_some()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_the_baseline_parameters() {
        let passwords = Passwords::new(1, 1, Arc::new(Unobserved));
        let hash = passwords.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let mut slot = passwords.slot().await.unwrap();
        assert!(slot.verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!slot.verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(!slot.verify("correct horse", None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let passwords = Arc::new(Passwords::new(1, 1, Arc::new(Unobserved)));
        let held = passwords.slot().await.unwrap();
        let queued = tokio::spawn({
            let passwords = passwords.clone();
            async move { passwords.slot().await.map(drop) }
        });
        while passwords.shared.waiting.load(Ordering::Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        match passwords.slot().await {
            Err(AppError::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
            _ => panic!("a third operation should be refused"),
        }
        drop(held);
        queued.await.unwrap().unwrap();
        // The queue emptied: the next one gets a slot.
        passwords.slot().await.unwrap();
    }
}
