//! Session rotation and idle expiry, from the client's side.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::{
    accounts::exec,
    support::{Client, TestApp, TestConfig, raw_id},
};

const VIEWER: &str = "{ viewer { id email sessions { id current } } }";

async fn last_seen(app: &TestApp, user_id: &str) -> DateTime<Utc> {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT last_seen_at FROM sessions WHERE user_id = '{}'",
                raw_id(user_id)
            ),
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
        vec![(seen - elapsed).into(), raw_id(user_id).into()],
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
        let res = lee.client.gql(VIEWER, json!({})).await;
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
        lee.client.gql(VIEWER, json!({})).await.data()["viewer"].is_null(),
        "an idle session outlived its timeout"
    );
}

/// Two requests a moment apart write last-seen once: the interval is a
/// tenth of the timeout, not every request.
#[tokio::test]
async fn last_seen_is_not_written_on_every_request() {
    let app = TestApp::spawn_with(TestConfig::default().var("SESSION_IDLE_TIMEOUT", "5m")).await;
    let lee: Client = app.sign_up("lee@example.com", "Lee").await.client;
    let id = lee.gql(VIEWER, json!({})).await.data()["viewer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    idle_for(&app, &id, Duration::seconds(20)).await;
    let before = last_seen(&app, &id).await;
    lee.gql(VIEWER, json!({})).await.data();
    assert_eq!(last_seen(&app, &id).await, before, "written within a tenth");
    idle_for(&app, &id, Duration::seconds(11)).await;
    lee.gql(VIEWER, json!({})).await.data();
    assert!(last_seen(&app, &id).await > Utc::now() - Duration::seconds(5));
}
