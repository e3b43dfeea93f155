//! Subscriptions: any slice's live events for the members of one
//! organization, resumable from an event's cursor, and how a stream ends.

use std::sync::Arc;

use async_graphql::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures_util::{Stream, StreamExt};

use super::context::ContextExt;
use crate::{
    error::{AppError, AppResult},
    events::{Filter, LiveEvent, Resume},
    ids::OrganizationId,
    orgs::service::membership_of,
};

/// The items of `stream` up to and including its first error, then the
/// end at once: a subscription that fails tells the client why (an error
/// in a `next` message) and completes, instead of going quiet.
pub fn until_error<S, T, E>(stream: S) -> impl Stream<Item = Result<T, E>>
where
    S: Stream<Item = Result<T, E>>,
{
    futures_util::stream::unfold(
        (Box::pin(stream), false),
        |(mut stream, failed)| async move {
            if failed {
                return None;
            }
            let item = stream.next().await?;
            let failed = item.is_err();
            Some((item, (stream, failed)))
        },
    )
}

/// An event's position as clients hold it: opaque, like every cursor.
pub fn event_cursor(position: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("e:{position}"))
}

/// The position inside an event cursor; anything else was never handed out.
fn event_position(cursor: &str) -> AppResult<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("e:")?.parse::<i64>().ok())
        .filter(|p| *p >= 0)
        .ok_or_else(|| AppError::bad_input("after", "This cursor is not valid."))
}

/// Live events of `topic` (an entity type's name) in one organization, for
/// the viewer while a member of it: `NOT_FOUND` at once for anyone else.
/// With `after` (an event's `cursor`), the events since that one come
/// first, in order; one older than the log keeps is `CURSOR_EXPIRED`.
/// Membership is checked again at every event, so a member removed
/// meanwhile stops receiving at once, told `NOT_FOUND`. A check that fails
/// is retried, since a blip of the database must not end the stream; one
/// that keeps failing ends it with `INTERNAL`.
pub async fn organization_events(
    ctx: &Context<'_>,
    organization: OrganizationId,
    topic: &'static str,
    after: Option<&str>,
) -> AppResult<impl Stream<Item = Result<Arc<LiveEvent>, async_graphql::Error>> + use<>> {
    let after = after.map(event_position).transpose()?;
    let viewer = ctx.viewer()?.user.id;
    let core = ctx.core().clone();
    if membership_of(&core.db, organization, viewer)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound("Organization"));
    }
    let filter = Filter {
        organization_id: organization,
        topic,
    };
    let events = match core.events.stream(filter, after).await {
        Resume::Events(events) => events,
        Resume::Expired => return Err(AppError::CursorExpired),
        Resume::Failed(e) => return Err(e.into()),
    };
    let events = events.then(move |event| {
        let core = core.clone();
        async move {
            let event = event.map_err(AppError::from)?;
            let checks = &core.config;
            let member = crate::db::retry(
                checks.live_checks.retry_limit,
                checks.database_timeouts.statement,
                || {
                    let core = core.clone();
                    async move { membership_of(&core.db, organization, viewer).await }
                },
            )
            .await?;
            match member {
                Some(_) => Ok(event),
                None => Err(AppError::NotFound("Organization").into()),
            }
        }
    });
    Ok(until_error(events))
}
