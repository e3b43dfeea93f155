//! A database that hangs, drops its connections or is not up yet: the
//! server answers quickly while it is gone and recovers once it is back.
//! PostgreSQL only (the faults are injected on its TCP connections); on a
//! SQLite run these tests return at once.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use crate::support::{
    TestApp, TestConfig, TestDatabase, create_project,
    database::is_postgres,
    fault_proxy::{FaultProxy, upstream_of},
    ops,
    ws::{Auth, Subscription},
};

/// A server whose database connections go through a fault proxy, with
/// deadlines short enough for a test.
async fn spawn_behind_proxy() -> (TestApp, FaultProxy) {
    let database = TestDatabase::create().await;
    let proxy = FaultProxy::start(upstream_of(&database.url)).await;
    let url = proxy.url_for(&database.url);
    let app = TestApp::spawn_on(database, short_deadlines().var("DATABASE_URL", url)).await;
    (app, proxy)
}

/// A small pool, so that the connections hung mid-statement are all of them.
fn short_deadlines() -> TestConfig {
    TestConfig::default()
        .var("DATABASE_MAX_CONNECTIONS", "3")
        .var("DATABASE_ACQUIRE_TIMEOUT", "2s")
        .var("DATABASE_STATEMENT_TIMEOUT", "2s")
        .var("GRAPHQL_TIMEOUT", "3s")
        .var("HTTP_REQUEST_TIMEOUT", "5s")
        .var("READYZ_TIMEOUT", "1s")
}

/// `GET /readyz`: its status and how long it took.
async fn readyz(app: &TestApp) -> (u16, Duration) {
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(30), reqwest::get(app.url("/readyz")))
        .await
        .expect("/readyz answers")
        .expect("/readyz reachable");
    (response.status().as_u16(), started.elapsed())
}

/// The viewer query with `token`: the first error code (or "OK") and how
/// long the answer took; a test fails rather than waiting forever.
async fn ask(app: &TestApp, token: &str) -> (String, Duration) {
    let client = app.client().with_bearer(token);
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        client.gql(ops::VIEWER_ID, json!({})),
    )
    .await
    .expect("an answer within 30 s");
    let code = if response.errors().is_empty() {
        "OK".to_owned()
    } else {
        response.code()
    };
    (code, started.elapsed())
}

