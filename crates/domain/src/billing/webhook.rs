//! Stripe's webhook events (`POST /webhooks/stripe`): the signature is checked on the raw body, the
//! event id is recorded in the same transaction as the event's effect, and
//! a subscription never moves back to an older state.
//!
//! Stripe sends an event again, for days, until it gets a 2xx. An event
//! that can never apply (see `unappliable`) is therefore recorded with the
//! reason, logged as a warning and answered 200; only a failure that may
//! pass (the database, or Stripe itself, unreachable) is answered 500, with
//! nothing recorded, so that the next delivery applies it.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict},
};
use serde_json::json;
use stripe_webhook::{EventObject, Webhook, WebhookError};

use super::{
    stripe::{Snapshot, StripeGateway},
    subscriptions::{self, Applied},
    unappliable::{self, Unappliable},
};
use crate::config::ExposeSecret;
use crate::{
    Core,
    access::Role,
    audit::{self, Actor, Event},
    auth::entity::user,
    error::{AppError, AppResult},
    ids::OrganizationId,
    mail::{outbox, templates},
    orgs::entity::{membership, organization},
};

pub mod ledger {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "stripe_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub event_type: String,
        pub stripe_created: i64,
        pub received_at: DateTimeUtc,
        pub processed_at: Option<DateTimeUtc>,
        /// What kept the event from applying in full, when something did.
        pub problem: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What became of a delivery, for the HTTP answer: Stripe sends again,
/// for days, whatever is not answered with a 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// No `STRIPE_WEBHOOK_SECRET`: nothing can be checked.
    NotConfigured,
    /// The signature or the body does not hold; nothing was read.
    Refused,
    /// Applied, or received before.
    Applied,
    /// It can never apply in full; recorded with the reason.
    Acknowledged,
    /// A failure that may pass; nothing was committed.
    Failed,
}

/// Checks a delivery's signature on the raw body and applies its event.
pub async fn deliver(core: &Core, body: &[u8], signature: &str) -> Delivery {
    let Some(secret) = &core.config.stripe.webhook_secret else {
        return Delivery::NotConfigured;
    };
    let Ok(payload) = std::str::from_utf8(body) else {
        return Delivery::Refused;
    };
    let outcome = match Webhook::construct_event(payload, signature, secret.expose_secret()) {
        Ok(event) => handle(core, event).await,
        // The signature and its time were checked before the payload was
        // read: Stripe sent this, and would send it again for days.
        Err(WebhookError::BadParse(reason)) => unreadable(core, payload, &reason).await,
        Err(e) => {
            tracing::warn!(error = %e, "Stripe webhook refused");
            return Delivery::Refused;
        }
    };
    match outcome {
        Ok(Outcome::Applied) => Delivery::Applied,
        Ok(Outcome::Problem {
            event,
            kind,
            problem,
        }) => {
            tracing::warn!(event = %event, kind = %kind, problem = %problem, "Stripe event not applied in full; acknowledged, since sending it again would change nothing");
            Delivery::Acknowledged
        }
        Err(e) => {
            let id = uuid::Uuid::now_v7();
            tracing::error!(error_id = %id, error = ?e, "Stripe webhook failed");
            Delivery::Failed
        }
    }
}

/// What became of an event Stripe sent: applied, or acknowledged with what
/// kept it from applying in full. A failure that may pass is an error.
enum Outcome {
    Applied,
    Problem {
        event: String,
        kind: String,
        problem: String,
    },
}

/// What the ledger can hold of an event's id and type.
fn recordable(id: &str, kind: &str) -> Result<(), Unappliable> {
    unappliable::stripe_id("event id", id)?;
    if kind.is_empty() || kind.len() > 128 || !kind.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Unappliable::Malformed(format!("event type {kind:?}")));
    }
    Ok(())
}

