//! Whatever order Stripe delivers a subscription's events in, with
//! duplicates, the result is what in-order delivery gives.

use chrono::Utc;
use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use serde_json::json;

use crate::support::{
    TestApp,
    fake_stripe::{self, FakeStripe, SubSpec, subscription_object},
    raw_id,
};

const STATUSES: [&str; 6] = [
    "trialing", "active", "past_due", "unpaid", "paused", "canceled",
];

#[derive(Clone, Debug)]
struct Step {
    status: &'static str,
    seats: u64,
    cancel_at_period_end: bool,
}

fn lifecycle() -> impl Strategy<Value = (Vec<Step>, Vec<usize>, Vec<usize>)> {
    let step = (0..STATUSES.len(), 1u64..6, any::<bool>()).prop_map(|(s, seats, cancel)| Step {
        status: STATUSES[s],
        seats,
        cancel_at_period_end: cancel,
    });
    prop::collection::vec(step, 1..8).prop_flat_map(|steps| {
        let n = steps.len();
        let order = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
        let duplicates = prop::collection::vec(0..n, 0..4);
        (Just(steps), order, duplicates)
    })
}

#[test]
fn shuffled_and_repeated_deliveries_end_like_in_order_delivery() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_fake, app, owner) = rt.block_on(async {
        let fake = FakeStripe::start().await;
        let app = TestApp::spawn_with_stripe(&fake).await;
        let owner = app.sign_up("owner@example.com", "Owner").await;
        (fake, app, owner)
    });
    let cases = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&lifecycle(), |(steps, order, duplicates)| {
            let case = cases.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            rt.block_on(async {
                let org = app.create_org(&owner, &format!("Case {case}")).await;
                let sub = format!("sub_case{case}");
                let base = Utc::now().timestamp() - 3600;
                let deliveries: Vec<usize> = order.iter().chain(duplicates.iter()).copied().collect();
                for i in deliveries {
                    let step = &steps[i];
                    let spec = SubSpec {
                        id: sub.clone(),
                        customer: format!("cus_case{case}"),
                        organization_id: Some(raw_id(&org)),
                        status: step.status,
                        price: fake_stripe::TEAM_MONTH,
                        quantity: step.seats,
                        cancel_at_period_end: step.cancel_at_period_end,
                    };
                    let (body, signature) = fake_stripe::event(
                        &format!("evt_case{case}_{i}"),
                        "customer.subscription.updated",
                        base + 10 * i as i64,
                        subscription_object(&spec),
                    );
                    let status = app.webhook(&body, &signature).await;
                    prop_assert_eq!(status, 200);
                }
                let last = steps.last().unwrap();
                let res = owner
                    .client
                    .gql(
                        "query($id: ID) { organization(id: $id) { subscription { status seats cancelAtPeriodEnd } } }",
                        json!({ "id": org }),
                    )
                    .await;
                let got = res.data()["organization"]["subscription"].clone();
                let want = json!({
                    "status": last.status.to_uppercase(),
                    "seats": last.seats,
                    "cancelAtPeriodEnd": last.cancel_at_period_end,
                });
                prop_assert_eq!(got, want, "steps {:?}, delivered {:?} + {:?}", steps, order, duplicates);
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
}