/// Asks until the answer is OK; how long that took.
async fn until_answered(app: &TestApp, token: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (code, _) = ask(app, token).await;
        if code == "OK" {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still {code} {:?} after the database came back",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_database_is_reported_quickly_and_recovered_from() {
    if !is_postgres() {
        return;
    }
    let (app, proxy) = spawn_behind_proxy().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Hung").await;
    // Requests in flight when the database stops answering, more than the
    // pool has connections: a lock taken beside the server holds each one
    // mid-statement until the answers are lost in the hang.
    let direct = sea_orm::Database::connect(app.database_url())
        .await
        .unwrap();
    let lock = direct.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let in_flight: Vec<_> = (0..8)
        .map(|_| {
            let (url, token) = (app.base_url.clone(), owner.token.clone());
            tokio::spawn(async move {
                let client = crate::support::Client::new(&url).with_bearer(&token);
                let response = tokio::time::timeout(
                    Duration::from_secs(30),
                    client.gql(ops::VIEWER_ID, json!({})),
                )
                .await
                .expect("an answer within 30 s");
                response.code()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.stall();
    let stalled_at = Instant::now();
    lock.rollback().await.unwrap();

    let (status, took) = readyz(&app).await;
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(3), "/readyz took {took:?}");
    let (code, took) = ask(&app, &owner.token).await;
    assert_eq!(code, "INTERNAL");
    assert!(took < Duration::from_secs(6), "a request took {took:?}");
    for task in in_flight {
        assert_eq!(task.await.unwrap(), "INTERNAL", "a request in flight");
    }
    assert!(
        stalled_at.elapsed() < Duration::from_secs(10),
        "requests in flight took {:?} to end",
        stalled_at.elapsed()
    );

    // New connections work again; the old ones stay hung.
    proxy.resume();
    let recovered = until_answered(&app, &owner.token, Duration::from_secs(60)).await;
    eprintln!("answered normally {recovered:?} after the database came back");
    assert!(recovered < Duration::from_secs(15), "{recovered:?}");
    assert_eq!(readyz(&app).await.0, 200);

    // Live events flow again: the LISTEN connection hung too and is replaced.
    let project = create_project(&owner, &org, "Live").await;
    let mut events = Subscription::start(
        &app.base_url,
        Auth::Bearer(&owner.token),
        ops::PROJECT_EVENTS,
        json!({ "org": org }),
    )
    .await;
    let started = Instant::now();
    loop {
        owner
            .client
            .gql(
                ops::RENAME_PROJECT,
                json!({ "id": project, "name": "Renamed" }),
            )
            .await
            .data();
        if let Ok(next) = tokio::time::timeout(Duration::from_secs(2), events.next()).await {
            let event = &next["payload"]["data"]["projectEvents"];
            assert_eq!(event["kind"], "UPDATED", "{next}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no live events {:?} after the database came back",
            started.elapsed()
        );
    }
    eprintln!("live events flowed {:?} after recovery", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_replaced() {
    if !is_postgres() {
        return;
    }
    let (app, proxy) = spawn_behind_proxy().await;
    let user = app.sign_up("user@example.com", "User").await;
    assert_eq!(ask(&app, &user.token).await.0, "OK");
    proxy.cut();
    let (code, took) = ask(&app, &user.token).await;
    assert_eq!(code, "INTERNAL");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert_eq!(readyz(&app).await.0, 503);
    proxy.resume();
    let recovered = until_answered(&app, &user.token, Duration::from_secs(30)).await;
    eprintln!("answered normally {recovered:?} after the connections came back");
    assert!(recovered < Duration::from_secs(5), "{recovered:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_waits_for_the_database() {
    if !is_postgres() {
        return;
    }
    let database = TestDatabase::create().await;
    let proxy = FaultProxy::start_cut(upstream_of(&database.url)).await;
    let url = proxy.url_for(&database.url);
    let started = Instant::now();
    let starting = tokio::spawn(TestApp::spawn_on(
        database,
        short_deadlines()
            .var("DATABASE_URL", url)
            .var("DATABASE_CONNECT_TIMEOUT", "30s"),
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !starting.is_finished(),
        "the server started without a database"
    );
    proxy.resume();
    let app = tokio::time::timeout(Duration::from_secs(20), starting)
        .await
        .expect("the server starts once the database is up")
        .expect("the server starts");
    eprintln!("started {:?} after launch", started.elapsed());
    assert_eq!(readyz(&app).await.0, 200);
    let user = app.sign_up("late@example.com", "Late").await;
    assert_eq!(ask(&app, &user.token).await.0, "OK");
}

#[tokio::test]
async fn start_up_gives_up_after_the_connect_timeout() {
    if !is_postgres() {
        return;
    }
    let database = TestDatabase::create().await;
    let proxy = FaultProxy::start_cut(upstream_of(&database.url)).await;
    let url = proxy.url_for(&database.url);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_groundwork"))
            .args(["migrate", "status"])
            .env("DATABASE_URL", url)
            .env("DATABASE_CONNECT_TIMEOUT", "2s")
            .env("DATABASE_ACQUIRE_TIMEOUT", "1s")
            .env("MAIL_URL", "log")
            .env("RUST_LOG", "warn")
            .env("LOG_FORMAT", "json")
            .current_dir(std::env::temp_dir())
            .output()
            .expect("run groundwork")
    })
    .await
    .unwrap();
    let took = started.elapsed();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot connect to the database"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("cannot be reached yet"),
        "each attempt is logged"
    );
    assert!(took < Duration::from_secs(10), "gave up after {took:?}");
    drop(proxy);
}