/// Records an event in the ledger; false when it was recorded before.
async fn record(
    conn: &impl ConnectionTrait,
    id: &str,
    kind: &str,
    created: i64,
) -> AppResult<bool> {
    let recorded = ledger::Entity::insert(ledger::ActiveModel {
        event_id: Set(id.to_owned()),
        event_type: Set(kind.to_owned()),
        stripe_created: Set(created),
        received_at: Set(Utc::now()),
        processed_at: Set(None),
        problem: Set(None),
    })
    .on_conflict(
        OnConflict::column(ledger::Column::EventId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(recorded == 1)
}

async fn finish(conn: &impl ConnectionTrait, id: &str, problem: Option<&str>) -> AppResult<()> {
    ledger::Entity::update_many()
        .col_expr(ledger::Column::ProcessedAt, Expr::value(Utc::now()))
        .col_expr(
            ledger::Column::Problem,
            Expr::value(problem.map(str::to_owned)),
        )
        .filter(ledger::Column::EventId.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

fn outcome(event: String, kind: String, problem: Option<String>) -> Outcome {
    match problem {
        None => Outcome::Applied,
        Some(problem) => Outcome::Problem {
            event,
            kind,
            problem,
        },
    }
}

/// A signed event that cannot be read (an object of a known type in a shape
/// the client does not parse): recorded by the id and type its JSON has,
/// when it has them, and acknowledged.
async fn unreadable(core: &Core, payload: &str, reason: &str) -> AppResult<Outcome> {
    let json: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    let id = json["id"].as_str().unwrap_or_default().to_owned();
    let kind = json["type"].as_str().unwrap_or("unknown").to_owned();
    let problem = format!("malformed: the event cannot be read ({reason})");
    if recordable(&id, &kind).is_ok() {
        let txn = core.begin().await?;
        if record(&txn, &id, &kind, json["created"].as_i64().unwrap_or(0)).await? {
            finish(&txn, &id, Some(&problem)).await?;
        }
        txn.commit().await?;
    }
    Ok(outcome(id, kind, Some(problem)))
}

async fn handle(core: &Core, event: stripe_webhook::Event) -> AppResult<Outcome> {
    let id = event.id.to_string();
    let kind = event.type_.as_str().to_owned();
    let created = event.created;
    if let Err(why) = recordable(&id, &kind) {
        return Ok(outcome(id, kind, Some(why.to_string())));
    }
    if ledger::Entity::find_by_id(&id)
        .one(&core.db)
        .await?
        .is_some()
    {
        tracing::info!(event = %id, "Stripe event already received");
        return Ok(Outcome::Applied);
    }
    // Read before the transaction: on checkout completion the subscription
    // comes from Stripe, and no database connection is held meanwhile.
    let checkout_subscription = match &event.data.object {
        EventObject::CheckoutSessionCompleted(session) => {
            match (&session.subscription, &core.stripe) {
                (Some(sub), Some(gateway)) => {
                    Some(read_subscription(gateway, sub.id().as_str()).await?)
                }
                _ => None,
            }
        }
        _ => None,
    };

    let txn = core.begin().await?;
    if !record(&txn, &id, &kind, created).await? {
        tracing::info!(event = %id, "Stripe event already received");
        return Ok(Outcome::Applied);
    }
    let problem = match event.data.object {
        EventObject::CheckoutSessionCompleted(session) => {
            checkout_completed(&txn, core, &session, checkout_subscription, created).await?
        }
        EventObject::CustomerSubscriptionCreated(sub)
        | EventObject::CustomerSubscriptionUpdated(sub)
        | EventObject::CustomerSubscriptionDeleted(sub)
        | EventObject::CustomerSubscriptionPaused(sub)
        | EventObject::CustomerSubscriptionResumed(sub) => {
            problem(subscriptions::apply(&txn, core, &Snapshot::of(&sub), created).await?)
        }
        EventObject::CustomerSubscriptionTrialWillEnd(sub) => {
            trial_will_end(&txn, core, &Snapshot::of(&sub), created).await?
        }
        EventObject::InvoicePaid(invoice) | EventObject::InvoicePaymentFailed(invoice) => {
            invoice_event(&txn, core, kind == "invoice.paid", &invoice).await?
        }
        // Recorded, and otherwise of no interest.
        _ => None,
    };
    finish(&txn, &id, problem.as_deref()).await?;
    txn.commit().await?;
    Ok(outcome(id, kind, problem))
}

/// What kept an applied snapshot from applying in full, if anything.
fn problem(applied: Applied) -> Option<String> {
    match applied {
        Applied::Changed | Applied::Stale => None,
        Applied::ChangedWithoutPlan { price } => Some(format!(
            "applied without a plan: price {price:?} is in no plan of the catalog, so the subscription gives the free plan"
        )),
        Applied::Ignored(why) => Some(why.to_string()),
    }
}

/// The subscription a completed checkout names, from Stripe; why it cannot
/// be applied when it never can.
async fn read_subscription(
    gateway: &StripeGateway,
    id: &str,
) -> AppResult<Result<Snapshot, Unappliable>> {
    if let Err(why) = unappliable::stripe_id("subscription id", id) {
        return Ok(Err(why));
    }
    Ok(gateway
        .subscription(id)
        .await?
        .ok_or_else(|| Unappliable::MissingAtStripe(id.to_owned())))
}

async fn checkout_completed(
    conn: &impl ConnectionTrait,
    core: &Core,
    session: &stripe_checkout::CheckoutSession,
    subscription: Option<Result<Snapshot, Unappliable>>,
    created: i64,
) -> AppResult<Option<String>> {
    let mut problems = Vec::new();
    let org = session.client_reference_id.clone();
    if let (Some(org), Some(customer)) = (&org, &session.customer)
        && let Err(why) = link_checkout_customer(conn, org, customer.id().as_str()).await?
    {
        problems.push(why.to_string());
    }
    match subscription {
        Some(Ok(mut snapshot)) => {
            snapshot.organization_id = snapshot.organization_id.or(org);
            problems.extend(problem(
                subscriptions::apply(conn, core, &snapshot, created).await?,
            ));
        }
        Some(Err(why)) => problems.push(why.to_string()),
        None => {}
    }
    Ok((!problems.is_empty()).then(|| problems.join("; ")))
}

/// Binds the checkout's customer to the organization it was made for,
/// unless that cannot be.
async fn link_checkout_customer(
    conn: &impl ConnectionTrait,
    organization_id: &str,
    customer: &str,
) -> AppResult<Result<(), Unappliable>> {
    let checked = unappliable::organization_id("client_reference_id", organization_id)
        .and_then(|org| unappliable::stripe_id("customer id", customer).map(|()| org));
    let organization_id = match checked {
        Ok(org) => org,
        Err(why) => return Ok(Err(why)),
    };
    if organization::Entity::find_by_id(organization_id)
        .one(conn)
        .await?
        .is_none()
    {
        return Ok(Err(Unappliable::UnknownOrganization(organization_id)));
    }
    if let Some(bound_to) = subscriptions::organization_of_customer(conn, customer).await?
        && bound_to != organization_id
    {
        return Ok(Err(Unappliable::CustomerOfAnotherOrganization {
            customer: customer.to_owned(),
            named: organization_id,
            bound_to,
        }));
    }
    subscriptions::link_customer(conn, organization_id, customer).await?;
    Ok(Ok(()))
}

/// Applies the subscription and mails the organization's owners.
async fn trial_will_end(
    conn: &impl ConnectionTrait,
    core: &Core,
    snapshot: &Snapshot,
    created: i64,
) -> AppResult<Option<String>> {
    let applied = subscriptions::apply(conn, core, snapshot, created).await?;
    if matches!(applied, Applied::Ignored(_)) {
        return Ok(problem(applied));
    }
    // The organization the subscription was applied to, whatever the event names.
    let org = subscriptions::subscription::Entity::find()
        .filter(subscriptions::subscription::Column::StripeSubscriptionId.eq(&snapshot.id))
        .one(conn)
        .await?
        .map(|s| s.organization_id);
    if let Some(org) = org {
        let ends = snapshot
            .trial_end
            .map_or_else(|| "soon".to_owned(), |t| t.format("%Y-%m-%d").to_string());
        let link = &core.config.stripe.portal_return_url;
        notify(conn, org, &[Role::Owner], |name| {
            templates::trial_ending(name, &ends, link)
        })
        .await?;
    }
    Ok(problem(applied))
}

/// An invoice paid or failed: audited, and a failure mailed to those who
/// can pay.
async fn invoice_event(
    conn: &impl ConnectionTrait,
    core: &Core,
    paid: bool,
    invoice: &stripe_billing::Invoice,
) -> AppResult<Option<String>> {
    let invoice_id = invoice
        .id
        .as_ref()
        .map(|i| i.to_string())
        .unwrap_or_default();
    let customer = invoice
        .customer
        .as_ref()
        .map(|c| c.id().to_string())
        .unwrap_or_default();
    let checked = unappliable::stripe_id("invoice id", &invoice_id)
        .and_then(|()| unappliable::stripe_id("customer id", &customer));
    if let Err(why) = checked {
        return Ok(Some(why.to_string()));
    }
    let Some(org) = subscriptions::organization_of_customer(conn, &customer).await? else {
        return Ok(Some(Unappliable::NoOrganization { customer }.to_string()));
    };
    let action = if paid {
        "invoice.paid"
    } else {
        "invoice.payment_failed"
    };
    let metadata =
        json!({ "amountDue": invoice.amount_due, "currency": invoice.currency.to_string() });
    audit::record(
        conn,
        org,
        &Actor::system(),
        Event::external(action, "invoice", &invoice_id, metadata),
    )
    .await?;
    if !paid {
        let link = &core.config.stripe.portal_return_url;
        notify(conn, org, &[Role::Owner, Role::Admin], |name| {
            templates::payment_failed(name, link)
        })
        .await?;
    }
    Ok(None)
}

/// Mails the organization's members of the given roles, in the event's transaction.
async fn notify(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
    roles: &[Role],
    mail: impl Fn(&str) -> crate::mail::Mail,
) -> AppResult<()> {
    let org = organization::Entity::find_by_id(organization_id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("Organization"))?;
    let recipients = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.is_in(roles.iter().copied()))
        .find_also_related(user::Entity)
        .all(conn)
        .await?;
    for (_, user) in recipients {
        if let Some(user) = user {
            outbox::enqueue(conn, user.email.as_str(), mail(&org.name)).await?;
        }
    }
    Ok(())
}
