//! Stripe billing against a fake Stripe API driven by the real client, and
//! webhooks signed with Stripe's scheme.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use crate::support::{
    SignedUp, TestApp, create_project,
    fake_stripe::{self, FakeStripe, SubSpec, event},
    ops, raw_id,
};

async fn state(app: &TestApp, owner: &SignedUp, org: &str) -> Value {
    app.client()
        .with_bearer(&owner.token)
        .gql(ops::BILLING_STATE, json!({ "id": org }))
        .await
        .data()["organization"]
        .clone()
}

fn spec(id: &str, org: &str, status: &'static str, price: &'static str, quantity: u64) -> SubSpec {
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
async fn deliver(app: &TestApp, event_id: &str, created: i64, spec: &SubSpec) -> u16 {
    let (body, signature) = event(
        event_id,
        "customer.subscription.updated",
        created,
        fake_stripe::subscription_object(spec),
    );
    app.webhook(&body, &signature).await
}

#[tokio::test]
async fn without_a_secret_key_billing_is_disabled_and_everything_else_works() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Unbilled").await;
    let res = owner
        .client
        .gql(
            ops::CHECKOUT,
            json!({ "org": org, "plan": "pro", "interval": "MONTH" }),
        )
        .await;
    res.assert_code("BILLING_DISABLED");
    owner
        .client
        .gql(ops::BILLING_PORTAL, json!({ "org": org }))
        .await
        .assert_code("BILLING_DISABLED");
    let s = state(&app, &owner, &org).await;
    assert!(s["subscription"].is_null());
    assert_eq!(s["entitlements"]["plan"]["id"], "free");
    create_project(&owner, &org, "Still works").await;
}

#[tokio::test]
async fn checkout_and_portal_are_for_owners() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Buyers").await;
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;

    for user in [&admin, &member] {
        user.client
            .gql(
                ops::CHECKOUT,
                json!({ "org": org, "plan": "team", "interval": "MONTH" }),
            )
            .await
            .assert_code("FORBIDDEN");
        user.client
            .gql(ops::BILLING_PORTAL, json!({ "org": org }))
            .await
            .assert_code("FORBIDDEN");
    }
    owner
        .client
        .gql(ops::BILLING_PORTAL, json!({ "org": org }))
        .await
        .assert_code("CONFLICT");
    owner
        .client
        .gql(
            ops::CHECKOUT,
            json!({ "org": org, "plan": "team", "interval": "YEAR" }),
        )
        .await
        .assert_code("BAD_USER_INPUT");

    let res = owner
        .client
        .gql(
            ops::CHECKOUT,
            json!({ "org": org, "plan": "team", "interval": "MONTH" }),
        )
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
    // Per-seat: one seat per member.
    assert_eq!(checkout["line_items[0][quantity]"], "3");
    assert_eq!(checkout["client_reference_id"], raw_id(&org));
    assert_eq!(
        checkout["subscription_data[metadata][organization_id]"],
        raw_id(&org)
    );
    assert!(checkout["success_url"].starts_with("http://app.test/billing"));

    // The customer is reused.
    owner
        .client
        .gql(
            ops::CHECKOUT,
            json!({ "org": org, "plan": "pro", "interval": "YEAR" }),
        )
        .await
        .data();
    assert_eq!(fake.calls("POST /v1/customers").len(), 1);
    assert_eq!(
        fake.calls("POST /v1/checkout/sessions")[1].form["line_items[0][quantity]"],
        "1"
    );

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

#[tokio::test]
async fn checkout_completion_turns_the_plan_on() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Upgraded").await;
    let res = owner
        .client
        .gql(
            ops::CHECKOUT,
            json!({ "org": org, "plan": "pro", "interval": "MONTH" }),
        )
        .await;
    res.data();
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

    let s = state(&app, &owner, &org).await;
    assert_eq!(s["subscription"]["status"], "ACTIVE");
    assert_eq!(s["subscription"]["plan"]["id"], "pro");
    assert_eq!(s["subscription"]["interval"], "MONTH");
    assert_eq!(s["entitlements"]["plan"]["id"], "pro");
    assert_eq!(s["entitlements"]["features"], json!(["AUDIT_LOG"]));
    let log = owner.client.gql(ops::AUDIT_LOG, json!({ "id": org })).await;
    let actions: Vec<&Value> = log.data()["organization"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["action"])
        .collect();
    assert!(actions.contains(&&json!("subscription.created")));
}

