//! The billing slice of the schema: the plan catalog, entitlements, the
//! Stripe subscription, and checkout and portal sessions.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Object, SimpleObject, dataloader::Loader};
use sea_orm::DatabaseConnection;

use crate::{
    Core,
    access::Permission,
    billing::{
        entitlements,
        plans::{self, Metered},
        subscriptions::{self, subscription},
    },
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        enums::{self, BillingInterval, Feature},
        guards::{OrgPermission, SignedIn},
        ids::parse,
        loaders::{Counters, RequestLoader},
        pagination::list_cost,
    },
    ids::OrganizationId,
    orgs::MEMBERS,
    projects::PROJECTS,
    slices::{
        METERED,
        orgs::{OrgView, loaders::PendingInvitationCounts},
    },
};

/// A plan of the catalog, shown from its definition.
pub struct Plan(pub Arc<plans::Plan>);

/// A limit as GraphQL shows it; null for unlimited.
fn limit_of(plan: &plans::Plan, metered: Metered) -> Option<i32> {
    plan.limit(metered)
        .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

#[Object]
impl Plan {
    async fn id(&self) -> &str {
        self.0.id.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn features(&self) -> Vec<Feature> {
        enums::all(&self.0.features)
    }

    async fn limits(&self) -> PlanLimits {
        PlanLimits {
            max_projects: limit_of(&self.0, PROJECTS),
            max_members: limit_of(&self.0, MEMBERS),
        }
    }

    async fn prices(&self) -> Vec<Price> {
        self.0
            .prices
            .iter()
            .map(|p| Price {
                interval: p.interval.into(),
                amount: i32::try_from(p.amount.minor_units).unwrap_or(i32::MAX),
                currency: p.amount.currency.as_str().to_owned(),
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

/// How much of one metered resource an organization uses.
#[derive(SimpleObject)]
pub struct MeteredUsage {
    /// The resource, as a plan's `limits` names it: `projects`, `members`, ...
    pub resource: String,
    pub used: i32,
    /// Null means unlimited.
    pub limit: Option<i32>,
}

/// What an organization's effective plan gives it, and how much is used.
pub struct Entitlements {
    plan: Arc<plans::Plan>,
    used: HashMap<Metered, u64>,
}

impl Entitlements {
    fn usage_of(&self, metered: Metered) -> Usage {
        let used = self.used.get(&metered).copied().unwrap_or(0);
        Usage {
            used: i32::try_from(used).unwrap_or(i32::MAX),
            limit: limit_of(&self.plan, metered),
        }
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
        self.usage_of(PROJECTS)
    }

    /// Members plus pending invitations.
    async fn members(&self) -> Usage {
        self.usage_of(MEMBERS)
    }

    /// Every metered resource, whichever slice counts it.
    async fn usage(&self) -> Vec<MeteredUsage> {
        METERED
            .iter()
            .map(|m| {
                let usage = self.usage_of(*m);
                MeteredUsage {
                    resource: m.key().to_owned(),
                    used: usage.used,
                    limit: usage.limit,
                }
            })
            .collect()
    }
}

/// The effective plan of an organization, through the request's loaders.
pub async fn plan_for(
    ctx: &Context<'_>,
    organization_id: OrganizationId,
) -> AppResult<Arc<plans::Plan>> {
    ctx.loader::<PlanLoader>()?
        .load_one(organization_id)
        .await?
        .ok_or_else(|| AppError::internal("no plan resolved"))
}

/// The billing slice's fields of `Organization`.
#[derive(Clone)]
pub struct OrganizationBilling(OrgView);

impl From<OrgView> for OrganizationBilling {
    fn from(view: OrgView) -> Self {
        Self(view)
    }
}

#[Object]
impl OrganizationBilling {
    /// The effective plan, and how much of its limits is used.
    async fn entitlements(&self, ctx: &Context<'_>) -> AppResult<Entitlements> {
        let id = self.0.model.id;
        // Counters through the request's one counter loader, so the counts
        // the page shows elsewhere (members, projects) come in the same read.
        let counters = ctx.loader::<Counters>()?;
        let pending = ctx.loader::<PendingInvitationCounts>()?;
        let (plan, counted, pending) = futures_util::try_join!(
            plan_for(ctx, id),
            counters.load_many(METERED.iter().map(|m| (id, m.counter()))),
            pending.load_one(id),
        )?;
        let pending = pending.unwrap_or(0);
        let used = METERED
            .iter()
            .map(|m| {
                let n = counted.get(&(id, m.counter())).copied().unwrap_or(0);
                (*m, entitlements::used(*m, n, pending))
            })
            .collect();
        Ok(Entitlements { plan, used })
    }

    /// The Stripe subscription, for those who may read billing.
    #[graphql(guard = "OrgPermission(self.0.role, Permission::BillingRead)")]
    async fn subscription(&self, ctx: &Context<'_>) -> AppResult<Option<BillingSubscription>> {
        Ok(ctx
            .loader::<SubscriptionLoader>()?
            .load_one(self.0.model.id)
            .await?
            .map(BillingSubscription))
    }
}

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// The public plan catalog.
    #[graphql(complexity = "list_cost(child_complexity)")]
    async fn plans(&self, ctx: &Context<'_>) -> Vec<Plan> {
        ctx.core().plans.plans().iter().cloned().map(Plan).collect()
    }
}

/// An organization's Stripe subscription as last applied.
pub struct BillingSubscription(pub subscription::Model);

#[Object]
impl BillingSubscription {
    async fn status(&self) -> enums::SubscriptionStatus {
        self.0.status.into()
    }

    async fn plan(&self, ctx: &Context<'_>) -> Plan {
        Plan(ctx.core().plans.resolve(&self.0.plan_id).clone())
    }

    async fn interval(&self) -> Option<BillingInterval> {
        self.0.billing_interval.map(Into::into)
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
            parse(&input.organization_id)?,
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
        let url =
            crate::billing::service::portal(ctx.core(), &ctx.actor()?, parse(&organization_id)?)
                .await?;
        Ok(BillingPortalSession { url })
    }
}

/// Organizations' current subscriptions, batched.
pub struct SubscriptionLoader(DatabaseConnection);

impl RequestLoader for SubscriptionLoader {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

impl Loader<OrganizationId> for SubscriptionLoader {
    type Value = subscription::Model;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[OrganizationId],
    ) -> Result<HashMap<OrganizationId, Self::Value>, Self::Error> {
        subscriptions::by_organization(&self.0, keys).await
    }
}

/// Organizations' effective plans, batched.
pub struct PlanLoader(Arc<Core>);

impl RequestLoader for PlanLoader {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.clone())
    }
}

impl Loader<OrganizationId> for PlanLoader {
    type Value = Arc<plans::Plan>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[OrganizationId],
    ) -> Result<HashMap<OrganizationId, Self::Value>, Self::Error> {
        let plans = entitlements::plans_of(&self.0.db, &self.0, keys).await?;
        Ok(plans
            .into_iter()
            .map(|(org, plan)| (org, plan.clone()))
            .collect())
    }
}
