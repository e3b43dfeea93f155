//! Sign-up, sign-in and sessions.

use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::support::{PASSWORD, SignedUp, TestApp, TestConfig, ops, row_id};

/// Runs SQL written with `$N` placeholders on the test's database.
pub async fn exec(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) {
    let backend = app.db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        sql.to_owned()
    } else {
        sql.replace('$', "?")
    };
    app.db
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap();
}

#[tokio::test]
async fn sign_up_starts_a_session_by_cookie_and_by_bearer_token() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let res = client
        .gql(
            ops::SIGN_UP,
            json!({ "input": { "email": "  Ada@Example.com ", "password": PASSWORD, "name": "Ada" } }),
        )
        .await;
    let payload = &res.data()["signUp"];
    assert_eq!(payload["user"]["email"], "ada@example.com");
    assert_eq!(payload["user"]["emailVerified"], false);
    let token = payload["token"].as_str().unwrap();
    assert!(token.len() >= 43);

    let cookie = res.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("gw_session={token};")),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"));

    let by_cookie = client.gql(ops::VIEWER, json!({})).await;
    assert_eq!(by_cookie.data()["viewer"]["email"], "ada@example.com");
    let sessions = by_cookie.data()["viewer"]["sessions"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["ip"], "127.0.0.1");

    let by_bearer = client.with_bearer(token).gql(ops::VIEWER, json!({})).await;
    assert_eq!(by_bearer.data()["viewer"]["email"], "ada@example.com");

    let anonymous = app.client().gql(ops::VIEWER, json!({})).await;
    assert!(anonymous.data()["viewer"].is_null());
    let forged = app
        .client()
        .with_bearer("not-a-token")
        .gql(ops::VIEWER, json!({}))
        .await;
    assert!(forged.data()["viewer"].is_null());
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("hash@example.com", "Hash").await;
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT token_hash FROM sessions",
        ))
        .await
        .unwrap();
    let hash: String = rows[0].try_get("", "token_hash").unwrap();
    assert_ne!(hash, user.token);
    assert_eq!(hash.len(), 64);
}

#[tokio::test]
async fn invalid_sign_up_input_names_the_field() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for (email, password, name, field) in [
        ("not-an-email", PASSWORD, "Ada", "email"),
        ("ada@example.com", "short", "Ada", "password"),
        ("ada@example.com", &"x".repeat(129), "Ada", "password"),
        ("ada@example.com", PASSWORD, "   ", "name"),
        ("ada@example.com", PASSWORD, &"n".repeat(101), "name"),
    ] {
        let res = client
            .gql(
                ops::SIGN_UP,
                json!({ "input": { "email": email, "password": password, "name": name } }),
            )
            .await;
        res.assert_code("BAD_USER_INPUT");
        assert_eq!(
            res.first_error()["extensions"]["field"],
            field,
            "{}",
            res.body
        );
    }
}

#[tokio::test]
async fn an_email_signs_up_once_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.sign_up("grace@example.com", "Grace").await;
    let res = app
        .client()
        .gql(
            ops::SIGN_UP,
            json!({ "input": { "email": "GRACE@example.com", "password": PASSWORD, "name": "G" } }),
        )
        .await;
    res.assert_code("BAD_USER_INPUT");
    assert_eq!(res.first_error()["extensions"]["field"], "email");
}

