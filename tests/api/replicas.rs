//! Live events through the durable log, and several server processes on
//! one database behaving as one: a subscriber misses nothing when its
//! database connection drops, a resumed subscription gets exactly what it
//! missed, and three replicas do each piece of background work once and
//! deliver each event once to each subscriber. The tests of several
//! processes need PostgreSQL (they run in the PostgreSQL pass; on a SQLite
//! run they return at once, as one SQLite file serves one process).

use std::{collections::HashMap, time::Duration};

use serde_json::{Value, json};

use crate::support::{
    SignedUp, TestApp, TestConfig, TestDatabase, create_project,
    database::is_postgres,
    fake_stripe::{self, FakeStripe, SubSpec},
    fault_proxy::{FaultProxy, upstream_of},
    ops, raw_id,
    ws::{Auth, Subscription},
};

async fn subscribe(app: &TestApp, user: &SignedUp, org: &str, after: Option<&str>) -> Subscription {
    Subscription::start(
        &app.base_url,
        Auth::Bearer(&user.token),
        ops::RESUMABLE_PROJECT_EVENTS,
        json!({ "org": org, "after": after }),
    )
    .await
}

/// The next event of a subscription, failing on anything else.
pub async fn next_event(events: &mut Subscription) -> Value {
    let message = events.next().await;
    assert_eq!(message["type"], "next", "{message}");
    let event = message["payload"]["data"]["projectEvents"].clone();
    assert!(event.is_object(), "{message}");
    event
}

pub async fn rename(user: &SignedUp, project: &str, name: &str) {
    user.client
        .gql(ops::RENAME_PROJECT, json!({ "id": project, "name": name }))
        .await
        .data();
}

async fn delete(user: &SignedUp, project: &str) {
    user.client
        .gql(ops::DELETE_PROJECT, json!({ "id": project }))
        .await
        .data();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_subscription_receives_exactly_what_it_missed_in_order() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Resumed").await;
    let elsewhere = app.create_org(&owner, "Elsewhere").await;

    let mut events = subscribe(&app, &owner, &org, None).await;
    let first = create_project(&owner, &org, "First").await;
    let seen = next_event(&mut events).await;
    assert_eq!(seen["projectId"], first.as_str());
    let cursor = seen["cursor"].as_str().unwrap().to_owned();
    drop(events);

    // While nobody listens: three changes here, one in another organization.
    let second = create_project(&owner, &org, "Second").await;
    rename(&owner, &second, "Second, renamed").await;
    create_project(&owner, &elsewhere, "Not this organization's").await;
    delete(&owner, &first).await;

    let mut resumed = subscribe(&app, &owner, &org, Some(&cursor)).await;
    let missed = [
        next_event(&mut resumed).await,
        next_event(&mut resumed).await,
        next_event(&mut resumed).await,
    ];
    let kinds: Vec<(&str, &str)> = missed
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["projectId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("CREATED", second.as_str()),
            ("UPDATED", second.as_str()),
            ("DELETED", first.as_str()),
        ]
    );
    // Then live, with nothing given twice.
    let third = create_project(&owner, &org, "Third").await;
    let live = next_event(&mut resumed).await;
    assert_eq!(
        (live["kind"].as_str(), live["projectId"].as_str()),
        (Some("CREATED"), Some(third.as_str()))
    );
    resumed.expect_silence(Duration::from_millis(500)).await;

    // The last cursor resumes with nothing missed.
    let last = live["cursor"].as_str().unwrap().to_owned();
    let mut caught_up = subscribe(&app, &owner, &org, Some(&last)).await;
    caught_up.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_older_than_the_log_keeps_is_cursor_expired() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Pruned").await;
    let mut events = subscribe(&app, &owner, &org, None).await;
    create_project(&owner, &org, "Old").await;
    let cursor = next_event(&mut events).await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    create_project(&owner, &org, "Older than the window too").await;
    next_event(&mut events).await;
    drop(events);
    let pruned = app
        .state
        .events
        .prune_older_than(Duration::ZERO)
        .await
        .unwrap();
    assert!(pruned >= 2, "pruned {pruned}");

    let mut expired = subscribe(&app, &owner, &org, Some(&cursor)).await;
    let message = expired.next().await;
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"], "CURSOR_EXPIRED",
        "{message}"
    );
    // Subscribing afresh works, and a cursor that was never handed out is
    // the client's mistake.
    let mut fresh = subscribe(&app, &owner, &org, None).await;
    create_project(&owner, &org, "New").await;
    assert_eq!(next_event(&mut fresh).await["kind"], "CREATED");
    for forged in ["not-a-cursor", "ZTotMQ", ""] {
        let mut bad = subscribe(&app, &owner, &org, Some(forged)).await;
        let message = bad.next().await;
        assert_eq!(
            message["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{forged:?}: {message}"
        );
    }
}

