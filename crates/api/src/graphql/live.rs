//! Subscriptions: any slice's live events for the members of one
//! organization, and how a stream ends.

use std::sync::Arc;

use async_graphql::Context;
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::context::ContextExt;
use crate::{
    error::{AppError, AppResult},
    events::LiveEvent,
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

/// Live events of `topic` (an entity type's name) in one organization, for
/// the viewer while a member of it: `NOT_FOUND` at once for anyone else.
/// Membership is checked again at every event, so a member removed
/// meanwhile stops receiving at once, told `NOT_FOUND`. A check that fails
/// is retried, since a blip of the database must not end the stream; one
/// that keeps failing ends it with `INTERNAL`.
pub async fn organization_events(
    ctx: &Context<'_>,
    organization: OrganizationId,
    topic: &'static str,
) -> AppResult<impl Stream<Item = Result<Arc<LiveEvent>, async_graphql::Error>> + use<>> {
    let viewer = ctx.viewer()?.user.id;
    let core = ctx.core().clone();
    if membership_of(&core.db, organization, viewer)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound("Organization"));
    }
    let events = received(core.events.subscribe())
        .filter(move |event| {
            std::future::ready(event.organization_id == organization && event.topic == topic)
        })
        .then(move |event| {
            let core = core.clone();
            async move {
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

/// The bus's events as a stream; a subscriber that falls too far behind
/// skips what it missed rather than ending.
fn received(receiver: Receiver<Arc<LiveEvent>>) -> impl Stream<Item = Arc<LiveEvent>> {
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, receiver)),
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a live event subscriber fell behind");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
