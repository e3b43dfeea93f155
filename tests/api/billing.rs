//! Stripe billing against a fake Stripe API driven by the real client:
//! checkout and the billing portal, and what a completed checkout turns on.
//! The webhooks' lifecycle is in billing_webhooks, seats and mails in
//! billing_members.

use chrono::Utc;
use serde_json::{Value, json};

use crate::support::{
    SignedUp, TestApp, create_project,
    fake_stripe::{self, FakeStripe, SubSpec, event},
    ops, raw_id,
};

/// The organization's subscription and entitlements, as its owner reads them.
pub async fn state(app: &TestApp, owner: &SignedUp, org: &str) -> Value {
    app.client()
        .with_bearer(&owner.token)
        .gql(ops::BILLING_STATE, json!({ "id": org }))
        .await
        .data()["organization"]
        .clone()
}

pub fn spec(
    id: &str,
    org: &str,
    status: &'static str,
    price: &'static str,
    quantity: u64,
) -> SubSpec {
    SubSpec {
        id: id.into(),
        customer: format!("cus_{id}"),
        organization_id: Some(raw_id(org)),
        status,
        price,
        quantity,
        cancel_at_period_end: false,
    }
}

/// Delivers `customer.subscription.updated` carrying `spec`, made at `created`.
pub async fn deliver(app: &TestApp, event_id: &str, created: i64, spec: &SubSpec) -> u16 {
    let (body, signature) = event(
        event_id,
        "customer.subscription.updated",
        created,
        fake_stripe::subscription_object(spec),
    );
    app.webhook(&body, &signature).await
}

fn checkout(org: &str, plan: &str, interval: &str) -> Value {
    json!({ "org": org, "plan": plan, "interval": interval })
}

#[tokio::test]
async fn without_a_secret_key_checkout_and_the_portal_are_disabled() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Unbilled").await;
    owner
        .client
        .gql(ops::CHECKOUT, checkout(&org, "pro", "MONTH"))
        .await
        .assert_code("BILLING_DISABLED");
    owner
        .client
        .gql(ops::BILLING_PORTAL, json!({ "org": org }))
        .await
        .assert_code("BILLING_DISABLED");
}

#[tokio::test]
async fn without_a_secret_key_organizations_work_on_the_free_plan() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Unbilled").await;
    let s = state(&app, &owner, &org).await;
    assert!(s["subscription"].is_null());
    assert_eq!(s["entitlements"]["plan"]["id"], "free");
    create_project(&owner, &org, "Still works").await;
}

/// A billed server and an organization of three: its owner, an admin and a
/// member.
async fn buyers(fake: &FakeStripe) -> (TestApp, SignedUp, String, [SignedUp; 2]) {
    let app = TestApp::spawn_with_stripe(fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Buyers").await;
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    (app, owner, org, [admin, member])
}

#[tokio::test]
async fn checkout_and_the_portal_are_refused_to_admins_and_members() {
    let fake = FakeStripe::start().await;
    let (_app, _owner, org, others) = buyers(&fake).await;
    for user in &others {
        user.client
            .gql(ops::CHECKOUT, checkout(&org, "team", "MONTH"))
            .await
            .assert_code("FORBIDDEN");
        user.client
            .gql(ops::BILLING_PORTAL, json!({ "org": org }))
            .await
            .assert_code("FORBIDDEN");
    }
    assert!(fake.calls("POST /v1/customers").is_empty());
}

#[tokio::test]
async fn the_portal_needs_a_customer_from_an_earlier_checkout() {
    let fake = FakeStripe::start().await;
    let (_app, owner, org, _) = buyers(&fake).await;
    owner
        .client
        .gql(ops::BILLING_PORTAL, json!({ "org": org }))
        .await
        .assert_code("CONFLICT");
}

#[tokio::test]
async fn checkout_refuses_an_interval_the_plan_has_no_price_for() {
    let fake = FakeStripe::start().await;
    let (_app, owner, org, _) = buyers(&fake).await;
    owner
        .client
        .gql(ops::CHECKOUT, checkout(&org, "team", "YEAR"))
        .await
        .assert_code("BAD_USER_INPUT");
}

#[tokio::test]
async fn checkout_opens_a_session_for_a_new_customer_with_a_seat_per_member() {
    let fake = FakeStripe::start().await;
    let (_app, owner, org, _) = buyers(&fake).await;
    let res = owner
        .client
        .gql(ops::CHECKOUT, checkout(&org, "team", "MONTH"))
        .await;
    let session = &res.data()["createCheckoutSession"];
    assert!(session["id"].as_str().unwrap().starts_with("cs_test_"));
    assert!(
        session["url"]
            .as_str()
            .unwrap()
            .starts_with("https://checkout.stripe.test/")
    );

    let customers = fake.calls("POST /v1/customers");
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].form["metadata[organization_id]"], raw_id(&org));
    let checkout = &fake.calls("POST /v1/checkout/sessions")[0].form;
    assert_eq!(checkout["mode"], "subscription");
    assert_eq!(checkout["line_items[0][price]"], fake_stripe::TEAM_MONTH);
    // Team is per seat: one seat per member.
    assert_eq!(checkout["line_items[0][quantity]"], "3");
    assert_eq!(checkout["client_reference_id"], raw_id(&org));
    assert_eq!(
        checkout["subscription_data[metadata][organization_id]"],
        raw_id(&org)
    );
    assert!(checkout["success_url"].starts_with("http://app.test/billing"));
}

