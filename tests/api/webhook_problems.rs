//! Stripe events that can never apply are recorded with the reason and
//! answered 200, since Stripe would otherwise send them again for days;
//! failures that may pass are answered 500, so that it does.

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};

use crate::support::{
    SignedUp, TestApp,
    fake_stripe::{self, FakeStripe, SubSpec, event, subscription_object},
    ops, raw_id,
};
use groundwork::billing::webhook::ledger;

fn spec(id: &str, customer: &str, organization_id: Option<String>, price: &'static str) -> SubSpec {
    SubSpec {
        id: id.into(),
        customer: customer.into(),
        organization_id,
        status: "active",
        price,
        quantity: 1,
        cancel_at_period_end: false,
    }
}

async fn send(app: &TestApp, id: &str, kind: &str, object: Value) -> u16 {
    let (body, signature) = event(id, kind, Utc::now().timestamp(), object);
    app.webhook(&body, &signature).await
}

async fn subscription_event(app: &TestApp, id: &str, spec: &SubSpec) -> u16 {
    send(
        app,
        id,
        "customer.subscription.updated",
        subscription_object(spec),
    )
    .await
}

/// The ledger's row for an event: whether it was processed, and its problem.
async fn ledger_row(app: &TestApp, id: &str) -> (bool, Option<String>) {
    let row = ledger::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("event {id} was not recorded"));
    (row.processed_at.is_some(), row.problem)
}

/// Asserts the event was recorded as processed with a problem containing `says`.
async fn recorded_with(app: &TestApp, id: &str, says: &str) {
    let (processed, problem) = ledger_row(app, id).await;
    assert!(processed, "{id} is not marked processed");
    let problem = problem.unwrap_or_else(|| panic!("{id} was recorded without a problem"));
    assert!(
        problem.contains(says),
        "{id}: {problem:?} does not say {says:?}"
    );
}

async fn state(owner: &SignedUp, org: &str) -> Value {
    owner
        .client
        .gql(ops::BILLING_STATE, json!({ "id": org }))
        .await
        .data()["organization"]
        .clone()
}

fn checkout_session(customer: &str, subscription: &str, org: &str) -> Value {
    let mut session = fake_stripe::fixture("checkout_session");
    session["id"] = json!(format!("cs_test_{subscription}"));
    session["customer"] = json!(customer);
    session["subscription"] = json!(subscription);
    session["client_reference_id"] = json!(org);
    session
}

#[tokio::test]
async fn a_customer_of_another_organization_is_acknowledged_and_changes_nothing() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let first = app.create_org(&owner, "First").await;
    let second = app.create_org(&owner, "Second").await;
    let paid = spec(
        "sub_first",
        "cus_shared",
        Some(raw_id(&first)),
        fake_stripe::PRO_MONTH,
    );
    assert_eq!(subscription_event(&app, "evt_first", &paid).await, 200);

    // A subscription naming the second organization with the first one's customer.
    let crossed = spec(
        "sub_crossed",
        "cus_shared",
        Some(raw_id(&second)),
        fake_stripe::PRO_MONTH,
    );
    for _ in 0..2 {
        assert_eq!(subscription_event(&app, "evt_crossed", &crossed).await, 200);
    }
    recorded_with(&app, "evt_crossed", "belongs to organization").await;
    assert!(state(&owner, &second).await["subscription"].is_null());
    assert_eq!(
        state(&owner, &first).await["entitlements"]["plan"]["id"],
        "pro"
    );

    // The same through a completed checkout.
    fake.put(&crossed);
    let session = checkout_session("cus_shared", "sub_crossed", &raw_id(&second));
    assert_eq!(
        send(
            &app,
            "evt_cs_crossed",
            "checkout.session.completed",
            session
        )
        .await,
        200
    );
    recorded_with(&app, "evt_cs_crossed", "belongs to organization").await;
    assert!(state(&owner, &second).await["subscription"].is_null());
}

#[tokio::test]
async fn unknown_organizations_and_customers_are_acknowledged() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Known").await;
    let nobody = uuid::Uuid::now_v7().to_string();

    let unknown = spec(
        "sub_nobody",
        "cus_nobody",
        Some(nobody.clone()),
        fake_stripe::PRO_MONTH,
    );
    assert_eq!(subscription_event(&app, "evt_nobody", &unknown).await, 200);
    recorded_with(&app, "evt_nobody", &format!("no organization {nobody}")).await;

    let orphan = spec("sub_orphan", "cus_orphan", None, fake_stripe::PRO_MONTH);
    assert_eq!(subscription_event(&app, "evt_orphan", &orphan).await, 200);
    recorded_with(
        &app,
        "evt_orphan",
        "no organization has customer cus_orphan",
    )
    .await;

    let mut invoice = fake_stripe::fixture("invoice");
    invoice["customer"] = json!("cus_orphan");
    assert_eq!(
        send(&app, "evt_invoice", "invoice.payment_failed", invoice).await,
        200
    );
    recorded_with(&app, "evt_invoice", "cus_orphan").await;

    // A checkout completed for an organization that is gone since.
    fake.put(&unknown);
    let session = checkout_session("cus_nobody", "sub_nobody", &nobody);
    assert_eq!(
        send(&app, "evt_cs_nobody", "checkout.session.completed", session).await,
        200
    );
    recorded_with(&app, "evt_cs_nobody", "no organization").await;

    // A checkout whose subscription Stripe does not have.
    let session = checkout_session("cus_ghost", "sub_ghost", &raw_id(&org));
    assert_eq!(
        send(&app, "evt_cs_ghost", "checkout.session.completed", session).await,
        200
    );
    recorded_with(&app, "evt_cs_ghost", "sub_ghost does not exist at Stripe").await;
    assert!(state(&owner, &org).await["subscription"].is_null());
}

