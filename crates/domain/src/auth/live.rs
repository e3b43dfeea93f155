//! Open WebSockets end with the session they were opened with.
//!
//! A socket is authenticated once, at `connection_init`; what it streams
//! afterwards must stop when its session ends, however it ends: signed out,
//! revoked, ended by a password change or reset or by deleting the account,
//! idle or past its absolute lifetime, on this process or on another.
//! Each process re-checks the sessions of its open sockets every
//! `WS_SESSION_CHECK_INTERVAL`, in one batched read, and at once for a user
//! whose sessions some process reports ended (`events::SessionHint`). The
//! periodic check is what makes it complete: it needs no hint, so a way of
//! ending sessions added later, or a hint lost with a LISTEN connection,
//! still ends the socket within an interval.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::{sync::watch, time::Instant};

use super::{
    entity::{
        session::{self, SessionId},
        user,
    },
    session::is_live,
};
use crate::{Core, events::SessionHint, ids::UserId};

/// Why a socket's session no longer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Signed out, revoked, expired, or its user is gone.
    Ended,
    /// It could not be checked for longer than `WS_CHECK_RETRY_LIMIT`; the
    /// cause is logged under `error_id`.
    Unchecked { error_id: String },
}

/// The sessions of this process's open sockets.
#[derive(Clone, Default)]
pub struct SessionWatcher(Arc<Mutex<HashMap<SessionId, Watched>>>);

struct Watched {
    user_id: UserId,
    ended: watch::Sender<Option<Ended>>,
    sockets: usize,
    /// When the session was last found live.
    confirmed_at: Instant,
}

/// One socket's hold on its session; dropping it stops the watching.
pub struct SessionWatch {
    watcher: SessionWatcher,
    session_id: SessionId,
    ended: watch::Receiver<Option<Ended>>,
}

impl SessionWatch {
    /// Resolves when the session ends (cancel-safe).
    pub async fn ended(&mut self) -> Ended {
        loop {
            if let Some(ended) = self.ended.borrow_and_update().clone() {
                return ended;
            }
            if self.ended.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

impl Drop for SessionWatch {
    fn drop(&mut self) {
        let mut watched = self.watcher.lock();
        if let Some(entry) = watched.get_mut(&self.session_id) {
            entry.sockets -= 1;
            if entry.sockets == 0 {
                watched.remove(&self.session_id);
            }
        }
    }
}

/// Which sessions one check covers.
enum Scope {
    All,
    Users(HashSet<UserId>),
}

impl SessionWatcher {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Watched>> {
        // Plain bookkeeping; a panic elsewhere cannot leave it torn.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Watches `session_id` (of `user_id`), just found live, for a socket.
    pub fn watch(&self, session_id: SessionId, user_id: UserId) -> SessionWatch {
        let mut watched = self.lock();
        let entry = watched.entry(session_id).or_insert_with(|| Watched {
            user_id,
            ended: watch::channel(None).0,
            sockets: 0,
            confirmed_at: Instant::now(),
        });
        if entry.ended.borrow().is_some() {
            // Found ended (or unverifiable) before, live now: the sockets
            // told so keep their answer, this one starts afresh.
            entry.ended = watch::channel(None).0;
        }
        entry.confirmed_at = Instant::now();
        entry.sockets += 1;
        SessionWatch {
            watcher: self.clone(),
            session_id,
            ended: entry.ended.subscribe(),
        }
    }

    /// Checks the watched sessions until the server shuts down.
    pub async fn run(self, core: Arc<Core>) {
        let mut hints = core.events.subscribe_sessions();
        let mut every = tokio::time::interval(core.config.live_checks.session_interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let mut scope = tokio::select! {
                () = core.shutdown.cancelled() => return,
                _ = every.tick() => Scope::All,
                hint = hints.recv() => match hint {
                    Ok(SessionHint::Ended { user_id }) => Scope::Users(HashSet::from([user_id])),
                    Ok(SessionHint::Missed) | Err(_) => Scope::All,
                },
            };
            // Hints that came meanwhile are covered by the same check.
            while let Ok(hint) = hints.try_recv() {
                match (&mut scope, hint) {
                    (Scope::Users(users), SessionHint::Ended { user_id }) => {
                        users.insert(user_id);
                    }
                    _ => scope = Scope::All,
                }
            }
            self.check(&core, scope).await;
        }
    }

    async fn check(&self, core: &Core, scope: Scope) {
        let ids: Vec<SessionId> = self
            .lock()
            .iter()
            .filter(|(_, w)| match &scope {
                Scope::All => true,
                Scope::Users(users) => users.contains(&w.user_id),
            })
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            return;
        }
        let started = Instant::now();
        let limit = core.config.database_timeouts.statement;
        match crate::db::bounded(limit, live_among(core, &ids)).await {
            Ok(live) => {
                let mut watched = self.lock();
                for id in &ids {
                    let Some(entry) = watched.get_mut(id) else {
                        continue;
                    };
                    if live.contains(id) {
                        entry.confirmed_at = started;
                    } else {
                        entry.ended.send_replace(Some(Ended::Ended));
                    }
                }
            }
            Err(error) => self.unchecked(&ids, &error, core.config.live_checks.retry_limit),
        }
    }

    /// A failed check: sessions not confirmed for longer than `limit` end
    /// with an error; the others wait for the next check.
    fn unchecked(&self, ids: &[SessionId], error: &sea_orm::DbErr, limit: Duration) {
        let watched = self.lock();
        let overdue: Vec<&Watched> = ids
            .iter()
            .filter_map(|id| watched.get(id))
            .filter(|w| w.confirmed_at.elapsed() > limit)
            .collect();
        if overdue.is_empty() {
            tracing::warn!(%error, "cannot check the sessions of open sockets; retrying");
            return;
        }
        let error_id = uuid::Uuid::now_v7().to_string();
        tracing::error!(
            error_id = %error_id,
            %error,
            sockets = overdue.len(),
            "the sessions of open sockets could not be checked for too long; closing them"
        );
        for entry in overdue {
            entry.ended.send_replace(Some(Ended::Unchecked {
                error_id: error_id.clone(),
            }));
        }
    }
}

/// Which of `ids` are live sessions of existing users, in one statement
/// per 500 ids.
async fn live_among(core: &Core, ids: &[SessionId]) -> Result<HashSet<SessionId>, sea_orm::DbErr> {
    let now = Utc::now();
    let mut live = HashSet::new();
    for chunk in ids.chunks(500) {
        let rows = session::Entity::find()
            .filter(session::Column::Id.is_in(chunk.iter().copied()))
            .find_also_related(user::Entity)
            .all(&core.db)
            .await?;
        live.extend(
            rows.into_iter()
                .filter(|(s, user)| user.is_some() && is_live(s, &core.config, now))
                .map(|(s, _)| s.id),
        );
    }
    Ok(live)
}