#[tokio::test]
async fn each_sign_in_gets_a_new_token() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("lin@example.com", "Lin").await;
    let mut tokens = vec![user.token.clone()];
    for _ in 0..2 {
        let res = app
            .client()
            .gql(
                ops::SIGN_IN,
                json!({ "email": "LIN@example.com", "password": PASSWORD }),
            )
            .await;
        assert_eq!(res.data()["signIn"]["user"]["id"], user.user_id.as_str());
        tokens.push(res.data()["signIn"]["token"].as_str().unwrap().to_owned());
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 3);
    let sessions = user.client.gql(ops::VIEWER, json!({})).await;
    assert_eq!(
        sessions.data()["viewer"]["sessions"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn unknown_email_and_wrong_password_look_the_same() {
    let app = TestApp::spawn().await;
    app.sign_up("known@example.com", "Known").await;
    let client = app.client();

    // Interleaved, and the fastest of each kept: noise from other tests
    // only ever adds time.
    let mut wrong_time = std::time::Duration::MAX;
    let mut unknown_time = std::time::Duration::MAX;
    let (mut wrong, mut unknown) = (None, None);
    for i in 0..3 {
        let started = std::time::Instant::now();
        let res = client
            .gql(
                ops::SIGN_IN,
                json!({ "email": "known@example.com", "password": "wrong password" }),
            )
            .await;
        wrong_time = wrong_time.min(started.elapsed());
        wrong = Some(res);
        let started = std::time::Instant::now();
        let res = client
            .gql(
                ops::SIGN_IN,
                json!({ "email": format!("nobody{i}@example.com"), "password": "wrong password" }),
            )
            .await;
        unknown_time = unknown_time.min(started.elapsed());
        unknown = Some(res);
    }
    let (wrong, unknown) = (wrong.unwrap(), unknown.unwrap());

    assert_eq!(wrong.code(), "UNAUTHENTICATED");
    assert_eq!(wrong.body["errors"], unknown.body["errors"]);
    assert!(wrong.headers.get("set-cookie").is_none());
    // Both run a full password verification; an early return for unknown
    // emails would take a small fraction of the time.
    assert!(
        unknown_time * 4 >= wrong_time,
        "unknown email took {unknown_time:?}, wrong password {wrong_time:?}"
    );
}

#[tokio::test]
async fn sign_out_ends_the_session_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("out@example.com", "Out").await;
    let res = user.client.gql(ops::SIGN_OUT, json!({})).await;
    assert_eq!(res.data()["signOut"], true);
    let cookie = res.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("gw_session=;") && cookie.contains("Max-Age=0"));

    let by_token = app
        .client()
        .with_bearer(&user.token)
        .gql(ops::VIEWER, json!({}))
        .await;
    assert!(by_token.data()["viewer"].is_null());
    let again = user.client.gql(ops::SIGN_OUT, json!({})).await;
    assert_eq!(again.data()["signOut"], false);
}

#[tokio::test]
async fn another_session_can_be_revoked_by_its_id_once() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("many@example.com", "Many").await;
    let others = sign_in_again(&app, &user, 1).await;
    let other = app.client().with_bearer(&others[0]);
    let list = other.gql(ops::VIEWER, json!({})).await;
    let sessions = list.data()["viewer"]["sessions"]
        .as_array()
        .unwrap()
        .clone();
    let not_current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == false).collect();
    let target = not_current[0]["id"].as_str().unwrap();
    let res = other
        .gql(ops::REVOKE_SESSION, json!({ "id": target }))
        .await;
    assert_eq!(res.data()["revokeSession"], true);
    let res = other
        .gql(ops::REVOKE_SESSION, json!({ "id": target }))
        .await;
    res.assert_code("NOT_FOUND");
}

#[tokio::test]
async fn all_other_sessions_can_be_revoked_at_once() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("many@example.com", "Many").await;
    let others = sign_in_again(&app, &user, 3).await;
    let res = user.client.gql(ops::REVOKE_OTHER_SESSIONS, json!({})).await;
    assert_eq!(res.data()["revokeOtherSessions"], 3);
    for token in &others {
        let res = app
            .client()
            .with_bearer(token)
            .gql(ops::VIEWER, json!({}))
            .await;
        assert!(res.data()["viewer"].is_null());
    }
    let me = user.client.gql(ops::VIEWER, json!({})).await;
    assert_eq!(me.data()["viewer"]["sessions"].as_array().unwrap().len(), 1);
}

/// Signs `user` in `times` more times elsewhere; returns those sessions' tokens.
async fn sign_in_again(app: &TestApp, user: &SignedUp, times: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for _ in 0..times {
        let res = app
            .client()
            .gql(
                ops::SIGN_IN,
                json!({ "email": user.email, "password": PASSWORD }),
            )
            .await;
        tokens.push(res.data()["signIn"]["token"].as_str().unwrap().to_owned());
    }
    tokens
}

