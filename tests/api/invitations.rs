//! Invitation flows: existing and new users, wrong and unverified emails,
//! expiry, revocation, resending and declining.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::{
    accounts::exec,
    support::{PASSWORD, SignedUp, TestApp, ops},
};

#[tokio::test]
async fn an_existing_verified_user_accepts_once() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Olive Owner").await;
    let org = app.create_org(&owner, "Acme").await;
    let guest = app.sign_up_verified("guest@example.com", "Guest").await;

    let (_, token) = app.invite(&owner, &org, "GUEST@example.com", "ADMIN").await;
    let mail = app
        .mailbox
        .wait_for("guest@example.com", "/invitations/accept", 1)
        .await;
    assert!(mail.contains("Olive Owner invited you to join Acme as admin"));
    assert!(mail.contains("http://app.test/invitations/accept?token="));

    // The preview needs no session.
    let preview = app
        .client()
        .gql(ops::INVITATION, json!({ "t": token }))
        .await;
    let p = &preview.data()["invitation"];
    assert_eq!(p["organizationName"], "Acme");
    assert_eq!(p["inviterName"], "Olive Owner");
    assert_eq!(p["email"], "guest@example.com");
    assert_eq!(p["role"], "ADMIN");
    assert_eq!(p["status"], "PENDING");

    let pending = guest
        .client
        .gql(
            "{ viewer { pendingInvitations { email role organizationName } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        pending.data()["viewer"]["pendingInvitations"][0]["organizationName"],
        "Acme"
    );

    let res = guest
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": token }))
        .await;
    let m = &res.data()["acceptInvitation"];
    assert_eq!(m["role"], "ADMIN");
    assert_eq!(m["organization"]["name"], "Acme");
    assert_eq!(m["organization"]["viewerRole"], "ADMIN");

    guest
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": token }))
        .await
        .assert_code("FORBIDDEN");
    let preview = app
        .client()
        .gql(ops::INVITATION, json!({ "t": token }))
        .await;
    assert_eq!(preview.data()["invitation"]["status"], "ACCEPTED");
    let pending = guest.client.gql(ops::PENDING_INVITATIONS, json!({})).await;
    assert!(
        pending.data()["viewer"]["pendingInvitations"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Inviting an existing member is a conflict.
    let res = owner
        .client
        .gql(
            ops::INVITE_MEMBER,
            json!({ "input": { "organizationId": org, "email": "guest@example.com", "role": "MEMBER" } }),
        )
        .await;
    res.assert_code("CONFLICT");
}

#[tokio::test]
async fn a_new_user_signs_up_with_the_invitation() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Newcomers").await;
    let (_, token) = app.invite(&owner, &org, "new@example.com", "VIEWER").await;
    const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { user { emailVerified organizations { totalCount edges { node { name viewerRole } } } } } }";

    let wrong = app
        .client()
        .gql(
            SIGN_UP,
            json!({ "input": { "email": "other@example.com", "password": PASSWORD, "name": "X", "invitationToken": token } }),
        )
        .await;
    wrong.assert_code("BAD_USER_INPUT");
    assert_eq!(wrong.first_error()["extensions"]["field"], "email");
    let bogus = app
        .client()
        .gql(
            SIGN_UP,
            json!({ "input": { "email": "new@example.com", "password": PASSWORD, "name": "X", "invitationToken": "bogus" } }),
        )
        .await;
    assert_eq!(
        bogus.first_error()["extensions"]["field"],
        "invitationToken"
    );

    let res = app
        .client()
        .gql(
            SIGN_UP,
            json!({ "input": { "email": "New@Example.com", "password": PASSWORD, "name": "Newt", "invitationToken": token } }),
        )
        .await;
    let user = &res.data()["signUp"]["user"];
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["organizations"]["totalCount"], 2);
    let team = user["organizations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["name"] == "Newcomers")
        .unwrap();
    assert_eq!(team["node"]["viewerRole"], "VIEWER");
    // No verification mail: the invitation proved the address.
    assert!(
        app.mailbox
            .find("new@example.com", "/verify-email")
            .is_empty()
    );
}

