//! One subscriber's events: resumed from a position through the log, then
//! followed live through the process's reader, in order and each once.

use std::sync::Arc;

use futures_util::Stream;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::{LiveEvent, Shared, log};
use crate::ids::OrganizationId;

/// Events read from the log at once while catching up.
const CATCH_UP_BATCH: u64 = 200;

/// Which events a subscriber wants: one topic of one organization.
#[derive(Debug, Clone)]
pub struct Filter {
    pub organization_id: OrganizationId,
    pub topic: &'static str,
}

impl Filter {
    fn admits(&self, event: &LiveEvent) -> bool {
        event.organization_id == self.organization_id && event.topic == self.topic
    }
}

/// How opening a stream went.
pub enum Resume {
    /// The events after the position asked for (or, without one, those
    /// committed from now on), then every one as it commits. An item is an
    /// error when the log cannot be read; the stream ends after it.
    Events(Box<dyn Stream<Item = Result<Arc<LiveEvent>, sea_orm::DbErr>> + Send + Unpin>),
    /// The position is older than the log keeps: the subscriber has missed
    /// events no one can give it, and must refetch what it shows.
    Expired,
    /// The log could not be read to resume.
    Failed(sea_orm::DbErr),
}

struct State {
    shared: Arc<Shared>,
    filter: Filter,
    receiver: Receiver<Arc<LiveEvent>>,
    /// The last position given to the subscriber (or skipped as before it).
    last: i64,
    /// Read from the log, not yet given.
    pending: std::collections::VecDeque<Arc<LiveEvent>>,
    /// Whether the log must be read before the channel is (resuming, or
    /// after the channel dropped events it could not hold).
    catching_up: bool,
    failed: bool,
}

pub async fn open(shared: Arc<Shared>, filter: Filter, after: Option<i64>) -> Resume {
    // The channel first: whatever commits from now on is in it or, when
    // it has already been read, in the log.
    let receiver = shared.tail.subscribe();
    // Without a position, what the log holds is the past, even when this
    // process's reader has not read it all yet: an event committed before
    // the subscription began is not news to it.
    let now = match after {
        Some(after) => after,
        None => match crate::db::bounded(shared.statement_timeout, log::end(&shared.db)).await {
            Ok(end) => end.max(shared.position.load(std::sync::atomic::Ordering::Acquire)),
            Err(e) => return Resume::Failed(e),
        },
    };
    let mut state = State {
        last: now,
        catching_up: after.is_some(),
        shared,
        filter,
        receiver,
        pending: Default::default(),
        failed: false,
    };
    if let Some(after) = after {
        // Read once before the horizon is checked: a prune that removed
        // events after `after` had moved the horizon past it when it
        // committed, so seeing the horizon at or before `after` now means
        // nothing this read could have seen was gone.
        if let Err(e) = state.catch_up().await {
            return Resume::Failed(e);
        }
        match log::horizon(&state.shared.db).await {
            Ok(horizon) if after < horizon => return Resume::Expired,
            Ok(_) => {}
            Err(e) => return Resume::Failed(e),
        }
    }
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    });
    Resume::Events(Box::new(Box::pin(stream)))
}

impl State {
    /// Reads the next batch of this subscriber's events after `last` from
    /// the log into `pending`; when there are no more, the channel takes over.
    async fn catch_up(&mut self) -> Result<(), sea_orm::DbErr> {
        let read = crate::db::bounded(
            self.shared.statement_timeout,
            log::after(
                &self.shared.db,
                self.last,
                Some(&self.filter),
                CATCH_UP_BATCH,
            ),
        )
        .await?;
        if (read.len() as u64) < CATCH_UP_BATCH {
            self.catching_up = false;
        }
        self.pending.extend(read.into_iter().map(Arc::new));
        Ok(())
    }

    async fn next(&mut self) -> Option<Result<Arc<LiveEvent>, sea_orm::DbErr>> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.last = event.position;
                return Some(Ok(event));
            }
            if self.catching_up {
                if let Err(e) = self.catch_up().await {
                    self.failed = true;
                    return Some(Err(e));
                }
                continue;
            }
            match self.receiver.recv().await {
                Ok(event) => {
                    if event.position > self.last && self.filter.admits(&event) {
                        self.last = event.position;
                        return Some(Ok(event));
                    }
                }
                // Events went by faster than this subscriber took them: the
                // log still has them.
                Err(RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "a live subscriber fell behind; reading the log");
                    self.catching_up = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
