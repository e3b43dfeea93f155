//! The Stripe API, as far as Groundwork uses it, through async-stripe.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeZone, Utc};
use futures_util::TryStreamExt;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
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
use crate::config::ExposeSecret;
use crate::{
    config::StripeConfig,
    error::{AppError, AppResult},
    ids::OrganizationId,
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
            status: SubscriptionStatus::from_stripe(sub.status.as_str())
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

/// How long a request waits for Stripe to finish a concurrent one that has
/// the same idempotency key: a little more than one request may take.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(25);

/// The idempotency key of creating an organization's customer. Stripe
/// refuses a key sent again with other parameters, so they are part of it:
/// a rename between two attempts makes a second customer (which nothing
/// records, see `service::customer`), never an error.
fn customer_key(
    organization_id: OrganizationId,
    name: &str,
    email: Option<&str>,
) -> IdempotencyKey {
    let parameters =
        crate::crypto::sha256_hex(format!("{name}\n{}", email.unwrap_or("")).as_bytes());
    IdempotencyKey::new(format!(
        "groundwork-customer-{organization_id}-{}",
        &parameters[..16]
    ))
    .expect("the key is short and not empty")
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
        let client = ClientBuilder::new(key.expose_secret())
            .url(&config.api_base)
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| format!("STRIPE_API_BASE: {e}"))?;
        Ok(Some(Self { client }))
    }

    /// Creates the organization's customer, idempotently: every request
    /// made for one organization with the same name and email carries the
    /// same key, so concurrent ones get the one customer Stripe made for the
    /// first. A request that arrives while Stripe is still answering an
    /// earlier one with its key gets 409 and is sent again until Stripe has
    /// the answer to replay.
    pub async fn create_customer(
        &self,
        organization_id: OrganizationId,
        name: &str,
        email: Option<&str>,
    ) -> AppResult<String> {
        let metadata = HashMap::from([(ORG_KEY.to_owned(), organization_id.to_string())]);
        let mut request = CreateCustomer::new().name(name).metadata(metadata);
        if let Some(email) = email {
            request = request.email(email);
        }
        let key = customer_key(organization_id, name, email);
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let sent = request
                .customize()
                .request_strategy(RequestStrategy::Idempotent(key.clone()))
                .send(&self.client)
                .await;
            match sent {
                Ok(customer) => return Ok(customer.id.to_string()),
                Err(StripeError::Stripe(_, 409)) if started.elapsed() < IN_FLIGHT_WAIT => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(unavailable(e)),
            }
        }
    }

    /// A Checkout Session in subscription mode; returns its id and URL.
    pub async fn create_checkout(
        &self,
        config: &StripeConfig,
        customer_id: &str,
        organization_id: OrganizationId,
        price_id: &str,
        quantity: u64,
    ) -> AppResult<(String, String)> {
        let organization_id = organization_id.to_string();
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price = Some(price_id.to_owned());
        item.quantity = Some(quantity);
        let mut subscription = CreateCheckoutSessionSubscriptionData::new();
        subscription.metadata = Some(HashMap::from([(
            ORG_KEY.to_owned(),
            organization_id.clone(),
        )]));
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(customer_id)
            .line_items(vec![item])
            .client_reference_id(organization_id.as_str())
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

    /// The subscription as Stripe has it now; None when Stripe has no such
    /// subscription.
    pub async fn subscription(&self, id: &str) -> AppResult<Option<Snapshot>> {
        match RetrieveSubscription::new(id).send(&self.client).await {
            Ok(sub) => Ok(Some(Snapshot::of(&sub))),
            Err(StripeError::Stripe(_, 404)) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
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