fn postgres_server() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_while_a_replicas_connection_was_cut_still_arrives() {
    if !is_postgres() {
        return;
    }
    let database = TestDatabase::create_postgres(&postgres_server()).await;
    let direct = database.url.clone();
    let proxy = FaultProxy::start(upstream_of(&direct)).await;
    // Replica A reaches the database only through the proxy, its LISTEN
    // connection included; B directly.
    let a = TestApp::spawn_with(
        TestConfig::default()
            .var("DATABASE_URL", proxy.url_for(&direct))
            .var("DATABASE_ACQUIRE_TIMEOUT", "2s")
            .var("LIVE_EVENTS_POLL_INTERVAL", "1h"),
    )
    .await;
    let b = TestApp::spawn_on(database, TestConfig::default()).await;
    let owner = b.sign_up("owner@example.com", "Owner").await;
    let org = b.create_org(&owner, "Cut").await;
    let mut events = subscribe(&a, &owner, &org, None).await;

    proxy.cut();
    // Long enough for A to notice it has lost its connections.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let made = create_project(&owner, &org, "Made while A was cut off").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.resume();

    // The NOTIFY went to nobody; A's reader reads it from the log once its
    // listener is back (its poll is an hour away).
    let event = next_event(&mut events).await;
    assert_eq!(event["projectId"], made.as_str(), "{event}");
    assert_eq!(event["project"]["name"], "Made while A was cut off");
    events.expect_silence(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_deliver_each_event_once_to_each_subscriber() {
    if !is_postgres() {
        return;
    }
    let database = TestDatabase::create_postgres(&postgres_server()).await;
    let url = database.url.clone();
    let first = TestApp::spawn_on(database, TestConfig::default()).await;
    let others = [
        TestApp::spawn_with(TestConfig::default().var("DATABASE_URL", url.clone())).await,
        TestApp::spawn_with(TestConfig::default().var("DATABASE_URL", url.clone())).await,
    ];
    let replicas = [&first, &others[0], &others[1]];
    let owner = first.sign_up("owner@example.com", "Owner").await;
    let org = first.create_org(&owner, "Three").await;
    // More projects than the free plan has.
    first.grant("three", "team");
    let mut subscribers = Vec::new();
    for replica in replicas {
        subscribers.push(subscribe(replica, &owner, &org, None).await);
    }
    // Changes made on every replica in turn, two at once on each.
    let mut made = Vec::new();
    for (round, replica) in replicas.iter().enumerate() {
        let client = replica.client().with_bearer(&owner.token);
        let (a, b) = (format!("Round {round} a"), format!("Round {round} b"));
        let (one, two) = tokio::join!(
            client.gql(ops::CREATE_PROJECT, json!({ "org": org, "name": a })),
            client.gql(ops::CREATE_PROJECT, json!({ "org": org, "name": b })),
        );
        for res in [one, two] {
            made.push(
                res.data()["createProject"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    for (n, events) in subscribers.iter_mut().enumerate() {
        let mut got = Vec::new();
        for _ in 0..made.len() {
            got.push(
                next_event(events).await["projectId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let mut sorted = got.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), made.len(), "replica {n} got {got:?}");
        events.expect_silence(Duration::from_millis(500)).await;
    }
    // Every subscriber saw the same order: the log's.
    drop(subscribers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_send_each_mail_once_and_push_each_seat_count_once() {
    if !is_postgres() {
        return;
    }
    let fake = FakeStripe::start().await;
    let settings = || {
        let mut settings = TestConfig::default()
            .var("MAIL_POLL_INTERVAL", "20ms")
            .var("SEAT_SYNC_INTERVAL", "50ms");
        for (k, v) in fake.env() {
            settings = settings.var(k, v);
        }
        settings
    };
    let database = TestDatabase::create_postgres(&postgres_server()).await;
    let url = database.url.clone();
    let first = TestApp::spawn_on(database, settings()).await;
    let others = [
        TestApp::spawn_with(settings().var("DATABASE_URL", url.clone())).await,
        TestApp::spawn_with(settings().var("DATABASE_URL", url.clone())).await,
    ];
    let replicas = [&first, &others[0], &others[1]];
    let owner = first.sign_up("owner@example.com", "Owner").await;
    let org = first.create_org(&owner, "Per seat").await;

    // A per-seat subscription, applied by a webhook to one replica.
    let spec = SubSpec {
        id: "sub_seats".into(),
        customer: "cus_seats".into(),
        organization_id: Some(raw_id(&org)),
        status: "active",
        price: fake_stripe::TEAM_MONTH,
        quantity: 1,
        cancel_at_period_end: false,
    };
    fake.put(&spec);
    let (body, signature) = fake_stripe::event(
        "evt_seats",
        "customer.subscription.updated",
        chrono::Utc::now().timestamp(),
        fake_stripe::subscription_object(&spec),
    );
    assert_eq!(others[1].webhook(&body, &signature).await, 200);

    // Five invitations, each sent through a different replica: five mails.
    let invited: Vec<String> = (0..5).map(|i| format!("invitee{i}@example.com")).collect();
    for (i, email) in invited.iter().enumerate() {
        let client = replicas[i % 3].client().with_bearer(&owner.token);
        client
            .gql(
                ops::INVITE_MEMBER,
                json!({ "input": { "organizationId": org, "email": email, "role": "MEMBER" } }),
            )
            .await
            .data();
    }
    // Mail for the owner's own sign-up is there too; count the invitations.
    let sent = |email: &str| -> usize {
        replicas
            .iter()
            .map(|r| r.mailbox.find(email, "/invitations/accept").len())
            .sum()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while invited.iter().any(|e| sent(e) == 0) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every worker has had time to take a message twice, had it been free.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts: HashMap<&str, usize> = invited.iter().map(|e| (e.as_str(), sent(e))).collect();
    assert!(counts.values().all(|n| *n == 1), "mails sent: {counts:?}");

    // Members join one after another; the seat count follows, each count
    // pushed by one replica.
    for (i, email) in invited.iter().take(3).enumerate() {
        let token = crate::support::link_token(
            &replicas
                .iter()
                .flat_map(|r| r.mailbox.find(email, "/invitations/accept"))
                .next()
                .unwrap(),
            "/invitations/accept",
        );
        replicas[i % 3]
            .client()
            .gql(
                ops::SIGN_UP,
                json!({ "input": {
                    "email": email, "password": crate::support::PASSWORD, "name": "Member",
                    "invitationToken": token
                } }),
            )
            .await
            .data();
    }
    let route = "POST /v1/subscription_items/si_seats";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fake.subscription("sub_seats").unwrap()["items"]["data"][0]["quantity"] != 4
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fake.subscription("sub_seats").unwrap()["items"]["data"][0]["quantity"],
        4
    );
    let pushed: Vec<String> = fake
        .calls(route)
        .iter()
        .map(|c| c.form["quantity"].clone())
        .collect();
    let mut distinct = pushed.clone();
    distinct.dedup();
    assert_eq!(
        distinct, pushed,
        "a seat count was pushed twice: {pushed:?}"
    );
}