#[tokio::test]
async fn a_wrong_or_unverified_email_cannot_accept() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Strict").await;
    let (_, token) = app
        .invite(&owner, &org, "invited@example.com", "MEMBER")
        .await;

    let stranger = app
        .sign_up_verified("stranger@example.com", "Stranger")
        .await;
    stranger
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": token }))
        .await
        .assert_code("FORBIDDEN");

    let unverified = app.sign_up("invited@example.com", "Unverified").await;
    unverified
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": token }))
        .await
        .assert_code("FORBIDDEN");
    let pending = unverified
        .client
        .gql(ops::PENDING_INVITATIONS, json!({}))
        .await;
    assert!(
        pending.data()["viewer"]["pendingInvitations"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    app.client()
        .gql(ops::ACCEPT_INVITATION, json!({ "t": token }))
        .await
        .assert_code("UNAUTHENTICATED");

    // Once verified, the same user may accept.
    let mail = app
        .mailbox
        .wait_for("invited@example.com", "/verify-email", 1)
        .await;
    let verify = crate::support::link_token(&mail, "/verify-email");
    app.client()
        .gql(ops::VERIFY_EMAIL, json!({ "t": verify }))
        .await
        .data();
    let res = unverified
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": token }))
        .await;
    assert_eq!(res.data()["acceptInvitation"]["role"], "MEMBER");
}

/// An organization, its owner, and a verified user it may invite.
async fn host_and_guest(app: &TestApp) -> (SignedUp, String, SignedUp) {
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Dead Ends").await;
    let guest = app.sign_up_verified("guest@example.com", "Guest").await;
    (owner, org, guest)
}

/// Invites the guest and lets the invitation expire; returns its token.
async fn expired_invitation(app: &TestApp, owner: &SignedUp, org: &str) -> String {
    let (_, token) = app.invite(owner, org, "guest@example.com", "MEMBER").await;
    exec(
        app,
        "UPDATE invitations SET expires_at = $1",
        vec![(Utc::now() - Duration::minutes(1)).into()],
    )
    .await;
    token
}

#[tokio::test]
async fn an_expired_invitation_cannot_be_accepted_and_shows_as_expired() {
    let app = TestApp::spawn().await;
    let (owner, org, guest) = host_and_guest(&app).await;
    let expired = expired_invitation(&app, &owner, &org).await;
    guest
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": expired }))
        .await
        .assert_code("FORBIDDEN");
    let preview = app
        .client()
        .gql(ops::INVITATION, json!({ "t": expired }))
        .await;
    assert_eq!(preview.data()["invitation"]["status"], "EXPIRED");
    let listed = owner
        .client
        .gql("query($id: ID) { organization(id: $id) { invitations(status: EXPIRED) { email status } } }", json!({ "id": org }))
        .await;
    assert_eq!(
        listed.data()["organization"]["invitations"][0]["status"],
        "EXPIRED"
    );
}

#[tokio::test]
async fn an_expired_invitation_no_longer_blocks_a_new_one() {
    let app = TestApp::spawn().await;
    let (owner, org, _) = host_and_guest(&app).await;
    expired_invitation(&app, &owner, &org).await;
    app.invite(&owner, &org, "guest@example.com", "MEMBER")
        .await;
}

#[tokio::test]
async fn a_revoked_invitation_cannot_be_accepted() {
    let app = TestApp::spawn().await;
    let (owner, org, guest) = host_and_guest(&app).await;
    let (revoked_id, revoked) = app
        .invite(&owner, &org, "guest@example.com", "MEMBER")
        .await;
    let res = owner
        .client
        .gql(
            "mutation($id: ID!) { revokeInvitation(id: $id) { status } }",
            json!({ "id": revoked_id }),
        )
        .await;
    assert_eq!(res.data()["revokeInvitation"]["status"], "REVOKED");
    guest
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": revoked }))
        .await
        .assert_code("FORBIDDEN");
}

#[tokio::test]
async fn a_declined_invitation_can_be_neither_accepted_nor_declined_again() {
    let app = TestApp::spawn().await;
    let (owner, org, guest) = host_and_guest(&app).await;
    let (_, declined) = app
        .invite(&owner, &org, "guest@example.com", "MEMBER")
        .await;
    assert_eq!(
        app.client()
            .gql(ops::DECLINE_INVITATION, json!({ "t": declined }))
            .await
            .data()["declineInvitation"],
        true
    );
    guest
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": declined }))
        .await
        .assert_code("FORBIDDEN");
    app.client()
        .gql(ops::DECLINE_INVITATION, json!({ "t": declined }))
        .await
        .assert_code("FORBIDDEN");
    let preview = app
        .client()
        .gql(ops::INVITATION, json!({ "t": declined }))
        .await;
    assert_eq!(preview.data()["invitation"]["status"], "DECLINED");
}

#[tokio::test]
async fn an_unknown_token_shows_no_invitation() {
    let app = TestApp::spawn().await;
    let none = app
        .client()
        .gql(ops::INVITATION, json!({ "t": "no-such-token" }))
        .await;
    assert!(none.data()["invitation"].is_null());
}

#[tokio::test]
async fn resending_replaces_the_link() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Resend").await;
    let guest = app.sign_up_verified("guest@example.com", "Guest").await;
    let (id, old_token) = app
        .invite(&owner, &org, "guest@example.com", "MEMBER")
        .await;
    let res = owner
        .client
        .gql(
            ops::INVITE_MEMBER,
            json!({ "input": { "organizationId": org, "email": "guest@example.com", "role": "VIEWER" } }),
        )
        .await;
    res.assert_code("CONFLICT");

    exec(
        &app,
        "UPDATE invitations SET expires_at = $1",
        vec![(Utc::now() - Duration::minutes(1)).into()],
    )
    .await;
    let before = app.mailbox.snapshot();
    let res = owner
        .client
        .gql(
            "mutation($id: ID!) { resendInvitation(id: $id) { status expiresAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(res.data()["resendInvitation"]["status"], "PENDING");
    let mail = app
        .mailbox
        .wait_for_new("guest@example.com", "/invitations/accept", &before)
        .await;
    let new_token = crate::support::link_token(&mail, "/invitations/accept");
    assert_ne!(new_token, old_token);

    assert!(
        app.client()
            .gql(ops::INVITATION, json!({ "t": old_token }))
            .await
            .data()["invitation"]
            .is_null()
    );
    guest
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": old_token }))
        .await
        .assert_code("NOT_FOUND");
    let res = guest
        .client
        .gql(ops::ACCEPT_INVITATION, json!({ "t": new_token }))
        .await;
    assert_eq!(res.data()["acceptInvitation"]["role"], "MEMBER");
}

#[tokio::test]
async fn nobody_invites_above_their_own_role() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Ranks").await;
    app.grant("ranks", "pro");
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    const INVITE: &str = "mutation($id: ID!, $r: Role!) { inviteMember(input: { organizationId: $id, email: \"x@example.com\", role: $r }) { role } }";
    admin
        .client
        .gql(INVITE, json!({ "id": org, "r": "OWNER" }))
        .await
        .assert_code("FORBIDDEN");
    member
        .client
        .gql(INVITE, json!({ "id": org, "r": "VIEWER" }))
        .await
        .assert_code("FORBIDDEN");
    let res = admin
        .client
        .gql(INVITE, json!({ "id": org, "r": "ADMIN" }))
        .await;
    assert_eq!(res.data()["inviteMember"]["role"], "ADMIN");
    let res = owner
        .client
        .gql(
            "mutation($id: ID!) { inviteMember(input: { organizationId: $id, email: \"not-an-email\", role: MEMBER }) { id } }",
            json!({ "id": org }),
        )
        .await;
    assert_eq!(res.first_error()["extensions"]["field"], "email");
}
