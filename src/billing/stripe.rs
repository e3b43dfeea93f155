//! The Stripe API, as far as Groundwork uses it, through async-stripe.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use futures_util::TryStreamExt;
use stripe::{Client, ClientBuilder, StripeError};
use stripe_billing::{
    Subscription,
    billing_portal_session::CreateBillingPortalSession,
    subscription::{
        CancelSubscription, ListSubscription, ListSubscriptionStatus, RetrieveSubscription,
    },
    subscription_item::{UpdateSubscriptionItem, UpdateSubscriptionItemProrationBehavior},
};
use stripe_checkout::{
    CheckoutSessionMode,
    checkout_session::{
        CreateCheckoutSession, CreateCheckoutSessionLineItems,
        CreateCheckoutSessionSubscriptionData,
    },
};
use stripe_core::customer::CreateCustomer;

use super::SubscriptionStatus;
use crate::{
    config::StripeConfig,
    error::{AppError, AppResult},
};

/// The metadata key that ties Stripe objects to an organization.
pub const ORG_KEY: &str = "organization_id";

pub struct StripeGateway {
    client: Client,
}

/// What Groundwork keeps of a Stripe subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: String,
    pub customer_id: String,
    pub organization_id: Option<String>,
    pub status: SubscriptionStatus,
    pub price_id: Option<String>,
    pub item_id: Option<String>,
    pub quantity: Option<u64>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub trial_end: Option<DateTime<Utc>>,
}

fn time(seconds: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(seconds, 0).single()
}

impl Snapshot {
    pub fn of(sub: &Subscription) -> Self {
        let item = sub.items.data.first();
        Self {
            id: sub.id.to_string(),
            customer_id: sub.customer.id().to_string(),
            organization_id: sub.metadata.get(ORG_KEY).cloned(),
            status: SubscriptionStatus::parse(sub.status.as_str())
                .unwrap_or(SubscriptionStatus::Incomplete),
            price_id: item.map(|i| i.price.id.to_string()),
            item_id: item.map(|i| i.id.to_string()),
            quantity: item.and_then(|i| i.quantity),
            // The period lives on the items in current API versions.
            current_period_end: sub
                .items
                .data
                .iter()
                .map(|i| i.current_period_end)
                .max()
                .and_then(time),
            cancel_at_period_end: sub.cancel_at_period_end,
            trial_end: sub.trial_end.and_then(time),
        }
    }
}

/// Stripe failures are the server's problem, never the client's: logged in
/// full and reported as INTERNAL.
fn unavailable(e: StripeError) -> AppError {
    AppError::internal(format!("Stripe request failed: {e}"))
}

impl StripeGateway {
    pub fn new(config: &StripeConfig) -> Result<Option<Self>, String> {
        let Some(key) = &config.secret_key else {
            return Ok(None);
        };
        let client = ClientBuilder::new(key.expose())
            .url(&config.api_base)
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| format!("STRIPE_API_BASE: {e}"))?;
        Ok(Some(Self { client }))
    }

    pub async fn create_customer(
        &self,
        organization_id: &str,
        name: &str,
        email: &str,
    ) -> AppResult<String> {
        let metadata = HashMap::from([(ORG_KEY.to_owned(), organization_id.to_owned())]);
        let customer = CreateCustomer::new()
            .name(name)
            .email(email)
            .metadata(metadata)
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        Ok(customer.id.to_string())
    }

    /// A Checkout Session in subscription mode; returns its id and URL.
    pub async fn create_checkout(
        &self,
        config: &StripeConfig,
        customer_id: &str,
        organization_id: &str,
        price_id: &str,
        quantity: u64,
    ) -> AppResult<(String, String)> {
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price = Some(price_id.to_owned());
        item.quantity = Some(quantity);
        let mut subscription = CreateCheckoutSessionSubscriptionData::new();
        subscription.metadata = Some(HashMap::from([(
            ORG_KEY.to_owned(),
            organization_id.to_owned(),
        )]));
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(customer_id)
            .line_items(vec![item])
            .client_reference_id(organization_id)
            .success_url(config.success_url.as_str())
            .cancel_url(config.cancel_url.as_str())
            .subscription_data(subscription)
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        let url = session.url.ok_or_else(|| {
            AppError::internal("Stripe returned a checkout session without a URL")
        })?;
        Ok((session.id.to_string(), url))
    }

    pub async fn create_portal(
        &self,
        config: &StripeConfig,
        customer_id: &str,
    ) -> AppResult<String> {
        let session = CreateBillingPortalSession::new()
            .customer(customer_id)
            .return_url(config.portal_return_url.as_str())
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        Ok(session.url)
    }

    pub async fn subscription(&self, id: &str) -> AppResult<Snapshot> {
        let sub = RetrieveSubscription::new(id)
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        Ok(Snapshot::of(&sub))
    }

    /// Sets the seat count of a subscription's item, prorated.
    pub async fn set_quantity(&self, item_id: &str, quantity: u64) -> AppResult<()> {
        UpdateSubscriptionItem::new(item_id)
            .quantity(quantity)
            .proration_behavior(UpdateSubscriptionItemProrationBehavior::CreateProrations)
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub async fn cancel(&self, id: &str) -> AppResult<Snapshot> {
        let sub = CancelSubscription::new(id)
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        Ok(Snapshot::of(&sub))
    }

    /// Every subscription of the account, whatever its status.
    pub async fn all_subscriptions(&self) -> AppResult<Vec<Snapshot>> {
        let all: Vec<Subscription> = ListSubscription::new()
            .status(ListSubscriptionStatus::All)
            .limit(100)
            .paginate()
            .stream(&self.client)
            .try_collect()
            .await
            .map_err(unavailable)?;
        Ok(all.iter().map(Snapshot::of).collect())
    }
}
