//! Email verification, password change and reset, and mail delivery.

use std::time::Duration;

use chrono::Utc;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{
    accounts::exec,
    support::{
        PASSWORD, SignedUp, TestApp, TestConfig,
        fake_smtp::{FakeSmtp, free_port},
        link_token, ops,
    },
};

#[tokio::test]
async fn sign_up_mails_a_verification_link_that_works_once() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("verify@example.com", "Vera").await;
    let mail = app
        .mailbox
        .wait_for("verify@example.com", "Confirm your email", 1)
        .await;
    assert!(mail.contains("Hello Vera"));
    assert!(mail.contains("text/html"), "HTML body missing: {mail}");
    assert!(mail.contains("http://app.test/verify-email?token="));
    let token = link_token(&mail, "/verify-email");

    const VERIFY: &str = "mutation($t: String!) { verifyEmail(token: $t) { email emailVerified } }";
    // The link works without a session: it may be opened on another device.
    let res = app.client().gql(VERIFY, json!({ "t": token })).await;
    assert_eq!(res.data()["verifyEmail"]["emailVerified"], true);
    let res = app.client().gql(VERIFY, json!({ "t": token })).await;
    res.assert_code("BAD_USER_INPUT");
    let res = app.client().gql(VERIFY, json!({ "t": "made-up" })).await;
    res.assert_code("BAD_USER_INPUT");

    let viewer = user.client.gql(ops::VIEWER, json!({})).await;
    assert_eq!(viewer.data()["viewer"]["emailVerified"], true);
}

#[tokio::test]
async fn verification_can_be_requested_again() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("again@example.com", "Again").await;
    app.mailbox
        .wait_for("again@example.com", "Confirm", 1)
        .await;
    let before = app.mailbox.snapshot();
    let res = user
        .client
        .gql(ops::REQUEST_EMAIL_VERIFICATION, json!({}))
        .await;
    assert_eq!(res.data()["requestEmailVerification"], true);
    let second = app
        .mailbox
        .wait_for_new("again@example.com", "Confirm", &before)
        .await;
    assert!(!link_token(&second, "/verify-email").is_empty());
}

#[tokio::test]
async fn an_expired_verification_link_is_refused() {
    let app = TestApp::spawn().await;
    app.sign_up("late@example.com", "Late").await;
    let mail = app
        .mailbox
        .wait_for("late@example.com", "/verify-email", 1)
        .await;
    let token = link_token(&mail, "/verify-email");
    exec(
        &app,
        "UPDATE user_tokens SET expires_at = $1",
        vec![(Utc::now() - chrono::Duration::seconds(1)).into()],
    )
    .await;
    let res = app
        .client()
        .gql(ops::VERIFY_EMAIL, json!({ "t": token }))
        .await;
    res.assert_code("BAD_USER_INPUT");
}

#[tokio::test]
async fn requesting_verification_needs_a_session() {
    let app = TestApp::spawn().await;
    let res = app
        .client()
        .gql(ops::REQUEST_EMAIL_VERIFICATION, json!({}))
        .await;
    res.assert_code("UNAUTHENTICATED");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("change@example.com", "Change").await;
    let res = user
        .client
        .gql(
            ops::CHANGE_PASSWORD,
            json!({ "c": "not my password", "n": "a new password" }),
        )
        .await;
    res.assert_code("BAD_USER_INPUT");
    assert_eq!(res.first_error()["extensions"]["field"], "currentPassword");
}

#[tokio::test]
async fn a_new_password_is_held_to_the_password_rules() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("change@example.com", "Change").await;
    let res = user
        .client
        .gql(ops::CHANGE_PASSWORD, json!({ "c": PASSWORD, "n": "short" }))
        .await;
    assert_eq!(res.first_error()["extensions"]["field"], "newPassword");
}

/// A user signed in twice who changes the password in the first session;
/// returns that user and the second session's token.
async fn changed_password(app: &TestApp) -> (SignedUp, String) {
    let user = app.sign_up("change@example.com", "Change").await;
    let other = app
        .client()
        .gql(
            ops::SIGN_IN,
            json!({ "email": "change@example.com", "password": PASSWORD }),
        )
        .await;
    let other_token = other.data()["signIn"]["token"].as_str().unwrap().to_owned();
    let res = user
        .client
        .gql(
            ops::CHANGE_PASSWORD,
            json!({ "c": PASSWORD, "n": "a new password" }),
        )
        .await;
    assert_eq!(res.data()["changePassword"], true);
    (user, other_token)
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_only() {
    let app = TestApp::spawn().await;
    let (user, other_token) = changed_password(&app).await;
    let res = app
        .client()
        .with_bearer(&other_token)
        .gql(ops::VIEWER, json!({}))
        .await;
    assert!(res.data()["viewer"].is_null(), "other session survived");
    let res = user.client.gql(ops::VIEWER, json!({})).await;
    assert!(!res.data()["viewer"].is_null(), "current session ended");
}

#[tokio::test]
async fn after_a_change_only_the_new_password_signs_in() {
    let app = TestApp::spawn().await;
    changed_password(&app).await;
    let res = app
        .client()
        .gql(
            ops::SIGN_IN,
            json!({ "email": "change@example.com", "password": PASSWORD }),
        )
        .await;
    res.assert_code("UNAUTHENTICATED");
    app.client()
        .gql(
            ops::SIGN_IN,
            json!({ "email": "change@example.com", "password": "a new password" }),
        )
        .await
        .data();
}

#[tokio::test]
async fn password_reset_is_always_true_and_mails_only_real_accounts() {
    let app = TestApp::spawn().await;
    app.sign_up("reset@example.com", "Reset").await;
    for email in ["nobody@example.com", "RESET@example.com", "not an email"] {
        let res = app
            .client()
            .gql(ops::REQUEST_PASSWORD_RESET, json!({ "e": email }))
            .await;
        assert_eq!(res.data()["requestPasswordReset"], true, "{email}");
    }
    app.mailbox
        .wait_for("reset@example.com", "Reset your password", 1)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.mailbox.find("nobody@example.com", "").is_empty());
}

