//! Open WebSockets end with their session: every way a session ends closes
//! the sockets opened with it (4403) within seconds, on every server
//! process; a database that fails for a moment ends nothing, and one that
//! keeps failing ends streams with an error rather than silently.

use std::time::Duration;

use groundwork::{events::LiveEvent, ids::OrganizationId};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::support::{
    PASSWORD, SignedUp, TestApp, TestConfig, TestDatabase, create_project, link_token, ops, row_id,
    ws::{Auth, Subscription},
};

/// How long a socket may outlive its session in these tests.
const PROMPTLY: Duration = Duration::from_secs(3);

/// A server whose periodic session checks come every `interval`; with a
/// long one, only the hints sent when sessions end can close sockets.
async fn spawn(interval: &str) -> TestApp {
    TestApp::spawn_with(TestConfig::default().var("WS_SESSION_CHECK_INTERVAL", interval)).await
}

/// A user with a team organization and a subscription to its events.
async fn subscribed(app: &TestApp, email: &str) -> (SignedUp, String, Subscription) {
    let user = app.sign_up(email, "Live").await;
    let org = app.create_org(&user, "Live").await;
    let events = subscribe(app, &user.token, &org).await;
    (user, org, events)
}

async fn subscribe(app: &TestApp, token: &str, org: &str) -> Subscription {
    Subscription::start(
        &app.base_url,
        Auth::Bearer(token),
        ops::PROJECT_EVENTS,
        json!({ "org": org }),
    )
    .await
}

