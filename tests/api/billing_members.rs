//! Billing as the members meet it: a seat for each member, kept in step
//! with Stripe through its outages, and mail for those who pay.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::{
    billing::{deliver, spec, state},
    support::{
        SignedUp, TestApp,
        fake_stripe::{self, FakeStripe, event},
        ops,
    },
};

/// An organization on Pro with an admin and a member besides its owner.
async fn mailed(app: &TestApp) -> (String, [SignedUp; 3]) {
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Mailed").await;
    app.grant("mailed", "pro");
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    (org, [owner, admin, member])
}

/// Lets mail that was going to be sent arrive before a test says none came.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn the_end_of_a_trial_is_mailed_to_the_owner_alone() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let (org, [owner, admin, _]) = mailed(&app).await;
    let trial = spec("sub_m", &org, "trialing", fake_stripe::PRO_MONTH, 1);
    let (body, signature) = event(
        "evt_trial",
        "customer.subscription.trial_will_end",
        Utc::now().timestamp(),
        fake_stripe::subscription_object(&trial),
    );
    assert_eq!(app.webhook(&body, &signature).await, 200);
    app.mailbox
        .wait_for(&owner.email, "trial of Mailed ends", 1)
        .await;
    settle().await;
    assert!(app.mailbox.find(&admin.email, "trial of Mailed").is_empty());
}

#[tokio::test]
async fn a_failed_payment_is_mailed_to_owners_and_admins_not_members() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let (org, [owner, admin, member]) = mailed(&app).await;
    let now = Utc::now().timestamp();
    let sub = spec("sub_m", &org, "active", fake_stripe::PRO_MONTH, 1);
    assert_eq!(deliver(&app, "evt_sub", now - 60, &sub).await, 200);
    let mut invoice = fake_stripe::fixture("invoice");
    invoice["customer"] = json!("cus_sub_m");
    let (body, signature) = event("evt_failed", "invoice.payment_failed", now, invoice);
    assert_eq!(app.webhook(&body, &signature).await, 200);
    app.mailbox
        .wait_for(&owner.email, "payment for Mailed failed", 1)
        .await;
    app.mailbox
        .wait_for(&admin.email, "payment for Mailed failed", 1)
        .await;
    settle().await;
    assert!(
        app.mailbox
            .find(&member.email, "payment for Mailed failed")
            .is_empty()
    );
}

/// An organization on a per-seat Team subscription at Stripe, one seat for
/// its owner; and a wait for Stripe to hold a given number of seats.
struct Seated {
    fake: FakeStripe,
    app: TestApp,
    owner: SignedUp,
    org: String,
}

impl Seated {
    async fn start() -> Self {
        let fake = FakeStripe::start().await;
        let app = TestApp::spawn_with_stripe(&fake).await;
        let owner = app.sign_up("owner@example.com", "Owner").await;
        let org = app.create_org(&owner, "Seated").await;
        let team = spec("sub_seats", &org, "active", fake_stripe::TEAM_MONTH, 1);
        fake.put(&team);
        deliver(&app, "evt_s1", Utc::now().timestamp(), &team).await;
        Self {
            fake,
            app,
            owner,
            org,
        }
    }

    fn quantity(&self) -> Option<u64> {
        self.fake.subscription("sub_seats").unwrap()["items"]["data"][0]["quantity"].as_u64()
    }

    async fn wait_for(&self, want: u64) {
        for _ in 0..100 {
            if self.quantity() == Some(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Stripe never got {want} seats, has {:?}", self.quantity());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_member_adds_a_seat_at_stripe() {
    let seated = Seated::start().await;
    seated
        .app
        .join_new(&seated.owner, &seated.org, "member@example.com", "MEMBER")
        .await;
    seated.wait_for(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_change_during_a_stripe_outage_is_retried_until_it_arrives() {
    let seated = Seated::start().await;
    let (app, fake, org) = (&seated.app, &seated.fake, &seated.org);
    let member = app
        .join_new(&seated.owner, org, "member@example.com", "MEMBER")
        .await;
    seated.wait_for(2).await;

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
    assert_eq!(seated.quantity(), Some(2));
    fake.set_down(false);
    seated.wait_for(1).await;
    let s = state(app, &seated.owner, org).await;
    assert_eq!(s["subscription"]["seats"], 1);
}
