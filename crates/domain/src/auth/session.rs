//! Sessions: opaque tokens handed to the client, stored only as hashes,
//! with idle and absolute expiry. (How they travel, cookie or bearer
//! token, is the API's business.)

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};

use super::entity::{
    session::{self, SessionId},
    user,
};
use crate::{actor::RequestMeta, config::Config, crypto, error::AppResult, ids::UserId};

/// `last_seen_at` is written at most once a minute per session...
const MAX_TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// ...and more often when the idle timeout is short: every tenth of it, so
/// a session used at least every nine tenths of the timeout never lapses,
/// while a busy session still costs at most one write a minute.
pub fn touch_interval(idle_timeout: Duration) -> Duration {
    (idle_timeout / 10).min(MAX_TOUCH_INTERVAL)
}

/// The signed-in user of a request and the session it came with.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user: user::Model,
    pub session_id: SessionId,
}

/// A session just started: its id, and its token, which exists in clear
/// only here and in the response that hands it over.
pub struct Issued {
    pub id: SessionId,
    pub token: String,
}

/// Starts a session for `user_id`, ending `replaces`: the session the
/// client presented, whoever's it was. Signing in rotates the session, so a
/// token planted in or copied from the browser before authentication is
/// worthless after it.
pub async fn issue(
    conn: &impl ConnectionTrait,
    config: &Config,
    user_id: UserId,
    meta: &RequestMeta,
    replaces: Option<SessionId>,
) -> AppResult<Issued> {
    if let Some(old) = replaces {
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(session::Column::Id.eq(old))
            .filter(session::Column::RevokedAt.is_null())
            .exec(conn)
            .await?;
    }
    let token = crypto::random_token();
    let id = SessionId::new();
    let now = Utc::now();
    session::Entity::insert(session::ActiveModel {
        id: Set(id),
        token_hash: Set(crypto::token_hash(&token)),
        user_id: Set(user_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + config.session_absolute_timeout),
        user_agent: Set(meta.user_agent.clone()),
        ip: Set(meta.ip.clone()),
        revoked_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(Issued { id, token })
}

pub fn is_live(session: &session::Model, config: &Config, now: DateTime<Utc>) -> bool {
    session.revoked_at.is_none()
        && session.expires_at > now
        && session.last_seen_at + config.session_idle_timeout > now
}

/// The viewer a token belongs to, if its session is live. Refreshes
/// `last_seen_at` when it is older than `touch_interval`.
pub async fn authenticate(
    conn: &impl ConnectionTrait,
    config: &Config,
    token: &str,
) -> AppResult<Option<Viewer>> {
    let found = session::Entity::find()
        .filter(session::Column::TokenHash.eq(crypto::token_hash(token)))
        .find_also_related(user::Entity)
        .one(conn)
        .await?;
    let Some((session, Some(user))) = found else {
        return Ok(None);
    };
    let now = Utc::now();
    if !is_live(&session, config, now) {
        return Ok(None);
    }
    if session.last_seen_at + touch_interval(config.session_idle_timeout) <= now {
        // Conditional, so concurrent requests write it once.
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .filter(session::Column::LastSeenAt.eq(session.last_seen_at))
            .exec(conn)
            .await?;
    }
    Ok(Some(Viewer {
        user,
        session_id: session.id,
    }))
}

/// Revokes the user's live sessions, except `keep`; returns how many.
pub async fn revoke_all(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    keep: Option<SessionId>,
) -> AppResult<u64> {
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(Utc::now()));
    if let Some(keep) = keep {
        update = update.filter(session::Column::Id.ne(keep));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_is_written_often_enough_for_the_idle_timeout() {
        let secs = Duration::from_secs;
        assert_eq!(touch_interval(secs(20)), secs(2));
        assert_eq!(touch_interval(secs(15 * 60)), secs(60));
        assert_eq!(touch_interval(secs(7 * 86400)), secs(60));
        assert_eq!(
            touch_interval(Duration::from_millis(500)),
            Duration::from_millis(50)
        );
    }
}
