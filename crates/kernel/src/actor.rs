//! Who acts, and from where: every service that changes something takes
//! an `Actor`, so its audit event and its throttles need nothing else.

use crate::ids::UserId;

/// Where a request came from, for sessions, throttling and the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Actor {
    /// None for changes with no user behind them (Stripe webhooks, the CLI).
    pub user_id: Option<UserId>,
    pub meta: RequestMeta,
}

impl Actor {
    pub fn user(user_id: UserId, meta: &RequestMeta) -> Self {
        Self {
            user_id: Some(user_id),
            meta: meta.clone(),
        }
    }

    /// Someone not signed in (declining an invitation by its link).
    pub fn anonymous(meta: &RequestMeta) -> Self {
        Self {
            user_id: None,
            meta: meta.clone(),
        }
    }

    pub fn system() -> Self {
        Self {
            user_id: None,
            meta: RequestMeta::default(),
        }
    }

    /// The acting user's id, or `UNAUTHENTICATED` for a change no user
    /// makes: services that need a user call this.
    pub fn id(&self) -> crate::error::AppResult<UserId> {
        self.user_id.ok_or(crate::error::AppError::Unauthenticated)
    }
}
