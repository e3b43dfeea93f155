//! Per-seat plans: the Stripe subscription's quantity follows the member
//! count. The count wanted is stored with the membership change; a worker
//! pushes it to Stripe and retries until Stripe has it, so an outage delays
//! the update but never loses it.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::{
    entitlements::member_counts,
    subscriptions::{self, subscription},
};
use crate::{Core, backoff, db::bounded, error::AppResult, ids::OrganizationId};

const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Longer than one push to Stripe may take (its client gives up after 20 s).
const SEAT_PUSH_CLAIM: chrono::Duration = chrono::Duration::seconds(60);

/// Records the seats a per-seat subscription should have now, in the
/// transaction that changed the organization's members (`Work::members_changed`
/// does, and wakes the worker once that has committed).
pub async fn members_changed(
    conn: &impl ConnectionTrait,
    core: &Core,
    organization_id: OrganizationId,
) -> AppResult<()> {
    let Some(sub) = subscriptions::current(conn, organization_id).await? else {
        return Ok(());
    };
    let per_seat = core.plans.resolve(&sub.plan_id).per_seat();
    if !sub.is_live() || !per_seat {
        return Ok(());
    }
    let members = member_counts(conn, &[organization_id]).await?;
    let wanted = members.get(&organization_id).copied().unwrap_or(0).max(1);
    subscription::Entity::update_many()
        .col_expr(
            subscription::Column::SeatsWanted,
            Expr::value(i32::try_from(wanted).unwrap_or(i32::MAX)),
        )
        .col_expr(subscription::Column::SeatSyncAttempts, Expr::value(0))
        .col_expr(
            subscription::Column::SeatSyncAfter,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(subscription::Column::Id.eq(sub.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Pushes wanted seat counts to Stripe until shutdown.
pub async fn run_worker(core: Arc<Core>) {
    if core.stripe.is_none() {
        return;
    }
    loop {
        if let Err(e) = push_due(&core).await {
            tracing::warn!(error = ?e, "seat sync pass failed");
        }
        tokio::select! {
            () = core.shutdown.cancelled() => return,
            () = core.seat_sync.notified() => {}
            () = tokio::time::sleep(core.config.stripe.seat_sync_interval) => {}
        }
    }
}

async fn push_due(core: &Core) -> AppResult<()> {
    let Some(gateway) = &core.stripe else {
        return Ok(());
    };
    let now = Utc::now();
    let limit = core.config.database_timeouts.statement;
    // Only the subscriptions Stripe is behind on, and not waiting out a retry.
    let due = subscription::Entity::find()
        .filter(subscription::Column::SeatsWanted.is_not_null())
        .filter(
            Condition::any()
                .add(subscription::Column::Seats.is_null())
                .add(sea_orm::ExprTrait::ne(
                    Expr::col(subscription::Column::Seats),
                    Expr::col(subscription::Column::SeatsWanted),
                )),
        )
        .filter(
            Condition::any()
                .add(subscription::Column::SeatSyncAfter.is_null())
                .add(subscription::Column::SeatSyncAfter.lte(now)),
        )
        .all(&core.db);
    let due: Vec<subscription::Model> = bounded(limit, due).await?;
    for sub in due {
        let (Some(wanted), Some(item)) = (sub.seats_wanted, &sub.item_id) else {
            continue;
        };
        // Claimed for a while, so that of the workers of every replica that
        // read it due, one pushes it; a worker that dies mid-push leaves it
        // to the others once the claim lapses.
        let claim = subscription::Entity::update_many()
            .col_expr(
                subscription::Column::SeatSyncAfter,
                Expr::value(now + SEAT_PUSH_CLAIM),
            )
            .filter(subscription::Column::Id.eq(sub.id))
            .filter(subscription::Column::SeatsWanted.eq(wanted))
            .filter(
                Condition::any()
                    .add(subscription::Column::SeatSyncAfter.is_null())
                    .add(subscription::Column::SeatSyncAfter.lte(now)),
            )
            .exec(&core.db);
        if bounded(limit, claim).await?.rows_affected != 1 {
            continue;
        }
        let result = gateway.set_quantity(item, wanted.max(0) as u64).await;
        let update = subscription::Entity::update_many()
            .filter(subscription::Column::Id.eq(sub.id))
            // A newer count recorded meanwhile is pushed on the next pass.
            .filter(subscription::Column::SeatsWanted.eq(wanted));
        match result {
            Ok(()) => {
                let pushed = update
                    .col_expr(subscription::Column::Seats, Expr::value(wanted))
                    .col_expr(
                        subscription::Column::SeatSyncAfter,
                        Expr::value(Option::<chrono::DateTime<Utc>>::None),
                    )
                    .col_expr(subscription::Column::SeatSyncAttempts, Expr::value(0))
                    .col_expr(
                        subscription::Column::SeatSyncError,
                        Expr::value(Option::<String>::None),
                    )
                    .exec(&core.db);
                bounded(limit, pushed).await?;
                tracing::info!(subscription = %sub.stripe_subscription_id, seats = wanted, "seats updated at Stripe");
            }
            Err(e) => {
                let attempts = sub.seat_sync_attempts + 1;
                let base = core.config.stripe.seat_sync_retry_base;
                let delay = backoff::delay(base, attempts.max(1) as u32, MAX_BACKOFF);
                tracing::warn!(subscription = %sub.stripe_subscription_id, attempts, ?delay, error = ?e, "cannot update seats at Stripe; will retry");
                let retry = update
                    .col_expr(
                        subscription::Column::SeatSyncAttempts,
                        Expr::value(attempts),
                    )
                    .col_expr(
                        subscription::Column::SeatSyncAfter,
                        Expr::value(Utc::now() + delay),
                    )
                    .col_expr(
                        subscription::Column::SeatSyncError,
                        Expr::value(format!("{e:?}")),
                    )
                    .exec(&core.db);
                bounded(limit, retry).await?;
            }
        }
    }
    Ok(())
}