#[tokio::test]
async fn resetting_the_password_ends_every_session_and_signs_in_afresh() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("forgot@example.com", "Forgot").await;
    let second = app
        .client()
        .gql(
            ops::SIGN_IN,
            json!({ "email": "forgot@example.com", "password": PASSWORD }),
        )
        .await;
    let second_token = second.data()["signIn"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    app.client()
        .gql(
            ops::REQUEST_PASSWORD_RESET,
            json!({ "e": "forgot@example.com" }),
        )
        .await
        .data();
    let mail = app
        .mailbox
        .wait_for("forgot@example.com", "Reset your password", 1)
        .await;
    assert!(mail.contains("http://app.test/reset-password?token="));
    let token = link_token(&mail, "/reset-password");

    const RESET: &str = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) { token user { email emailVerified } } }";
    let res = app
        .client()
        .gql(RESET, json!({ "t": token, "p": "tiny" }))
        .await;
    assert_eq!(res.first_error()["extensions"]["field"], "newPassword");

    let browser = app.client();
    let res = browser
        .gql(RESET, json!({ "t": token, "p": "brand new password" }))
        .await;
    let payload = &res.data()["resetPassword"];
    assert_eq!(payload["user"]["email"], "forgot@example.com");
    // Receiving the link proves the address.
    assert_eq!(payload["user"]["emailVerified"], true);
    assert!(
        res.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("gw_session=")
    );

    for old in [&user.token, &second_token] {
        let res = app
            .client()
            .with_bearer(old)
            .gql(ops::VIEWER, json!({}))
            .await;
        assert!(
            res.data()["viewer"].is_null(),
            "an old session survived the reset"
        );
    }
    let me = browser.gql(ops::VIEWER, json!({})).await;
    assert_eq!(me.data()["viewer"]["email"], "forgot@example.com");

    let reuse = app
        .client()
        .gql(RESET, json!({ "t": token, "p": "another password" }))
        .await;
    reuse.assert_code("BAD_USER_INPUT");
    app.client()
        .gql(
            ops::SIGN_IN,
            json!({ "email": "forgot@example.com", "password": "brand new password" }),
        )
        .await
        .data();
}

#[tokio::test]
async fn reset_links_expire_after_an_hour() {
    let app = TestApp::spawn().await;
    app.sign_up("late@example.com", "Late").await;
    app.client()
        .gql(
            ops::REQUEST_PASSWORD_RESET,
            json!({ "e": "late@example.com" }),
        )
        .await
        .data();
    let mail = app.mailbox.wait_for("late@example.com", "Reset", 1).await;
    let token = link_token(&mail, "/reset-password");
    exec(
        &app,
        "UPDATE user_tokens SET expires_at = $1 WHERE purpose = 'reset_password'",
        vec![(Utc::now() - chrono::Duration::seconds(1)).into()],
    )
    .await;
    let res = app
        .client()
        .gql(
            "mutation($t: String!) { resetPassword(token: $t, newPassword: \"whatever123\") { token } }",
            json!({ "t": token }),
        )
        .await;
    res.assert_code("BAD_USER_INPUT");
}

/// The mail server is down when the message is queued: the request still
/// succeeds, and the message arrives once the server is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_queued_while_the_server_is_down_is_delivered_later() {
    let port = free_port().await;
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("MAIL_URL", format!("smtp://127.0.0.1:{port}"))
            .var("MAIL_FROM", "Groundwork <no-reply@groundwork.test>"),
    )
    .await;
    app.sign_up("patient@example.com", "Patient").await;
    app.client()
        .gql(
            ops::REQUEST_PASSWORD_RESET,
            json!({ "e": "patient@example.com" }),
        )
        .await
        .data();

    // Let the worker fail at least once against the closed port.
    let failed = || async {
        let rows = app
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT attempts, last_error FROM mail_outbox WHERE sent_at IS NULL",
            ))
            .await
            .unwrap();
        rows.iter()
            .filter(|r| r.try_get::<i32>("", "attempts").unwrap() > 0)
            .count()
    };
    let mut waited = 0;
    while failed().await < 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
        assert!(waited < 200, "the worker never tried to send");
    }

    let smtp = FakeSmtp::start(port).await;
    let mut waited = 0;
    while smtp.received().len() < 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
        assert!(
            waited < 150,
            "mail was not delivered after the server came up"
        );
    }
    let all = smtp.received().join("\n");
    assert!(all.contains("Confirm your email address"));
    assert!(all.contains("Reset your password"));
    let pending = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM mail_outbox WHERE sent_at IS NULL",
        ))
        .await
        .unwrap();
    assert!(pending.is_empty());
}
