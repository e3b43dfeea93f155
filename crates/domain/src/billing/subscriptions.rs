//! Local state of Stripe customers and subscriptions, and the one way it
//! changes: applying a snapshot that is newer than the last one applied.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, OnConflict},
};
use serde_json::json;

use super::{
    SubscriptionStatus,
    stripe::Snapshot,
    unappliable::{self, Unappliable},
};
use crate::{
    Core,
    audit::{self, Actor, Event},
    error::{AppError, AppResult},
    ids::OrganizationId,
};

pub mod customer {
    use groundwork_kernel::ids::OrganizationId;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "stripe_customers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: OrganizationId,
        pub customer_id: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

groundwork_kernel::typed_id! {
    /// The local row of a Stripe subscription.
    pub struct SubscriptionId = "BillingSubscription";
}

pub mod subscription {
    pub use super::SubscriptionId;
    use groundwork_kernel::ids::OrganizationId;
    use sea_orm::entity::prelude::*;

    use crate::billing::{
        SubscriptionStatus,
        plans::{BillingInterval, PlanId},
    };

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: SubscriptionId,
        pub organization_id: OrganizationId,
        pub stripe_subscription_id: String,
        pub customer_id: String,
        pub status: SubscriptionStatus,
        pub plan_id: PlanId,
        pub price_id: Option<String>,
        pub billing_interval: Option<BillingInterval>,
        pub item_id: Option<String>,
        pub seats: Option<i32>,
        pub current_period_end: Option<DateTimeUtc>,
        pub cancel_at_period_end: bool,
        pub trial_end: Option<DateTimeUtc>,
        pub past_due_since: Option<DateTimeUtc>,
        /// Stripe's time (seconds) of the change last applied.
        pub stripe_updated_at: i64,
        /// The seat count Stripe should have, while it does not yet.
        pub seats_wanted: Option<i32>,
        pub seat_sync_attempts: i32,
        pub seat_sync_after: Option<DateTimeUtc>,
        pub seat_sync_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

impl subscription::Model {
    /// Stripe still bills it (or will): it counts for the plan and seats.
    pub fn is_live(&self) -> bool {
        !matches!(
            self.status,
            SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired
        )
    }
}

pub async fn customer_of(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
) -> AppResult<Option<String>> {
    Ok(customer::Entity::find_by_id(organization_id)
        .one(conn)
        .await?
        .map(|c| c.customer_id))
}

pub async fn organization_of_customer(
    conn: &impl ConnectionTrait,
    customer_id: &str,
) -> AppResult<Option<OrganizationId>> {
    Ok(customer::Entity::find()
        .filter(customer::Column::CustomerId.eq(customer_id))
        .one(conn)
        .await?
        .map(|c| c.organization_id))
}

/// Binds the customer to an organization that has none yet, and returns
/// the organization's customer: this one, or the one bound before. Of two
/// concurrent bindings the first insert wins and the other changes nothing.
/// A customer bound to another organization is an error (the column is
/// unique): callers that cannot rule it out check `organization_of_customer`.
pub async fn link_customer(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
    customer_id: &str,
) -> AppResult<String> {
    customer::Entity::insert(customer::ActiveModel {
        organization_id: Set(organization_id),
        customer_id: Set(customer_id.to_owned()),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(customer::Column::OrganizationId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    customer_of(conn, organization_id)
        .await?
        .ok_or_else(|| AppError::internal("a customer just bound cannot be read back"))
}

/// The organizations' subscriptions, the one that decides each plan first:
/// live ones before ended ones, newer before older.
pub async fn by_organization(
    conn: &impl ConnectionTrait,
    organization_ids: &[OrganizationId],
) -> AppResult<HashMap<OrganizationId, subscription::Model>> {
    let all = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(subscription::Column::CreatedAt)
        .all(conn)
        .await?;
    let mut chosen: HashMap<OrganizationId, subscription::Model> = HashMap::new();
    for sub in all {
        let replace = match chosen.get(&sub.organization_id) {
            None => true,
            Some(current) => sub.is_live() || !current.is_live(),
        };
        if replace {
            chosen.insert(sub.organization_id, sub);
        }
    }
    Ok(chosen)
}

pub async fn current(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
) -> AppResult<Option<subscription::Model>> {
    Ok(by_organization(conn, &[organization_id])
        .await?
        .remove(&organization_id))
}

/// What happened when a snapshot was offered.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Applied, but its price is in no plan of the catalog, or it has none:
    /// the subscription gives the free plan until the catalog has the price
    /// (then `groundwork billing sync` applies it again). Not applying it at
    /// all could leave an ended subscription granting its old plan.
    ChangedWithoutPlan {
        price: Option<String>,
    },
    /// Older than the last change applied: nothing moves back.
    Stale,
    /// It can never apply here; nothing changed.
    Ignored(Unappliable),
}

/// Applies Stripe's view of a subscription as of `changed_at` (Stripe's
/// clock, seconds), unless a newer one was applied already. Everything that
/// would make it fail for good is checked before anything is written; an
/// error is a failure that may pass.
pub async fn apply(
    conn: &impl ConnectionTrait,
    core: &Core,
    snapshot: &Snapshot,
    changed_at: i64,
) -> AppResult<Applied> {
    if let Err(why) = unappliable::snapshot(snapshot) {
        return Ok(Applied::Ignored(why));
    }
    let named = match snapshot.organization_id.as_deref() {
        Some(org) => match unappliable::organization_id("organization_id metadata", org) {
            Ok(org) => Some(org),
            Err(why) => return Ok(Applied::Ignored(why)),
        },
        None => None,
    };
    let existing = subscription::Entity::find()
        .filter(subscription::Column::StripeSubscriptionId.eq(&snapshot.id))
        .one(conn)
        .await?;
    if let Some(existing) = &existing
        && existing.stripe_updated_at > changed_at
    {
        return Ok(Applied::Stale);
    }
    let bound_to = organization_of_customer(conn, &snapshot.customer_id).await?;
    let organization_id = match (&existing, named, bound_to) {
        (Some(existing), _, _) => existing.organization_id,
        (None, Some(org), _) | (None, None, Some(org)) => org,
        (None, None, None) => {
            return Ok(Applied::Ignored(Unappliable::NoOrganization {
                customer: snapshot.customer_id.clone(),
            }));
        }
    };
    if crate::orgs::entity::organization::Entity::find_by_id(organization_id)
        .one(conn)
        .await?
        .is_none()
    {
        return Ok(Applied::Ignored(Unappliable::UnknownOrganization(
            organization_id,
        )));
    }
    if let Some(bound_to) = bound_to
        && bound_to != organization_id
    {
        return Ok(Applied::Ignored(
            Unappliable::CustomerOfAnotherOrganization {
                customer: snapshot.customer_id.clone(),
                named: organization_id,
                bound_to,
            },
        ));
    }
    link_customer(conn, organization_id, &snapshot.customer_id).await?;

    let plan = snapshot
        .price_id
        .as_deref()
        .and_then(|price| core.plans.by_stripe_price(price));
    let plan_id = plan.map_or_else(|| core.plans.free_plan().clone(), |(p, _)| p.id.clone());
    let interval = plan.map(|(_, i)| i);
    let now = Utc::now();
    let past_due_since = match (snapshot.status, &existing) {
        (SubscriptionStatus::PastDue, Some(e)) if e.status == SubscriptionStatus::PastDue => {
            e.past_due_since
        }
        (SubscriptionStatus::PastDue, _) => Some(stripe_time(changed_at)),
        _ => None,
    };
    let seats = snapshot
        .quantity
        .map(|q| i32::try_from(q).unwrap_or(i32::MAX));
    let previous_status = existing.as_ref().map(|e| e.status.stripe_name());
    let is_new = existing.is_none();
    let mut model = match existing {
        Some(e) => e.into(),
        None => subscription::ActiveModel {
            id: Set(SubscriptionId::new()),
            organization_id: Set(organization_id),
            stripe_subscription_id: Set(snapshot.id.clone()),
            seats_wanted: Set(None),
            seat_sync_attempts: Set(0),
            seat_sync_after: Set(None),
            seat_sync_error: Set(None),
            created_at: Set(now),
            ..Default::default()
        },
    };
    model.customer_id = Set(snapshot.customer_id.clone());
    model.status = Set(snapshot.status);
    model.plan_id = Set(plan_id.clone());
    model.price_id = Set(snapshot.price_id.clone());
    model.billing_interval = Set(interval);
    model.item_id = Set(snapshot.item_id.clone());
    model.seats = Set(seats);
    model.current_period_end = Set(snapshot.current_period_end);
    model.cancel_at_period_end = Set(snapshot.cancel_at_period_end);
    model.trial_end = Set(snapshot.trial_end);
    model.past_due_since = Set(past_due_since);
    model.stripe_updated_at = Set(changed_at);
    model.updated_at = Set(now);
    let saved = if is_new {
        model.insert(conn).await?
    } else {
        model.update(conn).await?
    };
    let stripe_subscription_id = saved.stripe_subscription_id;
    let action = if previous_status.is_none() {
        "subscription.created"
    } else {
        "subscription.updated"
    };
    audit::record(
        conn,
        organization_id,
        &Actor::system(),
        Event::external(
            action,
            "subscription",
            &stripe_subscription_id,
            json!({
                "status": snapshot.status.stripe_name(),
                "previousStatus": previous_status,
                "plan": plan_id.as_str(),
                "seats": seats,
                "cancelAtPeriodEnd": snapshot.cancel_at_period_end,
            }),
        ),
    )
    .await?;
    Ok(match plan {
        Some(_) => Applied::Changed,
        None => Applied::ChangedWithoutPlan {
            price: snapshot.price_id.clone(),
        },
    })
}

fn stripe_time(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_else(Utc::now)
}

/// Cancels every live subscription of an organization at Stripe, and
/// records that; used before the organization is deleted.
pub async fn cancel_all(core: &Core, organization_id: OrganizationId) -> AppResult<()> {
    let live: Vec<subscription::Model> = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(organization_id))
        .all(&core.db)
        .await?
        .into_iter()
        .filter(subscription::Model::is_live)
        .collect();
    if live.is_empty() {
        return Ok(());
    }
    let gateway = core.stripe.as_ref().ok_or_else(|| {
        AppError::conflict("This organization has a paid subscription, and billing is not configured to cancel it.")
    })?;
    for sub in live {
        gateway.cancel(&sub.stripe_subscription_id).await?;
        subscription::Entity::update_many()
            .col_expr(
                subscription::Column::Status,
                Expr::value(SubscriptionStatus::Canceled),
            )
            .col_expr(subscription::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(subscription::Column::Id.eq(sub.id))
            .exec(&core.db)
            .await?;
    }
    Ok(())
}

/// `groundwork billing sync`: reads every subscription back from Stripe and
/// applies it as of now; returns how many were applied and how many cannot
/// be (each logged with the reason).
pub async fn sync_all(core: &Core) -> AppResult<(usize, usize)> {
    let Some(gateway) = &core.stripe else {
        return Err(crate::error::AppError::BillingDisabled);
    };
    let all = gateway.all_subscriptions().await?;
    let now = Utc::now().timestamp();
    let (mut applied, mut ignored) = (0, 0);
    for snapshot in all {
        let txn = core.begin().await?;
        match apply(&txn, core, &snapshot, now).await? {
            Applied::Ignored(why) => {
                tracing::warn!(subscription = %snapshot.id, reason = %why, "Stripe subscription not applied");
                ignored += 1;
            }
            Applied::ChangedWithoutPlan { price } => {
                tracing::warn!(subscription = %snapshot.id, ?price, "Stripe subscription applied without a plan: its price is in no plan of the catalog");
                applied += 1;
            }
            Applied::Changed | Applied::Stale => applied += 1,
        }
        txn.commit().await?;
    }
    Ok((applied, ignored))
}
