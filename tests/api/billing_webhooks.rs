//! Stripe's webhooks: only events signed with the endpoint's secret count,
//! and a subscription's events, in whatever order they come, leave the
//! organization the status and the plan the latest one says.

use chrono::Utc;
use serde_json::json;

use crate::{
    billing::{deliver, spec, state},
    support::{
        SignedUp, TestApp, create_project,
        fake_stripe::{self, FakeStripe, SubSpec, event},
        ops,
    },
};

const DAY: i64 = 86400;

/// One `customer.subscription.updated`: its event id, the status it
/// carries, and how many seconds before now Stripe made it.
#[derive(Clone, Copy, Debug)]
struct Sent(&'static str, &'static str, i64);

struct Lifecycle {
    name: &'static str,
    events: &'static [Sent],
    status: &'static str,
    plan: &'static str,
    trial_end: bool,
}

const TRIAL: Sent = Sent("trial", "trialing", 40 * DAY);
const PAID: Sent = Sent("paid", "active", 30 * DAY);
const LATE: Sent = Sent("late", "past_due", 3 * DAY);
const PAID_AGAIN: Sent = Sent("paid_again", "active", 2 * DAY);

const LIFECYCLES: &[Lifecycle] = &[
    Lifecycle {
        name: "a trial has the plan",
        events: &[TRIAL],
        status: "TRIALING",
        plan: "pro",
        trial_end: true,
    },
    Lifecycle {
        name: "a paid trial keeps the plan",
        events: &[TRIAL, PAID],
        status: "ACTIVE",
        plan: "pro",
        trial_end: false,
    },
    Lifecycle {
        name: "past due within the seven-day grace keeps the plan",
        events: &[TRIAL, PAID, LATE],
        status: "PAST_DUE",
        plan: "pro",
        trial_end: false,
    },
    Lifecycle {
        name: "paid again after being past due",
        events: &[TRIAL, PAID, LATE, PAID_AGAIN],
        status: "ACTIVE",
        plan: "pro",
        trial_end: false,
    },
    Lifecycle {
        name: "canceled falls back to the free plan",
        events: &[
            TRIAL,
            PAID,
            LATE,
            PAID_AGAIN,
            Sent("canceled", "canceled", DAY),
        ],
        status: "CANCELED",
        plan: "free",
        trial_end: false,
    },
    Lifecycle {
        name: "past due for longer than the grace loses the plan",
        events: &[Sent("overdue", "past_due", 8 * DAY)],
        status: "PAST_DUE",
        plan: "free",
        trial_end: false,
    },
    Lifecycle {
        name: "a redelivered event changes nothing",
        events: &[
            Sent("first", "active", 60),
            Sent("second", "past_due", 30),
            Sent("first", "active", 60),
        ],
        status: "PAST_DUE",
        plan: "pro",
        trial_end: false,
    },
    Lifecycle {
        name: "an older event never seen before changes nothing",
        events: &[
            Sent("first", "active", 60),
            Sent("second", "past_due", 30),
            Sent("older", "active", 90),
        ],
        status: "PAST_DUE",
        plan: "pro",
        trial_end: false,
    },
];

/// Sends `events` for a Pro subscription of a new organization, the
/// `case`th, each checked to be acknowledged; returns the organization's id.
async fn live(app: &TestApp, owner: &SignedUp, case: usize, name: &str, events: &[Sent]) -> String {
    let org = app.create_org(owner, &format!("Case {case}")).await;
    let sub = spec(
        &format!("sub_case{case}"),
        &org,
        "active",
        fake_stripe::PRO_MONTH,
        1,
    );
    let now = Utc::now().timestamp();
    for &Sent(id, status, ago) in events {
        let sent = deliver(
            app,
            &format!("evt_case{case}_{id}"),
            now - ago,
            &SubSpec {
                status,
                ..sub.clone()
            },
        )
        .await;
        assert_eq!(sent, 200, "{name}: event {id} was refused");
    }
    org
}

