//! `POST /webhooks/stripe`: the signature is checked on the raw body, the
//! event id is recorded in the same transaction as the event's effect, and
//! a subscription never moves back to an older state.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict},
};
use serde_json::json;
use stripe_webhook::{EventObject, Webhook};

use super::{stripe::Snapshot, subscriptions};
use crate::{
    AppState, Core,
    access::Role,
    audit::{self, Actor, Event},
    auth::entity::user,
    error::{AppError, AppResult},
    mail::{outbox, templates},
    orgs::entity::membership,
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
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let Some(secret) = &state.config.stripe.webhook_secret else {
        return (StatusCode::BAD_REQUEST, "webhooks are not configured");
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Ok(payload) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    let event = match Webhook::construct_event(payload, signature, secret.expose()) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "Stripe webhook refused");
            return (StatusCode::BAD_REQUEST, "invalid signature or payload");
        }
    };
    match handle(&state, event).await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            // Stripe redelivers on any non-2xx answer; nothing was committed.
            let id = uuid::Uuid::now_v7();
            tracing::error!(error_id = %id, error = ?e, "Stripe webhook failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "processing failed; retry later",
            )
        }
    }
}

async fn handle(core: &Core, event: stripe_webhook::Event) -> AppResult<()> {
    let id = event.id.to_string();
    let kind = event.type_.as_str().to_owned();
    let created = event.created;
    if ledger::Entity::find_by_id(&id)
        .one(&core.db)
        .await?
        .is_some()
    {
        tracing::info!(event = %id, "Stripe event already received");
        return Ok(());
    }
    // Read before the transaction: on checkout completion the subscription
    // comes from Stripe, and no database connection is held meanwhile.
    let checkout_subscription = match &event.data.object {
        EventObject::CheckoutSessionCompleted(session) => {
            match (&session.subscription, &core.stripe) {
                (Some(sub), Some(gateway)) => Some((
                    session.client_reference_id.clone(),
                    gateway.subscription(sub.id().as_str()).await?,
                )),
                _ => None,
            }
        }
        _ => None,
    };

    let txn = core.begin().await?;
    let recorded = ledger::Entity::insert(ledger::ActiveModel {
        event_id: Set(id.clone()),
        event_type: Set(kind.clone()),
        stripe_created: Set(created),
        received_at: Set(Utc::now()),
        processed_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(ledger::Column::EventId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if recorded == 0 {
        tracing::info!(event = %id, "Stripe event already received");
        return Ok(());
    }

    match event.data.object {
        EventObject::CheckoutSessionCompleted(session) => {
            if let (Some(org), Some(customer)) = (&session.client_reference_id, &session.customer)
                && crate::orgs::entity::organization::Entity::find_by_id(org)
                    .one(&txn)
                    .await?
                    .is_some()
            {
                subscriptions::link_customer(&txn, org, customer.id().as_str()).await?;
            }
            if let Some((org, mut snapshot)) = checkout_subscription {
                snapshot.organization_id = snapshot.organization_id.or(org);
                subscriptions::apply(&txn, core, &snapshot, created).await?;
            }
        }
        EventObject::CustomerSubscriptionCreated(sub)
        | EventObject::CustomerSubscriptionUpdated(sub)
        | EventObject::CustomerSubscriptionDeleted(sub)
        | EventObject::CustomerSubscriptionPaused(sub)
        | EventObject::CustomerSubscriptionResumed(sub) => {
            subscriptions::apply(&txn, core, &Snapshot::of(&sub), created).await?;
        }
        EventObject::CustomerSubscriptionTrialWillEnd(sub) => {
            let snapshot = Snapshot::of(&sub);
            subscriptions::apply(&txn, core, &snapshot, created).await?;
            if let Some(org) = organization(&txn, &snapshot).await? {
                let ends = snapshot
                    .trial_end
                    .map_or_else(|| "soon".to_owned(), |t| t.format("%Y-%m-%d").to_string());
                let link = &core.config.stripe.portal_return_url;
                notify(&txn, &org, &[Role::Owner], |name| {
                    templates::trial_ending(name, &ends, link)
                })
                .await?;
            }
        }
        EventObject::InvoicePaid(invoice) | EventObject::InvoicePaymentFailed(invoice) => {
            let paid = kind == "invoice.paid";
            let customer = invoice.customer.as_ref().map(|c| c.id().to_string());
            let org = match customer {
                Some(c) => subscriptions::organization_of_customer(&txn, &c).await?,
                None => None,
            };
            if let Some(org) = org {
                let invoice_id = invoice
                    .id
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                audit::record(
                    &txn,
                    &org,
                    &Actor::system(),
                    Event {
                        action: if paid { "invoice.paid" } else { "invoice.payment_failed" },
                        target_type: "invoice",
                        target_id: &invoice_id,
                        metadata: json!({ "amountDue": invoice.amount_due, "currency": invoice.currency.to_string() }),
                    },
                )
                .await?;
                if !paid {
                    let link = &core.config.stripe.portal_return_url;
                    notify(&txn, &org, &[Role::Owner, Role::Admin], |name| {
                        templates::payment_failed(name, link)
                    })
                    .await?;
                }
            }
        }
        // Recorded, and otherwise of no interest.
        _ => {}
    }

    ledger::Entity::update_many()
        .col_expr(ledger::Column::ProcessedAt, Expr::value(Utc::now()))
        .filter(ledger::Column::EventId.eq(&id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

async fn organization(
    conn: &impl ConnectionTrait,
    snapshot: &Snapshot,
) -> AppResult<Option<String>> {
    match &snapshot.organization_id {
        Some(org) => Ok(Some(org.clone())),
        None => subscriptions::organization_of_customer(conn, &snapshot.customer_id).await,
    }
}

/// Mails the organization's members of the given roles, in the event's transaction.
async fn notify(
    conn: &impl ConnectionTrait,
    organization_id: &str,
    roles: &[Role],
    mail: impl Fn(&str) -> crate::mail::Mail,
) -> AppResult<()> {
    let org = crate::orgs::entity::organization::Entity::find_by_id(organization_id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("Organization"))?;
    let recipients = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.is_in(roles.iter().map(|r| r.as_str())))
        .find_also_related(user::Entity)
        .all(conn)
        .await?;
    for (_, user) in recipients {
        if let Some(user) = user {
            outbox::enqueue(conn, &user.email, mail(&org.name)).await?;
        }
    }
    Ok(())
}
