//! Calls to Stripe are made with no database transaction open: a slow
//! Stripe delays the request that waits for it and nobody else's, and
//! concurrent checkouts of one organization end with one customer.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::support::{
    SignedUp, TestApp, create_project,
    fake_stripe::{self, FakeStripe, SubSpec},
    ops, raw_id, row_id,
};
use groundwork::{billing::subscriptions::customer, ids::OrganizationId};

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
    let app = TestApp::spawn_with_stripe(&fake).await;
    let buyer = app.sign_up("buyer@example.com", "Buyer").await;
    let bystander = app.sign_up("bystander@example.com", "Bystander").await;
    let buyers_org = app.create_org(&buyer, "Buying").await;
    let own_org = app.create_org(&bystander, "Busy").await;
    let stripe_takes = Duration::from_secs(4);
    fake.set_delay(stripe_takes);

    let checkout = {
        let client = buyer.client.clone();
        let org = buyers_org.clone();
        tokio::spawn(async move {
            client
                .gql(
                    ops::CHECKOUT,
                    json!({ "org": org, "plan": "pro", "interval": "MONTH" }),
                )
                .await
        })
    };
    until_stripe_is_asked(&fake, CUSTOMERS).await;

    let started = Instant::now();
    create_project(&bystander, &own_org, "Not waiting for Stripe").await;
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
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Twice").await;
    let co_owner = app
        .join_new(&owner, &org, "co-owner@example.com", "OWNER")
        .await;
    fake.set_delay(Duration::from_millis(800));

    let (first, second) = tokio::join!(
        owner.client.gql(
            ops::CHECKOUT,
            json!({ "org": org, "plan": "pro", "interval": "MONTH" })
        ),
        co_owner.client.gql(
            ops::CHECKOUT,
            json!({ "org": org, "plan": "pro", "interval": "MONTH" })
        ),
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
        .filter(customer::Column::OrganizationId.eq(OrganizationId(row_id(&org))))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].customer_id, sessions[0].form["customer"]);

    // Later checkouts reuse it without asking Stripe again.
    owner
        .client
        .gql(
            ops::CHECKOUT,
            json!({ "org": org, "plan": "pro", "interval": "MONTH" }),
        )
        .await
        .data();
    assert_eq!(fake.calls(CUSTOMERS).len(), 1);
    assert_eq!(fake.arrived(CUSTOMERS).len(), keys.len());
}

/// Runs `operation` until Stripe is answering its request to `route`, then
/// times an ordinary mutation of another user meanwhile; returns what the
/// operation gave.
async fn meanwhile<T: Send + 'static>(
    fake: &FakeStripe,
    route: &str,
    operation: impl Future<Output = T> + Send + 'static,
    bystander: &SignedUp,
) -> T {
    let before = fake.arrived(route).len();
    meanwhile_since(fake, route, before, operation, bystander).await
}

/// `meanwhile` for work that may already have reached Stripe before
/// `operation` starts (a worker woken by an earlier request): it waits for
/// more than `before` requests to `route`, counted by the caller before
/// that work could begin.
async fn meanwhile_since<T: Send + 'static>(
    fake: &FakeStripe,
    route: &str,
    before: usize,
    operation: impl Future<Output = T> + Send + 'static,
    bystander: &SignedUp,
) -> T {
    let running = tokio::spawn(operation);
    for _ in 0..200 {
        if fake.arrived(route).len() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        fake.arrived(route).len() > before,
        "Stripe was never asked for {route}"
    );
    let started = Instant::now();
    bystander
        .client
        .gql(
            "mutation($n: String!) { createOrganization(input: { name: $n }) { id } }",
            json!({ "n": format!("Meanwhile {before} {route}") }),
        )
        .await
        .data();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "another user's mutation took {took:?} while Stripe was answering {route}"
    );
    assert!(
        !running.is_finished(),
        "Stripe's delay was not in effect for {route}"
    );
    running.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_to_stripe_holds_the_database() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let buyer = app.sign_up("buyer@example.com", "Buyer").await;
    let bystander = app.sign_up("bystander@example.com", "Bystander").await;
    let org = app.create_org(&buyer, "Paying").await;
    buyer
        .client
        .gql(
            ops::CHECKOUT,
            json!({ "org": org, "plan": "pro", "interval": "MONTH" }),
        )
        .await
        .data();
    let customer = fake.calls("POST /v1/checkout/sessions")[0].form["customer"].clone();
    let team = SubSpec {
        id: "sub_slow".into(),
        customer: customer.clone(),
        organization_id: Some(raw_id(&org)),
        status: "active",
        price: fake_stripe::TEAM_MONTH,
        quantity: 1,
        cancel_at_period_end: false,
    };
    fake.put(&team);
    fake.set_delay(Duration::from_secs(3));

    // The completed checkout's webhook reads the subscription from Stripe.
    let mut session = fake_stripe::fixture("checkout_session");
    session["customer"] = json!(customer);
    session["subscription"] = json!("sub_slow");
    session["client_reference_id"] = json!(raw_id(&org));
    let (body, signature) = fake_stripe::event(
        "evt_slow",
        "checkout.session.completed",
        chrono::Utc::now().timestamp(),
        session,
    );
    let webhook = reqwest::Client::new()
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send();
    let delivered = meanwhile(&fake, "GET /v1/subscriptions/sub_slow", webhook, &bystander).await;
    assert_eq!(delivered.unwrap().status(), 200);

    let portal = {
        let client = buyer.client.clone();
        let org = org.clone();
        async move { client.gql(ops::BILLING_PORTAL, json!({ "org": org })).await }
    };
    meanwhile(
        &fake,
        "POST /v1/billing_portal/sessions",
        portal,
        &bystander,
    )
    .await
    .data();

    // A member joins; the seat worker tells Stripe, maybe before the join
    // has returned.
    let seat_push = "POST /v1/subscription_items/si_slow";
    let pushes_before = fake.arrived(seat_push).len();
    // Long enough that the push is still being answered after the join and
    // the bystander's mutation, however early the worker sent it.
    fake.set_delay(Duration::from_secs(8));
    app.join_new(&buyer, &org, "member@example.com", "MEMBER")
        .await;
    let seats = {
        let fake = fake.clone();
        async move {
            while fake.subscription("sub_slow").unwrap()["items"]["data"][0]["quantity"] != 2 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    meanwhile_since(&fake, seat_push, pushes_before, seats, &bystander).await;
    fake.set_delay(Duration::from_secs(3));

    // Deleting the organization cancels the subscription at Stripe first.
    let deletion = {
        let client = buyer.client.clone();
        let org = org.clone();
        async move {
            client
                .gql(ops::DELETE_ORGANIZATION, json!({ "id": org }))
                .await
        }
    };
    let deleted = meanwhile(
        &fake,
        "DELETE /v1/subscriptions/sub_slow",
        deletion,
        &bystander,
    )
    .await;
    assert_eq!(deleted.data()["deleteOrganization"], true);
    assert_eq!(fake.subscription("sub_slow").unwrap()["status"], "canceled");
}
