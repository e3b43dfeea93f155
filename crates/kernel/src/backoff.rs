//! Waiting longer after each failure: the one rule every retry follows
//! (mail delivery, seat pushes, reaching the database, checks of live
//! streams, contended rate-limit counters).

use std::time::Duration;

/// The wait before retry number `attempt` (1 for the first): `base`,
/// doubled with each further attempt, never more than `max`.
pub fn delay(base: Duration, attempt: u32, max: Duration) -> Duration {
    let doublings = attempt.saturating_sub(1).min(30);
    base.saturating_mul(2u32.saturating_pow(doublings)).min(max)
}

/// Successive waits for a loop that retries until it succeeds or gives up:
/// `first`, then doubling up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self { next: first, max }
    }

    /// The wait to take now; the following one is twice as long.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// The wait the next call returns.
    pub fn peek(&self) -> Duration {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_are_capped() {
        let (base, max) = (Duration::from_secs(10), Duration::from_secs(3600));
        assert_eq!(delay(base, 1, max), Duration::from_secs(10));
        assert_eq!(delay(base, 3, max), Duration::from_secs(40));
        assert_eq!(delay(base, 30, max), max);
        assert_eq!(delay(base, 0, max), base);
        assert_eq!(delay(base, u32::MAX, max), max);
        let mut waits = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let taken: Vec<u128> = (0..4).map(|_| waits.next_wait().as_millis()).collect();
        assert_eq!(taken, [100, 200, 350, 350]);
    }
}
