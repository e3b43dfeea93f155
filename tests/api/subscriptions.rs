//! Live project events over WebSocket.

use std::time::Duration;

use serde_json::json;

use crate::support::{
    TestApp, TestConfig, TestDatabase, create_project, ops,
    ws::{Auth, Subscription},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_receive_project_events_after_commit() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Live").await;
    let mut events = Subscription::start(
        &app.base_url,
        Auth::Bearer(&owner.token),
        ops::PROJECT_EVENTS,
        json!({ "org": org }),
    )
    .await;

    let id = create_project(&owner, &org, "Streamed").await;
    let next = events.next().await;
    assert_eq!(next["type"], "next", "{next}");
    let event = &next["payload"]["data"]["projectEvents"];
    assert_eq!(event["kind"], "CREATED");
    assert_eq!(event["projectId"], id.as_str());
    assert_eq!(event["project"]["name"], "Streamed");

    owner
        .client
        .gql(ops::ARCHIVE_PROJECT, json!({ "id": id }))
        .await
        .data();
    assert_eq!(
        events.next().await["payload"]["data"]["projectEvents"]["kind"],
        "ARCHIVED"
    );
    owner
        .client
        .gql(ops::DELETE_PROJECT, json!({ "id": id }))
        .await
        .data();
    let deleted = events.next().await;
    assert_eq!(
        deleted["payload"]["data"]["projectEvents"]["kind"],
        "DELETED"
    );
    assert!(deleted["payload"]["data"]["projectEvents"]["project"].is_null());

    // Another organization's changes are not sent; a failed change sends nothing.
    let other = app.create_org(&owner, "Elsewhere").await;
    create_project(&owner, &other, "Not here").await;
    owner
        .client
        .gql(ops::CREATE_PROJECT, json!({ "org": org, "name": "" }))
        .await
        .assert_code("BAD_USER_INPUT");
    events.expect_silence(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_authenticates_from_an_allowed_origin_only() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Cookies").await;
    let cookie = format!("gw_session={}", owner.token);

    let mut events = Subscription::start(
        &app.base_url,
        Auth::Cookie {
            cookie: &cookie,
            origin: Some("http://app.test"),
        },
        ops::PROJECT_EVENTS,
        json!({ "org": org }),
    )
    .await;
    create_project(&owner, &org, "Seen").await;
    assert_eq!(events.next().await["type"], "next");

    let mut foreign = Subscription::start(
        &app.base_url,
        Auth::Cookie {
            cookie: &cookie,
            origin: Some("https://evil.example"),
        },
        ops::PROJECT_EVENTS,
        json!({ "org": org }),
    )
    .await;
    let refused = foreign.next().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_member_is_refused_the_organizations_events() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Closed").await;
    let outsider = app.sign_up("outsider@example.com", "Outsider").await;
    let mut refused = Subscription::start(
        &app.base_url,
        Auth::Bearer(&outsider.token),
        ops::PROJECT_EVENTS,
        json!({ "org": org }),
    )
    .await;
    let message = refused.next().await;
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_is_told_and_stops_receiving() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Closed").await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    let mut events = Subscription::start(
        &app.base_url,
        Auth::Bearer(&member.token),
        ops::PROJECT_EVENTS,
        json!({ "org": org }),
    )
    .await;
    create_project(&owner, &org, "Before").await;
    assert_eq!(events.next().await["type"], "next");
    let members = owner.client.gql(ops::MEMBERS, json!({ "id": org })).await;
    let membership = members.data()["organization"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["user"]["id"] == member.user_id.as_str())
        .unwrap()["node"]["id"]
        .clone();
    owner
        .client
        .gql(ops::REMOVE_MEMBER, json!({ "id": membership }))
        .await
        .data();
    create_project(&owner, &org, "After").await;
    // Told why, then the subscription completes.
    let last = events.next().await;
    assert_eq!(
        last["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "a removed member still receives: {last}"
    );
    assert!(last["payload"]["data"].is_null(), "{last}");
    assert_eq!(events.next().await["type"], "complete");
}

/// Two server processes on one PostgreSQL database: a change made through
/// one reaches a subscriber of the other, through LISTEN/NOTIFY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_server_processes_on_postgres() {
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let database = TestDatabase::create_postgres(&server).await;
    let url = database.url.clone();
    let first = TestApp::spawn_on(database, TestConfig::default()).await;
    let second = TestApp::spawn_with(TestConfig::default().var("DATABASE_URL", url)).await;

    let owner = first.sign_up("owner@example.com", "Owner").await;
    let org = first.create_org(&owner, "Shared").await;
    let mut events = Subscription::start(
        &second.base_url,
        Auth::Bearer(&owner.token),
        ops::PROJECT_EVENTS,
        json!({ "org": org }),
    )
    .await;
    let id = create_project(&owner, &org, "Made on the first").await;
    let next = events.next().await;
    assert_eq!(
        next["payload"]["data"]["projectEvents"]["projectId"],
        id.as_str(),
        "{next}"
    );
    assert_eq!(
        next["payload"]["data"]["projectEvents"]["project"]["name"],
        "Made on the first"
    );
    drop(second);
}