#[tokio::test]
async fn a_price_no_plan_has_is_applied_as_the_free_plan_and_said_so() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Legacy").await;
    let legacy = spec(
        "sub_legacy",
        "cus_legacy",
        Some(raw_id(&org)),
        "price_retired",
    );
    assert_eq!(subscription_event(&app, "evt_legacy", &legacy).await, 200);
    recorded_with(&app, "evt_legacy", "price_retired").await;
    let s = state(&owner, &org).await;
    assert_eq!(s["subscription"]["status"], "ACTIVE");
    assert_eq!(s["entitlements"]["plan"]["id"], "free");

    // Ending it still ends it.
    let ended = SubSpec {
        status: "canceled",
        ..legacy
    };
    let (body, signature) = event(
        "evt_legacy_end",
        "customer.subscription.deleted",
        Utc::now().timestamp() + 1,
        subscription_object(&ended),
    );
    assert_eq!(app.webhook(&body, &signature).await, 200);
    assert_eq!(
        state(&owner, &org).await["subscription"]["status"],
        "CANCELED"
    );
}

#[tokio::test]
async fn malformed_objects_are_acknowledged_on_every_database() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Strict").await;

    for (n, metadata) in ["not-an-organization", "\0", &format!("{}\0", raw_id(&org))]
        .into_iter()
        .enumerate()
    {
        let bad = spec(
            &format!("sub_bad{n}"),
            &format!("cus_bad{n}"),
            Some(metadata.to_owned()),
            fake_stripe::PRO_MONTH,
        );
        let id = format!("evt_bad_metadata{n}");
        assert_eq!(
            subscription_event(&app, &id, &bad).await,
            200,
            "{metadata:?}"
        );
        recorded_with(&app, &id, "malformed: organization_id metadata").await;
    }
    let nul_customer = spec(
        "sub_nul",
        "cus_\0",
        Some(raw_id(&org)),
        fake_stripe::PRO_MONTH,
    );
    assert_eq!(
        subscription_event(&app, "evt_nul_customer", &nul_customer).await,
        200
    );
    recorded_with(&app, "evt_nul_customer", "malformed: customer id").await;

    let mut invoice = fake_stripe::fixture("invoice");
    invoice["customer"] = json!("cus_\u{0}x");
    assert_eq!(
        send(&app, "evt_nul_invoice", "invoice.paid", invoice).await,
        200
    );
    recorded_with(&app, "evt_nul_invoice", "malformed: customer id").await;

    let session = checkout_session("cus_ok", "sub_ok", "\0");
    assert_eq!(
        send(&app, "evt_cs_nul", "checkout.session.completed", session).await,
        200
    );
    recorded_with(&app, "evt_cs_nul", "malformed").await;

    // Signed by Stripe, of a known type, and not an object of that type.
    assert_eq!(
        send(
            &app,
            "evt_unreadable",
            "customer.subscription.updated",
            json!({ "id": 5 })
        )
        .await,
        200
    );
    recorded_with(&app, "evt_unreadable", "cannot be read").await;
    assert!(state(&owner, &org).await["subscription"].is_null());
}

#[tokio::test]
async fn failures_that_may_pass_are_answered_500_and_applied_when_sent_again() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Patient").await;
    let paid = spec(
        "sub_patient",
        "cus_patient",
        Some(raw_id(&org)),
        fake_stripe::PRO_MONTH,
    );

    // The database cannot record the event.
    app.db
        .execute_unprepared("ALTER TABLE stripe_events RENAME TO stripe_events_away")
        .await
        .unwrap();
    assert_eq!(subscription_event(&app, "evt_patient", &paid).await, 500);
    app.db
        .execute_unprepared("ALTER TABLE stripe_events_away RENAME TO stripe_events")
        .await
        .unwrap();
    assert_eq!(subscription_event(&app, "evt_patient", &paid).await, 200);
    assert_eq!(ledger_row(&app, "evt_patient").await, (true, None));
    assert_eq!(
        state(&owner, &org).await["entitlements"]["plan"]["id"],
        "pro"
    );

    // Stripe cannot be asked for a completed checkout's subscription.
    let other = app.create_org(&owner, "Waiting").await;
    let team = spec(
        "sub_waiting",
        "cus_waiting",
        Some(raw_id(&other)),
        fake_stripe::PRO_MONTH,
    );
    fake.put(&team);
    fake.set_down(true);
    let session = checkout_session("cus_waiting", "sub_waiting", &raw_id(&other));
    assert_eq!(
        send(
            &app,
            "evt_cs_waiting",
            "checkout.session.completed",
            session.clone()
        )
        .await,
        500
    );
    assert!(
        ledger::Entity::find_by_id("evt_cs_waiting")
            .one(&app.db)
            .await
            .unwrap()
            .is_none()
    );
    fake.set_down(false);
    assert_eq!(
        send(
            &app,
            "evt_cs_waiting",
            "checkout.session.completed",
            session
        )
        .await,
        200
    );
    assert_eq!(ledger_row(&app, "evt_cs_waiting").await, (true, None));
    assert_eq!(
        state(&owner, &other).await["subscription"]["status"],
        "ACTIVE"
    );
}
