//! The billing slice of the schema: the plan catalog and entitlements.

use async_graphql::{Context, Object, SimpleObject};

use crate::{
    billing::plans,
    error::{AppError, AppResult},
    graphql::guards::SignedIn,
    graphql::{
        context::ContextExt,
        enums::{self, BillingInterval, Feature},
    },
};

/// A plan of the catalog, shown from its definition.
pub struct Plan(pub plans::Plan);

#[Object]
impl Plan {
    async fn id(&self) -> &str {
        &self.0.id
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn features(&self) -> Vec<Feature> {
        enums::all(&self.0.features)
    }

    async fn limits(&self) -> PlanLimits {
        PlanLimits {
            max_projects: self.0.max_projects.map(|n| n as i32),
            max_members: self.0.max_members.map(|n| n as i32),
        }
    }

    async fn prices(&self) -> Vec<Price> {
        self.0
            .prices
            .iter()
            .map(|p| Price {
                interval: p.interval.into(),
                amount: i32::try_from(p.amount).unwrap_or(i32::MAX),
                currency: p.currency.clone(),
                per_seat: p.per_seat,
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct PlanLimits {
    /// Null means unlimited.
    max_projects: Option<i32>,
    /// Members plus pending invitations. Null means unlimited.
    max_members: Option<i32>,
}

#[derive(SimpleObject)]
pub struct Price {
    interval: BillingInterval,
    /// In the currency's smallest unit.
    amount: i32,
    currency: String,
    per_seat: bool,
}

#[derive(SimpleObject)]
pub struct Usage {
    pub used: i32,
    /// Null means unlimited.
    pub limit: Option<i32>,
}

/// What an organization's effective plan gives it, and how much is used.
pub struct Entitlements {
    pub plan: plans::Plan,
    pub projects_used: u64,
    /// Members plus pending invitations.
    pub members_used: u64,
}

fn usage(used: u64, limit: Option<u32>) -> Usage {
    Usage {
        used: i32::try_from(used).unwrap_or(i32::MAX),
        limit: limit.map(|l| l as i32),
    }
}

#[Object]
impl Entitlements {
    async fn plan(&self) -> Plan {
        Plan(self.plan.clone())
    }

    async fn features(&self) -> Vec<Feature> {
        enums::all(&self.plan.features)
    }

    async fn projects(&self) -> Usage {
        usage(self.projects_used, self.plan.max_projects)
    }

    async fn members(&self) -> Usage {
        usage(self.members_used, self.plan.max_members)
    }
}

/// The effective plan of an organization, through the request's loaders.
pub async fn plan_for(ctx: &Context<'_>, organization_id: &str) -> AppResult<plans::Plan> {
    let core = ctx.core();
    let id = ctx
        .loaders()?
        .plans
        .load_one(organization_id.to_owned())
        .await?
        .ok_or_else(|| AppError::internal("no plan resolved"))?;
    Ok(core
        .plans
        .get(&id)
        .unwrap_or_else(|| core.plans.free())
        .clone())
}

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// The public plan catalog.
    #[graphql(complexity = "crate::graphql::pagination::list_cost(child_complexity)")]
    async fn plans(&self, ctx: &Context<'_>) -> Vec<Plan> {
        ctx.core().plans.plans.iter().cloned().map(Plan).collect()
    }
}

/// An organization's Stripe subscription as last applied.
pub struct BillingSubscription(pub crate::billing::subscriptions::subscription::Model);

#[Object]
impl BillingSubscription {
    async fn status(&self) -> enums::SubscriptionStatus {
        self.0.status().into()
    }

    async fn plan(&self, ctx: &Context<'_>) -> Plan {
        let plans = &ctx.core().plans;
        Plan(
            plans
                .get(&self.0.plan_id)
                .unwrap_or_else(|| plans.free())
                .clone(),
        )
    }

    async fn interval(&self) -> Option<BillingInterval> {
        self.0.interval().map(Into::into)
    }

    async fn seats(&self) -> Option<i32> {
        self.0.seats
    }

    async fn current_period_end(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.current_period_end
    }

    async fn cancel_at_period_end(&self) -> bool {
        self.0.cancel_at_period_end
    }

    async fn trial_end(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.trial_end
    }
}

#[derive(SimpleObject)]
pub struct CheckoutSession {
    id: String,
    url: String,
}

#[derive(SimpleObject)]
pub struct BillingPortalSession {
    url: String,
}

#[derive(async_graphql::InputObject)]
pub struct CreateCheckoutSessionInput {
    organization_id: async_graphql::ID,
    plan_id: String,
    interval: BillingInterval,
}

#[derive(Default)]
pub struct BillingMutation;

#[Object]
impl BillingMutation {
    /// A Stripe Checkout page for subscribing the organization to a plan.
    #[graphql(guard = "SignedIn")]
    async fn create_checkout_session(
        &self,
        ctx: &Context<'_>,
        input: CreateCheckoutSessionInput,
    ) -> AppResult<CheckoutSession> {
        let (id, url) = crate::billing::service::checkout(
            ctx.core(),
            &ctx.actor()?,
            &crate::ids::NodeType::Organization.parse(&input.organization_id)?,
            &input.plan_id,
            input.interval.into(),
        )
        .await?;
        Ok(CheckoutSession { id, url })
    }

    /// Stripe's customer portal, to change plan, seats or payment method.
    #[graphql(guard = "SignedIn")]
    async fn create_billing_portal_session(
        &self,
        ctx: &Context<'_>,
        organization_id: async_graphql::ID,
    ) -> AppResult<BillingPortalSession> {
        let organization_id = crate::ids::NodeType::Organization.parse(&organization_id)?;
        let url =
            crate::billing::service::portal(ctx.core(), &ctx.actor()?, &organization_id).await?;
        Ok(BillingPortalSession { url })
    }
}

/// Organizations' current subscriptions, batched.
pub struct SubscriptionLoader(pub sea_orm::DatabaseConnection);

impl async_graphql::dataloader::Loader<String> for SubscriptionLoader {
    type Value = crate::billing::subscriptions::subscription::Model;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, Self::Value>, Self::Error> {
        crate::billing::subscriptions::by_organization(&self.0, keys).await
    }
}