#[tokio::test]
async fn a_second_checkout_reuses_the_customer() {
    let fake = FakeStripe::start().await;
    let (_app, owner, org, _) = buyers(&fake).await;
    for (plan, interval) in [("team", "MONTH"), ("pro", "YEAR")] {
        owner
            .client
            .gql(ops::CHECKOUT, checkout(&org, plan, interval))
            .await
            .data();
    }
    assert_eq!(fake.calls("POST /v1/customers").len(), 1);
    let sessions = fake.calls("POST /v1/checkout/sessions");
    assert_eq!(sessions[1].form["customer"], sessions[0].form["customer"]);
    // Pro is not priced per seat.
    assert_eq!(sessions[1].form["line_items[0][quantity]"], "1");
}

#[tokio::test]
async fn the_portal_opens_for_the_customer_checkout_made() {
    let fake = FakeStripe::start().await;
    let (_app, owner, org, _) = buyers(&fake).await;
    owner
        .client
        .gql(ops::CHECKOUT, checkout(&org, "team", "MONTH"))
        .await
        .data();
    let portal = owner
        .client
        .gql(ops::BILLING_PORTAL, json!({ "org": org }))
        .await;
    assert!(
        portal.data()["createBillingPortalSession"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://billing.stripe.test/")
    );
    assert_eq!(
        fake.calls("POST /v1/billing_portal/sessions")[0].form["customer"],
        fake.calls("POST /v1/checkout/sessions")[0].form["customer"]
    );
}

/// An organization whose owner went through checkout for Pro, monthly, and
/// the `checkout.session.completed` that Stripe sends then.
async fn completed_checkout() -> (FakeStripe, TestApp, SignedUp, String) {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Upgraded").await;
    owner
        .client
        .gql(ops::CHECKOUT, checkout(&org, "pro", "MONTH"))
        .await
        .data();
    let customer = fake.calls("POST /v1/checkout/sessions")[0].form["customer"].clone();
    fake.put(&SubSpec {
        customer: customer.clone(),
        ..spec("sub_done", &org, "active", fake_stripe::PRO_MONTH, 1)
    });
    let mut session = fake_stripe::fixture("checkout_session");
    session["id"] = json!("cs_test_done");
    session["customer"] = json!(customer);
    session["subscription"] = json!("sub_done");
    session["client_reference_id"] = json!(raw_id(&org));
    let (body, signature) = event(
        "evt_done",
        "checkout.session.completed",
        Utc::now().timestamp(),
        session,
    );
    assert_eq!(app.webhook(&body, &signature).await, 200);
    (fake, app, owner, org)
}

#[tokio::test]
async fn checkout_completion_turns_the_plan_on() {
    let (_fake, app, owner, org) = completed_checkout().await;
    let s = state(&app, &owner, &org).await;
    assert_eq!(s["subscription"]["status"], "ACTIVE");
    assert_eq!(s["subscription"]["plan"]["id"], "pro");
    assert_eq!(s["subscription"]["interval"], "MONTH");
    assert_eq!(s["entitlements"]["plan"]["id"], "pro");
    assert_eq!(s["entitlements"]["features"], json!(["AUDIT_LOG"]));
}

#[tokio::test]
async fn checkout_completion_is_in_the_audit_log() {
    let (_fake, _app, owner, org) = completed_checkout().await;
    let log = owner.client.gql(ops::AUDIT_LOG, json!({ "id": org })).await;
    let actions: Vec<&Value> = log.data()["organization"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["action"])
        .collect();
    assert!(
        actions.contains(&&json!("subscription.created")),
        "{actions:?}"
    );
}

#[tokio::test]
async fn deleting_an_organization_cancels_its_subscription_first() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Closing").await;
    let active = spec("sub_close", &org, "active", fake_stripe::PRO_MONTH, 1);
    fake.put(&active);
    deliver(&app, "evt_close", Utc::now().timestamp(), &active).await;

    fake.set_down(true);
    let res = owner
        .client
        .gql(ops::DELETE_ORGANIZATION, json!({ "id": org }))
        .await;
    res.assert_code("INTERNAL");
    assert!(
        !state(&app, &owner, &org).await.is_null(),
        "deleted while still billed"
    );
    fake.set_down(false);

    let res = owner
        .client
        .gql(ops::DELETE_ORGANIZATION, json!({ "id": org }))
        .await;
    assert_eq!(res.data()["deleteOrganization"], true);
    assert_eq!(
        fake.subscription("sub_close").unwrap()["status"],
        "canceled"
    );
}