/// Another session of the user: a client using it, and its token.
async fn sign_in(app: &TestApp, email: &str) -> (crate::support::Client, String) {
    let res = app
        .client()
        .gql(
            ops::SIGN_IN,
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    let token = res.data()["signIn"]["token"].as_str().unwrap().to_owned();
    (app.client().with_bearer(&token), token)
}

async fn assert_ended(events: &mut Subscription) {
    let (code, reason) = events.closed_within(PROMPTLY).await;
    assert_eq!(code, 4403, "{reason}");
    assert_eq!(reason, "The session has ended.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_sessions_sockets() {
    let app = spawn("1h").await;
    let (user, org, mut events) = subscribed(&app, "out@example.com").await;
    // Another session of the same user is not touched.
    let (_, other_token) = sign_in(&app, "out@example.com").await;
    let mut others = subscribe(&app, &other_token, &org).await;
    user.client.gql(ops::SIGN_OUT, json!({})).await.data();
    assert_ended(&mut events).await;
    create_project(&user_with(&app, &other_token, &user), &org, "Still seen").await;
    assert_eq!(others.next().await["type"], "next");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_session_ends_its_sockets() {
    let app = spawn("1h").await;
    let (_user, _org, mut events) = subscribed(&app, "revoked@example.com").await;
    let (other, _) = sign_in(&app, "revoked@example.com").await;
    let sessions = other
        .gql("{ viewer { sessions { id current } } }", json!({}))
        .await;
    let target = sessions.data()["viewer"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .clone();
    other
        .gql(ops::REVOKE_SESSION, json!({ "id": target }))
        .await
        .data();
    assert_ended(&mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_other_sessions_ends_their_sockets_only() {
    let app = spawn("1h").await;
    let (user, org, mut events) = subscribed(&app, "others@example.com").await;
    let (other, other_token) = sign_in(&app, "others@example.com").await;
    let mut kept = subscribe(&app, &other_token, &org).await;
    other
        .gql(ops::REVOKE_OTHER_SESSIONS, json!({}))
        .await
        .data();
    assert_ended(&mut events).await;
    create_project(&user_with(&app, &other_token, &user), &org, "Kept").await;
    assert_eq!(kept.next().await["type"], "next");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_ends_the_other_sessions_sockets() {
    let app = spawn("1h").await;
    let (_user, _org, mut events) = subscribed(&app, "change@example.com").await;
    let (other, _) = sign_in(&app, "change@example.com").await;
    other
        .gql(
            ops::CHANGE_PASSWORD,
            json!({ "c": PASSWORD, "n": "another good password" }),
        )
        .await
        .data();
    assert_ended(&mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resetting_the_password_ends_every_sessions_sockets() {
    let app = spawn("1h").await;
    let (_user, _org, mut events) = subscribed(&app, "reset@example.com").await;
    app.client()
        .gql(
            ops::REQUEST_PASSWORD_RESET,
            json!({ "e": "reset@example.com" }),
        )
        .await
        .data();
    let mail = app
        .mailbox
        .wait_for("reset@example.com", "Reset your password", 1)
        .await;
    app.client()
        .gql(
            "mutation($t: String!) { resetPassword(token: $t, newPassword: \"a fresh password\") { token } }",
            json!({ "t": link_token(&mail, "/reset-password") }),
        )
        .await
        .data();
    assert_ended(&mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_account_ends_its_sockets() {
    let app = spawn("1h").await;
    let (user, _org, mut events) = subscribed(&app, "gone@example.com").await;
    user.client
        .gql(ops::DELETE_ACCOUNT, json!({ "p": PASSWORD }))
        .await
        .data();
    assert_ended(&mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_ends_its_sockets() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("WS_SESSION_CHECK_INTERVAL", "500ms")
            .var("SESSION_IDLE_TIMEOUT", "4s"),
    )
    .await;
    let (_user, _org, mut events) = subscribed(&app, "idle@example.com").await;
    // The socket itself is not use of the session; nothing else uses it.
    let (code, reason) = events.closed_within(Duration::from_secs(6)).await;
    assert_eq!(code, 4403, "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_ends_its_sockets() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("WS_SESSION_CHECK_INTERVAL", "500ms")
            .var("SESSION_ABSOLUTE_TIMEOUT", "4s"),
    )
    .await;
    let (_user, _org, mut events) = subscribed(&app, "expired@example.com").await;
    let (code, reason) = events.closed_within(Duration::from_secs(6)).await;
    assert_eq!(code, 4403, "{reason}");
}

/// However a session ends, with or without a hint, the periodic check
/// finds it: here it is revoked behind the server's back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_any_other_way_ends_its_sockets_within_an_interval() {
    let app = spawn("1s").await;
    let (_user, _org, mut events) = subscribed(&app, "quiet@example.com").await;
    app.db
        .execute_unprepared("UPDATE sessions SET revoked_at = expires_at")
        .await
        .unwrap();
    assert_ended(&mut events).await;
}

/// Two server processes on one PostgreSQL database: a session ended
/// through one closes its sockets on the other at once (a NOTIFY'd hint;
/// the other's periodic check is an hour away).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_on_one_process_ends_its_sockets_on_another() {
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let database = TestDatabase::create_postgres(&server).await;
    let url = database.url.clone();
    let first = TestApp::spawn_on(database, TestConfig::default()).await;
    let second = TestApp::spawn_with(
        TestConfig::default()
            .var("DATABASE_URL", url)
            .var("WS_SESSION_CHECK_INTERVAL", "1h"),
    )
    .await;
    let user = first.sign_up("twice@example.com", "Twice").await;
    let org = first.create_org(&user, "Twice").await;
    let mut events = subscribe(&second, &user.token, &org).await;
    user.client.gql(ops::SIGN_OUT, json!({})).await.data();
    assert_ended(&mut events).await;
}

/// Tables renamed away: every statement on them fails, as in a database
/// blip, until they are renamed back.
async fn break_tables(app: &TestApp, tables: &[&str]) {
    for table in tables {
        let sql = format!("ALTER TABLE {table} RENAME TO {table}_away");
        app.db.execute_unprepared(&sql).await.unwrap();
    }
}

async fn repair_tables(app: &TestApp, tables: &[&str]) {
    for table in tables {
        let sql = format!("ALTER TABLE {table}_away RENAME TO {table}");
        app.db.execute_unprepared(&sql).await.unwrap();
    }
}

/// A project change announced without changing the project (the tables a
/// membership check reads may be away meanwhile; the event log is not).
async fn announce(app: &TestApp, org: &str, project: &str) {
    app.state
        .events
        .publish(LiveEvent {
            position: 0,
            organization_id: OrganizationId(row_id(org)),
            topic: "Project".into(),
            subject: row_id(project),
            kind: "UPDATED".into(),
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_blip_ends_nothing() {
    let app = spawn("500ms").await;
    let (user, org, mut events) = subscribed(&app, "blip@example.com").await;
    let project = create_project(&user, &org, "Through the blip").await;
    assert_eq!(events.next().await["type"], "next");
    // Session checks and the membership check of an event fail meanwhile.
    break_tables(&app, &["sessions", "memberships"]).await;
    announce(&app, &org, &project).await;
    events.expect_silence(Duration::from_millis(2500)).await;
    repair_tables(&app, &["sessions", "memberships"]).await;
    let next = events.next().await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["payload"]["data"]["projectEvents"]["kind"], "UPDATED");
    events.expect_silence(Duration::from_millis(1500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_that_cannot_be_checked_for_long_ends_the_stream_with_an_error() {
    let app = TestApp::spawn_with(TestConfig::default().var("WS_CHECK_RETRY_LIMIT", "2s")).await;
    let (user, org, mut events) = subscribed(&app, "unchecked@example.com").await;
    let project = create_project(&user, &org, "Unchecked").await;
    assert_eq!(events.next().await["type"], "next");
    break_tables(&app, &["memberships"]).await;
    announce(&app, &org, &project).await;
    let failed = events.next().await;
    repair_tables(&app, &["memberships"]).await;
    assert_eq!(failed["type"], "next", "{failed}");
    let error = &failed["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "INTERNAL", "{failed}");
    assert!(error["extensions"]["errorId"].is_string(), "{failed}");
    assert_eq!(events.next().await["type"], "complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_cannot_be_checked_for_long_closes_its_sockets_with_an_error() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("WS_SESSION_CHECK_INTERVAL", "500ms")
            .var("WS_CHECK_RETRY_LIMIT", "2s"),
    )
    .await;
    let (_user, _org, mut events) = subscribed(&app, "dark@example.com").await;
    break_tables(&app, &["sessions"]).await;
    let closed = events.closed_within(Duration::from_secs(6)).await;
    repair_tables(&app, &["sessions"]).await;
    let (code, reason) = closed;
    assert_eq!(code, 1011, "{reason}");
    assert!(
        reason.starts_with("The session could not be checked."),
        "{reason}"
    );
}

/// `user` acting through the session of `token`.
fn user_with(app: &TestApp, token: &str, user: &SignedUp) -> SignedUp {
    SignedUp {
        client: app.client().with_bearer(token),
        user_id: user.user_id.clone(),
        token: token.to_owned(),
        email: user.email.clone(),
    }
}
