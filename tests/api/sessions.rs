//! Session rotation and idle expiry, from the client's side.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{
    accounts::exec,
    oauth::{app_with, begin_in, finish, user},
    support::{
        Client, PASSWORD, TestApp, TestConfig, fake_oauth::FakeOAuth, link_token, ops, row_id,
    },
};

async fn viewer_of(app: &TestApp, token: &str) -> serde_json::Value {
    let res = app
        .client()
        .with_bearer(token)
        .gql(ops::VIEWER, json!({}))
        .await;
    res.data()["viewer"].clone()
}

/// A token copied out of a browser before its user signs in there again (a
/// shared computer, a planted cookie) is worthless afterwards: each way of
/// authenticating ends the session the client presented, whoever's it was.
#[tokio::test]
async fn signing_in_ends_the_session_the_client_presented() {
    let app = TestApp::spawn().await;
    let lee = app.sign_up("lee@example.com", "Lee").await;
    let copied = lee.token.clone();

    // Signing in again in the same browser, with its cookie.
    let res = lee
        .client
        .gql(
            ops::SIGN_IN,
            json!({ "email": "lee@example.com", "password": PASSWORD }),
        )
        .await;
    let fresh = res.data()["signIn"]["token"].as_str().unwrap().to_owned();
    assert!(viewer_of(&app, &copied).await.is_null());
    let me = lee.client.gql(ops::VIEWER, json!({})).await;
    let sessions = me.data()["viewer"]["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["current"], true);

    // With a bearer token instead of the cookie.
    let res = app
        .client()
        .with_bearer(&fresh)
        .gql(
            ops::SIGN_IN,
            json!({ "email": "lee@example.com", "password": PASSWORD }),
        )
        .await;
    res.data();
    assert!(viewer_of(&app, &fresh).await.is_null());

    // Someone else signing in on that browser ends its session too.
    let kim = app.sign_up("kim@example.com", "Kim").await;
    let on_kims = app.client().with_bearer(&kim.token);
    on_kims
        .gql(
            ops::SIGN_IN,
            json!({ "email": "lee@example.com", "password": PASSWORD }),
        )
        .await
        .data();
    assert!(viewer_of(&app, &kim.token).await.is_null());
}

#[tokio::test]
async fn a_failed_sign_in_leaves_the_presented_session_alone() {
    let app = TestApp::spawn().await;
    let lee = app.sign_up("lee@example.com", "Lee").await;
    lee.client
        .gql(
            ops::SIGN_IN,
            json!({ "email": "lee@example.com", "password": "not the password" }),
        )
        .await
        .assert_code("UNAUTHENTICATED");
    assert!(!viewer_of(&app, &lee.token).await.is_null());
}

#[tokio::test]
async fn signing_up_ends_the_session_the_browser_presented() {
    let app = TestApp::spawn().await;
    let lee = app.sign_up("lee@example.com", "Lee").await;
    // A new account made in Lee's browser.
    let res = lee
        .client
        .gql(
            ops::SIGN_UP,
            json!({ "input": { "email": "other@example.com", "password": PASSWORD, "name": "Other" } }),
        )
        .await;
    res.data();
    assert!(viewer_of(&app, &lee.token).await.is_null());
}

#[tokio::test]
async fn resetting_a_password_ends_the_session_the_browser_presented() {
    let app = TestApp::spawn().await;
    app.sign_up("other@example.com", "Other").await;
    // A reset link used in a browser holding someone else's session.
    let kim = app.sign_up("kim@example.com", "Kim").await;
    app.client()
        .gql(
            ops::REQUEST_PASSWORD_RESET,
            json!({ "e": "other@example.com" }),
        )
        .await
        .data();
    let mail = app
        .mailbox
        .wait_for("other@example.com", "/reset-password", 1)
        .await;
    kim.client
        .gql(
            "mutation($t: String!) { resetPassword(token: $t, newPassword: \"a new password\") { token } }",
            json!({ "t": link_token(&mail, "/reset-password") }),
        )
        .await
        .data();
    assert!(viewer_of(&app, &kim.token).await.is_null());
}

#[tokio::test]
async fn a_provider_sign_in_ends_the_session_the_browser_presented() {
    let fake = FakeOAuth::start().await;
    let app = app_with(&fake, "acme").await;
    let lee = app.sign_up("lee@example.com", "Lee").await;
    fake.sign_in_as(user("sub-lee-2", "other@example.com", true));
    let trip = begin_in(lee.client.clone(), "acme", "http://app.test/").await;
    assert_eq!(finish(&trip, &trip.callback).await, "http://app.test/");
    assert!(viewer_of(&app, &lee.token).await.is_null());
    let me = trip.browser.gql(ops::VIEWER, json!({})).await;
    assert_eq!(me.data()["viewer"]["email"], "other@example.com");
}

async fn last_seen(app: &TestApp, user_id: &str) -> DateTime<Utc> {
    let row = app
        .db
        .query_one_raw(groundwork::db::statement(
            app.db.get_database_backend(),
            "SELECT last_seen_at FROM sessions WHERE user_id = $1",
            vec![row_id(user_id).into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "last_seen_at").unwrap()
}

/// Lets `elapsed` pass for the user's session, as far as the server can
/// tell: its last use moves that far into the past.
async fn idle_for(app: &TestApp, user_id: &str, elapsed: Duration) {
    let seen = last_seen(app, user_id).await;
    exec(
        app,
        "UPDATE sessions SET last_seen_at = $1 WHERE user_id = $2",
        vec![(seen - elapsed).into(), row_id(user_id).into()],
    )
    .await;
}

/// With a 20 s idle timeout, a session used every 8 s lives on, and one left
/// alone for the timeout ends.
#[tokio::test]
async fn a_session_used_within_a_short_idle_timeout_stays_alive() {
    let app = TestApp::spawn_with(TestConfig::default().var("SESSION_IDLE_TIMEOUT", "20s")).await;
    let lee = app.sign_up("lee@example.com", "Lee").await;
    for round in 0..6 {
        idle_for(&app, &lee.user_id, Duration::seconds(8)).await;
        let res = lee.client.gql(ops::VIEWER, json!({})).await;
        assert!(
            !res.data()["viewer"].is_null(),
            "the session lapsed after {} s of use every 8 s",
            8 * (round + 1)
        );
    }
    // Used just now, it was written just now.
    assert!(last_seen(&app, &lee.user_id).await > Utc::now() - Duration::seconds(5));
    idle_for(&app, &lee.user_id, Duration::seconds(21)).await;
    assert!(
        lee.client.gql(ops::VIEWER, json!({})).await.data()["viewer"].is_null(),
        "an idle session outlived its timeout"
    );
}

/// Two requests a moment apart write last-seen once: the interval is a
/// tenth of the timeout, not every request.
#[tokio::test]
async fn last_seen_is_not_written_on_every_request() {
    let app = TestApp::spawn_with(TestConfig::default().var("SESSION_IDLE_TIMEOUT", "5m")).await;
    let lee: Client = app.sign_up("lee@example.com", "Lee").await.client;
    let id = lee.gql(ops::VIEWER, json!({})).await.data()["viewer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    idle_for(&app, &id, Duration::seconds(20)).await;
    let before = last_seen(&app, &id).await;
    lee.gql(ops::VIEWER, json!({})).await.data();
    assert_eq!(last_seen(&app, &id).await, before, "written within a tenth");
    idle_for(&app, &id, Duration::seconds(11)).await;
    lee.gql(ops::VIEWER, json!({})).await.data();
    assert!(last_seen(&app, &id).await > Utc::now() - Duration::seconds(5));
}
