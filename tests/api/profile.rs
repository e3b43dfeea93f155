//! The profile: what a user may change of it, and deleting the account.

use serde_json::json;

use crate::support::{PASSWORD, SignedUp, TestApp, ops};

#[tokio::test]
async fn the_profile_can_be_updated() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("prof@example.com", "Prof").await;
    let res = user
        .client
        .gql(ops::UPDATE_PROFILE, json!({ "input": { "name": " Ada L. ", "avatarUrl": "https://img.example.com/a.png" } }))
        .await;
    assert_eq!(res.data()["updateProfile"]["name"], "Ada L.");
    assert_eq!(
        res.data()["updateProfile"]["avatarUrl"],
        "https://img.example.com/a.png"
    );
}

#[tokio::test]
async fn an_avatar_url_must_be_a_web_address() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("prof@example.com", "Prof").await;
    let res = user
        .client
        .gql(
            ops::UPDATE_PROFILE,
            json!({ "input": { "avatarUrl": "javascript:alert(1)" } }),
        )
        .await;
    res.assert_code("BAD_USER_INPUT");
    assert_eq!(res.first_error()["extensions"]["field"], "avatarUrl");
}

#[tokio::test]
async fn an_empty_avatar_url_removes_the_avatar() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("prof@example.com", "Prof").await;
    user.client
        .gql(
            ops::UPDATE_PROFILE,
            json!({ "input": { "avatarUrl": "https://img.example.com/a.png" } }),
        )
        .await
        .data();
    let res = user
        .client
        .gql(ops::UPDATE_PROFILE, json!({ "input": { "avatarUrl": "" } }))
        .await;
    assert!(res.data()["updateProfile"]["avatarUrl"].is_null());
}

#[tokio::test]
async fn updating_the_profile_needs_a_session() {
    let app = TestApp::spawn().await;
    let res = app
        .client()
        .gql(ops::UPDATE_PROFILE, json!({ "input": { "name": "X" } }))
        .await;
    res.assert_code("UNAUTHENTICATED");
}

#[tokio::test]
async fn deleting_the_account_needs_the_password() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("gone@example.com", "Gone").await;
    let res = user
        .client
        .gql(ops::DELETE_ACCOUNT, json!({ "p": "wrong password" }))
        .await;
    res.assert_code("BAD_USER_INPUT");
    let res = user.client.gql(ops::DELETE_ACCOUNT, json!({})).await;
    res.assert_code("BAD_USER_INPUT");
}

/// A user who deleted the account, with the password.
async fn deleted(app: &TestApp) -> SignedUp {
    let user = app.sign_up("gone@example.com", "Gone").await;
    let res = user
        .client
        .gql(ops::DELETE_ACCOUNT, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(res.data()["deleteAccount"], true);
    user
}

#[tokio::test]
async fn a_deleted_account_has_no_session_and_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let user = deleted(&app).await;
    let res = app
        .client()
        .with_bearer(&user.token)
        .gql(ops::VIEWER, json!({}))
        .await;
    assert!(res.data()["viewer"].is_null());
    let res = app
        .client()
        .gql(
            ops::SIGN_IN,
            json!({ "email": "gone@example.com", "password": PASSWORD }),
        )
        .await;
    res.assert_code("UNAUTHENTICATED");
}

#[tokio::test]
async fn a_deleted_accounts_address_is_free_again() {
    let app = TestApp::spawn().await;
    deleted(&app).await;
    app.sign_up("gone@example.com", "Back").await;
}