#[tokio::test]
async fn signatures_are_checked_on_the_raw_body() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Signed").await;
    let object = fake_stripe::subscription_object(&spec(
        "sub_sig",
        &org,
        "active",
        fake_stripe::PRO_MONTH,
        1,
    ));
    let now = Utc::now().timestamp();
    let (body, signature) = event("evt_sig", "customer.subscription.updated", now, object);

    assert_eq!(app.webhook(&body, "t=1,v1=00").await, 400);
    assert_eq!(
        app.webhook(&format!("{body} "), &signature).await,
        400,
        "a changed body"
    );
    let wrong = stripe_webhook::Webhook::generate_test_header(&body, "whsec_other", None);
    assert_eq!(app.webhook(&body, &wrong).await, 400);
    let stale = stripe_webhook::Webhook::generate_test_header(
        &body,
        fake_stripe::WEBHOOK_SECRET,
        Some(now - 400),
    );
    assert_eq!(
        app.webhook(&body, &stale).await,
        400,
        "older than the 300 s tolerance"
    );
    assert!(
        state(&app, &owner, &org).await["subscription"].is_null(),
        "a refused event had an effect"
    );

    // Any matching v1 signature is enough (Stripe sends several while secrets roll).
    let good = signature.split(',').find(|p| p.starts_with("v1=")).unwrap();
    let t = signature.split(',').find(|p| p.starts_with("t=")).unwrap();
    let several = format!("{t},v1=deadbeef,{good}");
    assert_eq!(app.webhook(&body, &several).await, 200);
    assert_eq!(
        state(&app, &owner, &org).await["subscription"]["status"],
        "ACTIVE"
    );

    // An unknown type is recorded and answered 200.
    let (body, signature) = event("evt_new", "something.brand_new", now, json!({ "id": "x" }));
    assert_eq!(app.webhook(&body, &signature).await, 200);
}

#[tokio::test]
async fn a_redelivered_or_older_event_changes_nothing() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Ordered").await;
    let now = Utc::now().timestamp();
    let active = spec("sub_o", &org, "active", fake_stripe::PRO_MONTH, 1);
    let past_due = SubSpec {
        status: "past_due",
        ..active.clone()
    };
    assert_eq!(deliver(&app, "evt_1", now - 60, &active).await, 200);
    assert_eq!(deliver(&app, "evt_2", now - 30, &past_due).await, 200);
    // The first again (redelivery), and an older one never seen before.
    assert_eq!(deliver(&app, "evt_1", now - 60, &active).await, 200);
    assert_eq!(deliver(&app, "evt_0", now - 90, &active).await, 200);
    assert_eq!(
        state(&app, &owner, &org).await["subscription"]["status"],
        "PAST_DUE"
    );
}

#[tokio::test]
async fn gating_follows_status_and_grace_period() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Gated").await;
    let now = Utc::now().timestamp();
    let base = spec("sub_g", &org, "trialing", fake_stripe::PRO_MONTH, 1);
    let plan = |s: Value| s["entitlements"]["plan"]["id"].as_str().unwrap().to_owned();

    deliver(&app, "evt_g1", now - 40 * 86400, &base).await;
    let s = state(&app, &owner, &org).await;
    assert_eq!(plan(s.clone()), "pro");
    assert!(!s["subscription"]["trialEnd"].is_null());
    for i in 0..5 {
        create_project(&owner, &org, &format!("P{i}")).await;
    }

    deliver(
        &app,
        "evt_g2",
        now - 30 * 86400,
        &SubSpec {
            status: "active",
            ..base.clone()
        },
    )
    .await;
    assert_eq!(plan(state(&app, &owner, &org).await), "pro");
    // Past due three days ago: within the default seven-day grace.
    deliver(
        &app,
        "evt_g3",
        now - 3 * 86400,
        &SubSpec {
            status: "past_due",
            ..base.clone()
        },
    )
    .await;
    assert_eq!(plan(state(&app, &owner, &org).await), "pro");
    deliver(
        &app,
        "evt_g4",
        now - 2 * 86400,
        &SubSpec {
            status: "active",
            ..base.clone()
        },
    )
    .await;
    assert_eq!(plan(state(&app, &owner, &org).await), "pro");
    deliver(
        &app,
        "evt_g5",
        now - 86400,
        &SubSpec {
            status: "canceled",
            ..base.clone()
        },
    )
    .await;
    let s = state(&app, &owner, &org).await;
    assert_eq!(plan(s.clone()), "free");
    // The downgrade deletes nothing: every project stays readable, new ones are refused.
    assert_eq!(
        s["entitlements"]["projects"],
        json!({ "used": 5, "limit": 3 })
    );
    let list = owner
        .client
        .gql(ops::PROJECT_COUNT, json!({ "id": org }))
        .await;
    assert_eq!(list.data()["organization"]["projects"]["totalCount"], 5);
    owner
        .client
        .gql(ops::CREATE_PROJECT, json!({ "org": org, "name": "Six" }))
        .await
        .assert_code("PLAN_LIMIT_REACHED");
    owner
        .client
        .gql(ops::AUDIT_LOG_COUNT, json!({ "id": org }))
        .await
        .assert_code("PLAN_REQUIRED");

    // Past due for longer than the grace period: the plan is gone.
    let other = app.create_org(&owner, "Overdue").await;
    let overdue = spec("sub_late", &other, "past_due", fake_stripe::PRO_MONTH, 1);
    deliver(&app, "evt_late", now - 8 * 86400, &overdue).await;
    let s = state(&app, &owner, &other).await;
    assert_eq!(s["subscription"]["status"], "PAST_DUE");
    assert_eq!(plan(s), "free");
}