#[tokio::test]
async fn the_status_and_the_plan_follow_the_subscriptions_events() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    for (i, case) in LIFECYCLES.iter().enumerate() {
        let org = live(&app, &owner, i, case.name, case.events).await;
        let s = state(&app, &owner, &org).await;
        let name = case.name;
        assert_eq!(s["subscription"]["status"], case.status, "{name}: {s}");
        assert_eq!(s["entitlements"]["plan"]["id"], case.plan, "{name}: {s}");
        assert_eq!(
            !s["subscription"]["trialEnd"].is_null(),
            case.trial_end,
            "{name}: trialEnd in {s}"
        );
    }
}

/// A Pro trial that five projects were made in, then canceled.
async fn canceled_with_five_projects() -> (FakeStripe, TestApp, SignedUp, String) {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = live(&app, &owner, 0, "a trial", &[TRIAL]).await;
    for i in 0..5 {
        create_project(&owner, &org, &format!("P{i}")).await;
    }
    let sub = spec("sub_case0", &org, "canceled", fake_stripe::PRO_MONTH, 1);
    let now = Utc::now().timestamp();
    assert_eq!(deliver(&app, "evt_canceled", now - DAY, &sub).await, 200);
    (fake, app, owner, org)
}

#[tokio::test]
async fn a_cancellation_deletes_no_project_and_refuses_new_ones() {
    let (_fake, app, owner, org) = canceled_with_five_projects().await;
    let s = state(&app, &owner, &org).await;
    assert_eq!(s["entitlements"]["plan"]["id"], "free");
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
}

#[tokio::test]
async fn a_cancellation_takes_the_plans_features_away() {
    let (_fake, _app, owner, org) = canceled_with_five_projects().await;
    owner
        .client
        .gql(ops::AUDIT_LOG_COUNT, json!({ "id": org }))
        .await
        .assert_code("PLAN_REQUIRED");
}

/// A signed `customer.subscription.updated` that would make the
/// organization active on Pro: the body and its good signature.
async fn signed_activation(app: &TestApp, owner: &SignedUp) -> (String, String, String, i64) {
    let org = app.create_org(owner, "Signed").await;
    let object = fake_stripe::subscription_object(&spec(
        "sub_sig",
        &org,
        "active",
        fake_stripe::PRO_MONTH,
        1,
    ));
    let now = Utc::now().timestamp();
    let (body, signature) = event("evt_sig", "customer.subscription.updated", now, object);
    (org, body, signature, now)
}

#[tokio::test]
async fn an_event_without_a_good_signature_is_refused_and_has_no_effect() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let (org, body, signature, now) = signed_activation(&app, &owner).await;
    let cases = [
        (
            "a malformed signature",
            body.clone(),
            "t=1,v1=00".to_owned(),
        ),
        ("a changed body", format!("{body} "), signature),
        (
            "another secret's signature",
            body.clone(),
            stripe_webhook::Webhook::generate_test_header(&body, "whsec_other", None),
        ),
        (
            "older than the 300 s tolerance",
            body.clone(),
            stripe_webhook::Webhook::generate_test_header(
                &body,
                fake_stripe::WEBHOOK_SECRET,
                Some(now - 400),
            ),
        ),
    ];
    for (name, body, signature) in cases {
        assert_eq!(app.webhook(&body, &signature).await, 400, "{name}");
    }
    assert!(
        state(&app, &owner, &org).await["subscription"].is_null(),
        "a refused event had an effect"
    );
}

// Stripe signs with every secret while one is rolled over.
#[tokio::test]
async fn any_one_matching_signature_among_several_is_enough() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let (org, body, signature, _) = signed_activation(&app, &owner).await;
    let good = signature.split(',').find(|p| p.starts_with("v1=")).unwrap();
    let t = signature.split(',').find(|p| p.starts_with("t=")).unwrap();
    let several = format!("{t},v1=deadbeef,{good}");
    assert_eq!(app.webhook(&body, &several).await, 200);
    assert_eq!(
        state(&app, &owner, &org).await["subscription"]["status"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn an_event_of_an_unknown_type_is_acknowledged() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let now = Utc::now().timestamp();
    let (body, signature) = event("evt_new", "something.brand_new", now, json!({ "id": "x" }));
    assert_eq!(app.webhook(&body, &signature).await, 200);
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
