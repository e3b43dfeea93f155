//! Pre-account takeover: someone signs up with another person's address and
//! a password of their own, never verifies it, and waits for the address's
//! owner to arrive by another door (a provider sign-in, an invitation).
//! Nothing that proves the address joins such an account; its owner is told
//! how to claim it, and claiming it (a password reset) shuts the squatter out.

use serde_json::json;

use crate::{
    oauth::{app_with, begin, finish, user},
    support::{Client, PASSWORD, TestApp, fake_oauth::FakeOAuth, link_token, ops},
};

const OWN_PASSWORD: &str = "the owner's own password";

/// The address's owner claims it through a reset link; returns their client,
/// signed in by the reset.
async fn claim_by_reset(app: &TestApp, email: &str) -> Client {
    let before = app.mailbox.snapshot();
    app.client()
        .gql(ops::REQUEST_PASSWORD_RESET, json!({ "e": email }))
        .await
        .data();
    let mail = app
        .mailbox
        .wait_for_new(email, "/reset-password", &before)
        .await;
    let owner = app.client();
    owner
        .gql(
            "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) { token } }",
            json!({ "t": link_token(&mail, "/reset-password"), "p": OWN_PASSWORD }),
        )
        .await
        .data();
    owner
}

async fn assert_shut_out(app: &TestApp, squatter: &Client, email: &str) {
    let res = squatter.gql(ops::VIEWER, json!({})).await;
    assert!(res.data()["viewer"].is_null(), "{}", res.body);
    app.client()
        .gql(
            ops::SIGN_IN,
            json!({ "email": email, "password": PASSWORD }),
        )
        .await
        .assert_code("UNAUTHENTICATED");
}

#[tokio::test]
async fn a_provider_does_not_link_to_a_squatted_address_until_it_is_claimed() {
    let fake = FakeOAuth::start().await;
    let app = app_with(&fake, "acme").await;
    let squatter = app.sign_up("victim@example.com", "Squatter").await;

    // The owner signs in with a provider that vouches for the address.
    fake.sign_in_as(user("sub-victim", "Victim@example.com", true));
    let trip = begin(&app, "acme", "http://app.test/").await;
    let landed = finish(&trip, &trip.callback).await;
    assert_eq!(landed, "http://app.test/?error=unverified_account");
    assert!(trip.browser.gql(ops::VIEWER, json!({})).await.data()["viewer"].is_null());
    let theirs = squatter.client.gql(ops::VIEWER, json!({})).await;
    let theirs = &theirs.data()["viewer"];
    assert_eq!(theirs["emailVerified"], false);
    assert!(theirs["linkedAccounts"].as_array().unwrap().is_empty());

    let owner = claim_by_reset(&app, "victim@example.com").await;
    assert_shut_out(&app, &squatter.client, "victim@example.com").await;
    let mine = owner.gql(ops::VIEWER, json!({})).await;
    assert_eq!(mine.data()["viewer"]["emailVerified"], true);

    // Claimed, the address links: the provider signs in to the same account.
    let again = begin(&app, "acme", "http://app.test/").await;
    assert_eq!(finish(&again, &again.callback).await, "http://app.test/");
    let me = again.browser.gql(ops::VIEWER, json!({})).await;
    assert_eq!(me.data()["viewer"]["id"], squatter.user_id.as_str());
    assert_eq!(me.data()["viewer"]["linkedAccounts"][0]["provider"], "acme");
    assert_shut_out(&app, &squatter.client, "victim@example.com").await;
}

#[tokio::test]
async fn an_invitation_does_not_join_a_squatted_address_until_it_is_claimed() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Team").await;
    let squatter = app.sign_up("invitee@example.com", "Squatter").await;
    let (_, token) = app
        .invite(&owner, &org, "invitee@example.com", "ADMIN")
        .await;

    // The invitee follows the link and signs up: refused, and told why.
    let res = app
        .client()
        .gql(
            ops::SIGN_UP,
            json!({ "input": {
                "email": "invitee@example.com", "password": OWN_PASSWORD,
                "name": "Invitee", "invitationToken": token
            } }),
        )
        .await;
    res.assert_code("BAD_USER_INPUT");
    let error = res.first_error();
    assert_eq!(error["extensions"]["field"], "email");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("reset its password"),
        "{error}"
    );

    // The link leaks to the squatter: the unverified account cannot accept.
    let res = squatter
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": token }))
        .await;
    res.assert_code("FORBIDDEN");
    let status = app
        .client()
        .gql(ops::INVITATION, json!({ "t": token }))
        .await;
    assert_eq!(status.data()["invitation"]["status"], "PENDING");
    let orgs = squatter
        .client
        .gql("{ viewer { organizations { totalCount } } }", json!({}))
        .await;
    assert_eq!(orgs.data()["viewer"]["organizations"]["totalCount"], 1);

    // The invitee claims the address, then accepts.
    let invitee = claim_by_reset(&app, "invitee@example.com").await;
    assert_shut_out(&app, &squatter.client, "invitee@example.com").await;
    let res = invitee
        .gql(ops::ACCEPT_INVITATION, json!({ "t": token }))
        .await;
    assert_eq!(res.data()["acceptInvitation"]["role"], "ADMIN");
}

#[tokio::test]
async fn a_verified_account_is_told_to_sign_in_and_accept() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Team").await;
    let member = app.sign_up_verified("member@example.com", "Member").await;
    let (_, token) = app
        .invite(&owner, &org, "member@example.com", "MEMBER")
        .await;
    let res = app
        .client()
        .gql(
            ops::SIGN_UP,
            json!({ "input": {
                "email": "member@example.com", "password": OWN_PASSWORD,
                "name": "Again", "invitationToken": token
            } }),
        )
        .await;
    res.assert_code("BAD_USER_INPUT");
    assert!(
        res.first_error()["message"]
            .as_str()
            .unwrap()
            .contains("sign in")
    );
    let res = member
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": token }))
        .await;
    assert_eq!(res.data()["acceptInvitation"]["role"], "MEMBER");
}