#[tokio::test]
async fn trial_ending_and_failed_payments_are_mailed() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Mailed").await;
    app.grant("mailed", "pro");
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    let now = Utc::now().timestamp();
    let trial = spec("sub_m", &org, "trialing", fake_stripe::PRO_MONTH, 1);
    let (body, signature) = event(
        "evt_trial",
        "customer.subscription.trial_will_end",
        now,
        fake_stripe::subscription_object(&trial),
    );
    assert_eq!(app.webhook(&body, &signature).await, 200);
    app.mailbox
        .wait_for(&owner.email, "trial of Mailed ends", 1)
        .await;

    let mut invoice = fake_stripe::fixture("invoice");
    invoice["customer"] = json!("cus_sub_m");
    let (body, signature) = event("evt_failed", "invoice.payment_failed", now + 1, invoice);
    assert_eq!(app.webhook(&body, &signature).await, 200);
    app.mailbox
        .wait_for(&owner.email, "payment for Mailed failed", 1)
        .await;
    app.mailbox
        .wait_for(&admin.email, "payment for Mailed failed", 1)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        app.mailbox
            .find(&member.email, "payment for Mailed failed")
            .is_empty()
    );
    assert!(app.mailbox.find(&admin.email, "trial of Mailed").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_follow_membership_and_survive_a_stripe_outage() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Seated").await;
    let team = spec("sub_seats", &org, "active", fake_stripe::TEAM_MONTH, 1);
    fake.put(&team);
    deliver(&app, "evt_s1", Utc::now().timestamp(), &team).await;
    let quantity = |fake: &FakeStripe| {
        fake.subscription("sub_seats").unwrap()["items"]["data"][0]["quantity"].as_u64()
    };
    let wait_for = |want: u64| {
        let fake = fake.clone();
        async move {
            for _ in 0..100 {
                if quantity(&fake) == Some(want) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("Stripe never got {want} seats, has {:?}", quantity(&fake));
        }
    };

    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    wait_for(2).await;

    // Stripe goes down; a member leaves; the update waits, then arrives.
    fake.set_down(true);
    member
        .client
        .gql(ops::LEAVE_ORGANIZATION, json!({ "id": org }))
        .await
        .data();
    let tried = fake.calls("POST /v1/subscription_items/{id}").len();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        fake.calls("POST /v1/subscription_items/{id}").len() > tried,
        "no retry during the outage"
    );
    assert_eq!(quantity(&fake), Some(2));
    fake.set_down(false);
    wait_for(1).await;
    let s = state(&app, &owner, &org).await;
    assert_eq!(s["subscription"]["seats"], 1);
}

// The command runs while the test waits for it: the fake Stripe API needs
// a second worker thread to answer meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_sync_repairs_a_missed_cancellation() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Synced").await;
    let active = spec("sub_sync", &org, "active", fake_stripe::PRO_MONTH, 1);
    fake.put(&active);
    deliver(&app, "evt_sync", Utc::now().timestamp() - 60, &active).await;
    assert_eq!(
        state(&app, &owner, &org).await["entitlements"]["plan"]["id"],
        "pro"
    );

    // Canceled at Stripe; the webhook never arrives.
    fake.put(&SubSpec {
        status: "canceled",
        ..active.clone()
    });
    let out = app.cli_with(&["billing", "sync"], &fake.env());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = state(&app, &owner, &org).await;
    assert_eq!(s["subscription"]["status"], "CANCELED");
    assert_eq!(s["entitlements"]["plan"]["id"], "free");
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
