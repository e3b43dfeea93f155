//! Paying: Checkout and the customer portal, for those who may manage billing.

use sea_orm::EntityTrait;

use super::{
    entitlements,
    plans::BillingInterval,
    stripe::StripeGateway,
    subscriptions::{self, customer_of, link_customer},
};
use crate::{
    Core,
    access::Permission,
    audit::Actor,
    auth::entity::user,
    error::{AppError, AppResult},
    orgs::service::{lock, role_in},
    text,
};

/// The longest plan id (its column's size).
const PLAN_ID_MAX: usize = 64;

fn gateway(core: &Core) -> AppResult<&StripeGateway> {
    core.stripe.as_ref().ok_or(AppError::BillingDisabled)
}

/// The organization's Stripe customer, created on first use. Made under the
/// organization's lock, so concurrent checkouts share one customer.
async fn customer(core: &Core, actor: &Actor, organization_id: &str) -> AppResult<String> {
    let txn = core.begin().await?;
    let org = lock(&txn, organization_id).await?;
    if let Some(existing) = customer_of(&txn, organization_id).await? {
        return Ok(existing);
    }
    let email = user::Entity::find_by_id(actor.id())
        .one(&txn)
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let id = gateway(core)?
        .create_customer(organization_id, &org.name, &email)
        .await?;
    link_customer(&txn, organization_id, &id).await?;
    txn.commit().await?;
    Ok(id)
}

/// Opens a Checkout Session for the plan's price; per-seat plans are bought
/// for the current members.
pub async fn checkout(
    core: &Core,
    actor: &Actor,
    organization_id: &str,
    plan_id: &str,
    interval: BillingInterval,
) -> AppResult<(String, String)> {
    let plan_id = text::identifier("planId", plan_id, PLAN_ID_MAX)?;
    role_in(&core.db, organization_id, actor)
        .await?
        .require(Permission::BillingManage)?;
    let gateway = gateway(core)?;
    let plan = core
        .config
        .plans
        .get(plan_id)
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
        let members = entitlements::member_counts(&core.db, &[organization_id.to_owned()]).await?;
        members.get(organization_id).copied().unwrap_or(1).max(1)
    } else {
        1
    };
    let customer = customer(core, actor, organization_id).await?;
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

pub async fn portal(core: &Core, actor: &Actor, organization_id: &str) -> AppResult<String> {
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
