//! The deployment of `deploy/replicas` on loopback: three server processes
//! on one fresh PostgreSQL database and one Redis, started together, behind
//! Debian's nginx with that folder's configuration. Through the balancer
//! they act as one server: every replica serves, subscriptions upgrade and
//! get each event once, sign-in throttles count across replicas, and when a
//! replica dies its subscribers resume on another from their cursor while
//! the other requests carry on. PostgreSQL only (on a SQLite run it returns
//! at once).

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    replicas::next_event,
    support::{
        Client, PASSWORD, TestDatabase,
        binary::Binary,
        database::is_postgres,
        nginx::Nginx,
        ops,
        prometheus::Scrape,
        ws::{Auth, Subscription},
    },
};

const REQUESTS: &str = "groundwork_graphql_requests_total";
const WEBSOCKETS: &str = "groundwork_websocket_connections";

/// What every replica is given, as `deploy/replicas/docker-compose.yml`
/// gives it.
fn replica_settings(database_url: &str, redis_prefix: &str) -> Vec<(&'static str, String)> {
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("REDIS_URL", redis),
        ("REDIS_KEY_PREFIX", redis_prefix.to_owned()),
        (
            "SECRET_KEY",
            "replicas-test-secret-key-0123456789abcdef".into(),
        ),
        ("APP_ENV", "production".into()),
        ("TRUSTED_PROXY_HOPS", "1".into()),
        ("METRICS", "on".into()),
        ("RATE_LIMIT_SIGNIN_ACCOUNT", "3/15m".into()),
    ]
}

fn id_of(response: &Value, field: &str) -> String {
    response[field]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_behind_nginx_act_as_one_server() {
    if !is_postgres() {
        return;
    }
    // A database no replica has migrated: the three apply migrations at
    // the same moment and must all come up.
    let database = TestDatabase::create().await;
    let prefix = format!("gw-test-{}:", uuid::Uuid::now_v7().simple());
    let settings = replica_settings(&database.url, &prefix);
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let settings = settings.clone();
            std::thread::spawn(move || Binary::start(&settings))
        })
        .collect();
    let mut replicas: Vec<Binary> = starting.into_iter().map(|t| t.join().unwrap()).collect();
    let addrs: Vec<String> = replicas.iter().map(|r| r.addr.clone()).collect();
    let nginx = Nginx::start(&addrs).await;

    // Through the balancer: sign up, an organization, a few reads.
    let anonymous = Client::new(&nginx.base_url);
    let signed_up = anonymous
        .gql(
            ops::SIGN_UP,
            json!({ "input": { "email": "owner@example.com", "password": PASSWORD, "name": "Owner" } }),
        )
        .await;
    let token = signed_up.data()["signUp"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner = Client::new(&nginx.base_url).with_bearer(&token);
    let org = id_of(
        owner
            .gql(ops::CREATE_ORGANIZATION, json!({ "name": "Replicated" }))
            .await
            .data(),
        "createOrganization",
    );
    for _ in 0..6 {
        owner.gql(ops::VIEWER_ID, json!({})).await.data();
    }
    for (n, replica) in replicas.iter().enumerate() {
        let served = Scrape::of(&replica.base_url()).await.sum(REQUESTS);
        assert!(served >= 1.0, "replica {n} served no request");
    }

    // Subscriptions upgrade through nginx, one after another, so the
    // balancer spreads them; each gets each event once.
    let mut subscribers = Vec::new();
    for _ in 0..3 {
        subscribers.push(
            Subscription::start(
                &nginx.base_url,
                Auth::Bearer(&token),
                ops::RESUMABLE_PROJECT_EVENTS,
                json!({ "org": org, "after": null }),
            )
            .await,
        );
    }
    let mut projects = Vec::new();
    for name in ["One", "Two", "Three"] {
        let created = owner
            .gql(ops::CREATE_PROJECT, json!({ "org": org, "name": name }))
            .await;
        projects.push(id_of(created.data(), "createProject"));
    }
    let mut cursors = Vec::new();
    for events in &mut subscribers {
        let mut last = String::new();
        for project in &projects {
            let event = next_event(events).await;
            assert_eq!(event["kind"], "CREATED");
            assert_eq!(event["projectId"], project.as_str());
            last = event["cursor"].as_str().unwrap().to_owned();
        }
        events.expect_silence(Duration::from_millis(300)).await;
        cursors.push(last);
    }

    // Failed sign-ins count on every replica alike: the fourth is refused
    // wherever it lands, even with the right password.
    for _ in 0..3 {
        anonymous
            .gql(
                ops::SIGN_IN,
                json!({ "email": "owner@example.com", "password": "wrong guess" }),
            )
            .await
            .assert_code("UNAUTHENTICATED");
    }
    anonymous
        .gql(
            ops::SIGN_IN,
            json!({ "email": "owner@example.com", "password": PASSWORD }),
        )
        .await
        .assert_code("RATE_LIMITED");

    // A replica holding a subscriber dies.
    let mut holding = None;
    for (n, replica) in replicas.iter().enumerate() {
        if Scrape::of(&replica.base_url()).await.sum(WEBSOCKETS) >= 1.0 {
            holding = Some(n);
            break;
        }
    }
    let dead = holding.expect("a replica holds a subscriber");
    replicas.remove(dead).kill();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Requests go on through the others, and so do the changes.
    for _ in 0..6 {
        owner.gql(ops::VIEWER_ID, json!({})).await.data();
    }
    for (project, name) in projects.iter().zip(["Uno", "Dos"]) {
        owner
            .gql(ops::RENAME_PROJECT, json!({ "id": project, "name": name }))
            .await
            .data();
    }
    // Subscribers on the survivors get both renames; the one whose
    // connection died resumes through the balancer from its cursor and
    // gets exactly them too.
    let mut resumed = 0;
    for (events, cursor) in subscribers.iter_mut().zip(&cursors) {
        let first = events.next().await;
        let mut events = if first["type"] == "closed" {
            resumed += 1;
            Subscription::start(
                &nginx.base_url,
                Auth::Bearer(&token),
                ops::RESUMABLE_PROJECT_EVENTS,
                json!({ "org": org, "after": cursor }),
            )
            .await
        } else {
            let event = &first["payload"]["data"]["projectEvents"];
            assert_eq!(event["kind"], "UPDATED", "{first}");
            assert_eq!(event["projectId"], projects[0].as_str(), "{first}");
            let second = next_event(events).await;
            assert_eq!(second["projectId"], projects[1].as_str());
            events.expect_silence(Duration::from_millis(300)).await;
            continue;
        };
        for project in &projects[..2] {
            let event = next_event(&mut events).await;
            assert_eq!(event["kind"], "UPDATED");
            assert_eq!(event["projectId"], project.as_str());
        }
        events.expect_silence(Duration::from_millis(300)).await;
    }
    assert!(resumed >= 1, "no subscriber was on the replica that died");
    drop(nginx);
    let redis = settings.iter().find(|(k, _)| *k == "REDIS_URL").unwrap();
    crate::throttling::forget_redis_keys(&redis.1, &prefix).await;
}