#[tokio::test]
async fn nobody_revokes_another_users_session() {
    let app = TestApp::spawn().await;
    let alice = app.sign_up("alice@example.com", "Alice").await;
    let bob = app.sign_up("bob@example.com", "Bob").await;
    let res = bob.client.gql(ops::VIEWER, json!({})).await;
    let bob_session = res.data()["viewer"]["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = alice
        .client
        .gql(ops::REVOKE_SESSION, json!({ "id": bob_session }))
        .await;
    res.assert_code("NOT_FOUND");
    let still = bob.client.gql(ops::VIEWER, json!({})).await;
    assert!(!still.data()["viewer"].is_null());
}

#[tokio::test]
async fn expired_idle_and_revoked_sessions_are_rejected() {
    let app = TestApp::spawn().await;
    let expired = app.sign_up("expired@example.com", "E").await;
    let idle = app.sign_up("idle@example.com", "I").await;
    let revoked = app.sign_up("revoked@example.com", "R").await;
    let fresh = app.sign_up("fresh@example.com", "F").await;
    let past = Utc::now() - Duration::minutes(1);
    exec(
        &app,
        "UPDATE sessions SET expires_at = $1 WHERE user_id = $2",
        vec![past.into(), row_id(&expired.user_id).into()],
    )
    .await;
    exec(
        &app,
        "UPDATE sessions SET last_seen_at = $1 WHERE user_id = $2",
        vec![
            (Utc::now() - Duration::days(8)).into(),
            row_id(&idle.user_id).into(),
        ],
    )
    .await;
    exec(
        &app,
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2",
        vec![past.into(), row_id(&revoked.user_id).into()],
    )
    .await;
    for user in [&expired, &idle, &revoked] {
        let res = user.client.gql(ops::VIEWER, json!({})).await;
        assert!(res.data()["viewer"].is_null(), "{}", res.body);
    }
    let res = fresh.client.gql(ops::VIEWER, json!({})).await;
    assert!(!res.data()["viewer"].is_null());
}

#[tokio::test]
async fn idle_expiry_is_configurable() {
    let app = TestApp::spawn_with(TestConfig::default().var("SESSION_IDLE_TIMEOUT", "1h")).await;
    let user = app.sign_up("short@example.com", "S").await;
    exec(
        &app,
        "UPDATE sessions SET last_seen_at = $1 WHERE user_id = $2",
        vec![
            (Utc::now() - Duration::minutes(61)).into(),
            row_id(&user.user_id).into(),
        ],
    )
    .await;
    let res = user.client.gql(ops::VIEWER, json!({})).await;
    assert!(res.data()["viewer"].is_null());
}

#[tokio::test]
async fn last_seen_is_written_at_most_once_a_minute() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("seen@example.com", "Seen").await;
    let last_seen = || async {
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT last_seen_at FROM sessions",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<chrono::DateTime<Utc>>("", "last_seen_at")
            .unwrap()
    };
    let at_sign_up = last_seen().await;
    user.client.gql(ops::VIEWER, json!({})).await.data();
    assert_eq!(
        last_seen().await,
        at_sign_up,
        "written again within a minute"
    );

    let two_minutes_ago = Utc::now() - Duration::minutes(2);
    exec(
        &app,
        "UPDATE sessions SET last_seen_at = $1",
        vec![two_minutes_ago.into()],
    )
    .await;
    user.client.gql(ops::VIEWER, json!({})).await.data();
    let touched = last_seen().await;
    assert!(touched > two_minutes_ago + Duration::seconds(100));
    user.client.gql(ops::VIEWER, json!({})).await.data();
    assert_eq!(last_seen().await, touched);
}

#[tokio::test]
async fn production_cookies_are_host_prefixed_and_secure() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("APP_ENV", "production")
            .var("PUBLIC_URL", "https://api.example.com"),
    )
    .await;
    let res = app
        .client()
        .gql(
            ops::SIGN_UP,
            json!({ "input": { "email": "prod@example.com", "password": PASSWORD, "name": "P" } }),
        )
        .await;
    let cookie = res.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-gw_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain="));
    // The session works when the browser sends it back.
    let token = res.data()["signUp"]["token"].as_str().unwrap();
    let viewer = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("cookie", format!("__Host-gw_session={token}"))
        .json(&json!({ "query": "{ viewer { email } }" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(viewer["data"]["viewer"]["email"], "prod@example.com");
}
