//! Calls to Stripe are made with no database transaction open: a slow
//! Stripe delays the request that waits for it and nobody else's, and
//! concurrent checkouts of one organization end with one customer.

use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::{
    billing::billing_app,
    projects::create,
    support::{fake_stripe::FakeStripe, raw_id},
};
use groundwork::billing::subscriptions::customer;

const CHECKOUT: &str = "mutation($org: ID!) { createCheckoutSession(input: { organizationId: $org, planId: \"pro\", interval: MONTH }) { id } }";
const CUSTOMERS: &str = "POST /v1/customers";

/// Waits until the fake has received a request to `route`: the request
/// being timed then runs while Stripe is busy answering it.
async fn until_stripe_is_asked(fake: &FakeStripe, route: &str) {
    for _ in 0..200 {
        if !fake.arrived(route).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("Stripe was never asked for {route}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_stripe_delays_nobody_else() {
    let fake = FakeStripe::start().await;
    let app = billing_app(&fake).await;
    let buyer = app.sign_up("buyer@example.com", "Buyer").await;
    let bystander = app.sign_up("bystander@example.com", "Bystander").await;
    let buyers_org = app.create_org(&buyer, "Buying").await;
    let own_org = app.create_org(&bystander, "Busy").await;
    let stripe_takes = Duration::from_secs(4);
    fake.set_delay(stripe_takes);

    let checkout = {
        let client = buyer.client.clone();
        let org = buyers_org.clone();
        tokio::spawn(async move { client.gql(CHECKOUT, json!({ "org": org })).await })
    };
    until_stripe_is_asked(&fake, CUSTOMERS).await;

    let started = Instant::now();
    create(&bystander, &own_org, "Not waiting for Stripe").await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "another user's mutation took {took:?} while Stripe was answering a checkout"
    );
    assert!(!checkout.is_finished(), "Stripe's delay was not in effect");

    let res = checkout.await.unwrap();
    assert!(
        res.data()["createCheckoutSession"]["id"]
            .as_str()
            .unwrap()
            .starts_with("cs_test_")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checkouts_of_one_organization_make_one_customer() {
    let fake = FakeStripe::start().await;
    let app = billing_app(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Twice").await;
    let co_owner = app
        .join_new(&owner, &org, "co-owner@example.com", "OWNER")
        .await;
    fake.set_delay(Duration::from_millis(800));

    let (first, second) = tokio::join!(
        owner.client.gql(CHECKOUT, json!({ "org": org })),
        co_owner.client.gql(CHECKOUT, json!({ "org": org })),
    );
    first.data();
    second.data();

    assert_eq!(
        fake.calls(CUSTOMERS).len(),
        1,
        "Stripe made more than one customer"
    );
    let keys = fake.arrived(CUSTOMERS);
    assert!(
        keys.len() >= 2,
        "both checkouts asked for a customer: {keys:?}"
    );
    let key = keys[0].clone().expect("an idempotency key");
    assert!(key.contains(&raw_id(&org)), "{key}");
    assert!(keys.iter().all(|k| k.as_ref() == Some(&key)), "{keys:?}");
    let sessions = fake.calls("POST /v1/checkout/sessions");
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0].form["customer"], sessions[1].form["customer"]);
    // The organization's first owner is Stripe's contact, whoever buys.
    assert_eq!(fake.calls(CUSTOMERS)[0].form["email"], "owner@example.com");

    let recorded = customer::Entity::find()
        .filter(customer::Column::OrganizationId.eq(raw_id(&org)))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].customer_id, sessions[0].form["customer"]);

    // Later checkouts reuse it without asking Stripe again.
    owner
        .client
        .gql(CHECKOUT, json!({ "org": org }))
        .await
        .data();
    assert_eq!(fake.calls(CUSTOMERS).len(), 1);
    assert_eq!(fake.arrived(CUSTOMERS).len(), keys.len());
}
