//! Paying: Checkout and the customer portal, for those who may manage billing.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{
    entitlements,
    plans::BillingInterval,
    stripe::StripeGateway,
    subscriptions::{self, customer_of, link_customer},
};
use crate::{
    Core,
    access::{Permission, Role},
    audit::Actor,
    auth::entity::user,
    error::{AppError, AppResult},
    ids::OrganizationId,
    orgs::{
        entity::{membership, organization},
        service::role_in,
    },
    text,
};

/// The longest plan id (its column's size).
const PLAN_ID_MAX: usize = 64;

fn gateway(core: &Core) -> AppResult<&StripeGateway> {
    core.stripe.as_ref().ok_or(AppError::BillingDisabled)
}

/// The organization's Stripe customer, created on first use.
///
/// Stripe is called with no transaction open: a transaction holds the
/// organization's lock, and on SQLite the only writer, so a slow answer
/// from Stripe would stall everyone else's writes. Concurrent checkouts ask
/// Stripe with one idempotency key and get one customer; recording it is
/// one insert, and when another request recorded a customer first, that
/// one is the organization's and is used instead.
async fn customer(
    core: &Core,
    gateway: &StripeGateway,
    organization_id: OrganizationId,
) -> AppResult<String> {
    if let Some(existing) = customer_of(&core.db, organization_id).await? {
        return Ok(existing);
    }
    let org = organization::Entity::find_by_id(organization_id)
        .one(&core.db)
        .await?
        .ok_or(AppError::NotFound("Organization"))?;
    let contact = billing_contact(&core.db, organization_id).await?;
    let created = gateway
        .create_customer(organization_id, &org.name, contact.as_deref())
        .await?;
    let txn = core.begin().await?;
    let recorded = link_customer(&txn, organization_id, &created).await?;
    txn.commit().await?;
    if recorded != created {
        // Made from other parameters (a rename meanwhile); it has no
        // subscription and nothing refers to it.
        tracing::warn!(organization = %organization_id, unused = %created, customer = %recorded, "another Stripe customer was recorded first");
    }
    Ok(recorded)
}

/// Whom Stripe mails about the organization's billing: its first owner.
/// The organization's, not the buyer's, so that every checkout asks Stripe
/// for the same customer.
async fn billing_contact(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
) -> AppResult<Option<String>> {
    let first_owner = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.eq(Role::Owner))
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::Id)
        .find_also_related(user::Entity)
        .one(conn)
        .await?;
    Ok(first_owner
        .and_then(|(_, user)| user)
        .map(|u| u.email.to_string()))
}

/// Opens a Checkout Session for the plan's price; per-seat plans are bought
/// for the current members.
pub async fn checkout(
    core: &Core,
    actor: &Actor,
    organization_id: OrganizationId,
    plan_id: &str,
    interval: BillingInterval,
) -> AppResult<(String, String)> {
    let plan_id = text::identifier("planId", plan_id, PLAN_ID_MAX)?;
    role_in(&core.db, organization_id, actor)
        .await?
        .require(Permission::BillingManage)?;
    let gateway = gateway(core)?;
    let plan = core
        .plans
        .find(plan_id)
        .ok_or_else(|| AppError::bad_input("planId", "There is no such plan."))?;
    let price = plan
        .price(interval)
        .and_then(|p| p.stripe_price_id.clone().map(|id| (p, id)))
        .ok_or_else(|| {
            AppError::bad_input("interval", "This plan cannot be bought for that interval.")
        })?;
    if subscriptions::current(&core.db, organization_id)
        .await?
        .is_some_and(|s| s.is_live())
    {
        return Err(AppError::conflict(
            "The organization already has a subscription; change it in the billing portal.",
        ));
    }
    let quantity = if price.0.per_seat {
        let members = entitlements::member_counts(&core.db, &[organization_id]).await?;
        members.get(&organization_id).copied().unwrap_or(1).max(1)
    } else {
        1
    };
    let customer = customer(core, gateway, organization_id).await?;
    gateway
        .create_checkout(
            &core.config.stripe,
            &customer,
            organization_id,
            &price.1,
            quantity,
        )
        .await
}

pub async fn portal(
    core: &Core,
    actor: &Actor,
    organization_id: OrganizationId,
) -> AppResult<String> {
    role_in(&core.db, organization_id, actor)
        .await?
        .require(Permission::BillingManage)?;
    let gateway = gateway(core)?;
    let customer = customer_of(&core.db, organization_id)
        .await?
        .ok_or_else(|| {
            AppError::conflict("The organization has no billing account yet; subscribe first.")
        })?;
    gateway.create_portal(&core.config.stripe, &customer).await
}
