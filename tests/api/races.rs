//! Concurrent requests that must not break an invariant.

use serde_json::json;

use crate::support::{TestApp, ops};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_demoting_each_other_leave_one_owner() {
    let app = TestApp::spawn().await;
    let first = app.sign_up("first@example.com", "First").await;
    let org = app.create_org(&first, "Duel").await;
    let second = app
        .join_new(&first, &org, "second@example.com", "OWNER")
        .await;
    let res = first.client.gql(ops::MEMBERS, json!({ "id": org })).await;
    let edges = res.data()["organization"]["members"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let membership = |user: &str| {
        edges
            .iter()
            .find(|e| e["node"]["user"]["id"] == user)
            .unwrap()["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (m_first, m_second) = (membership(&first.user_id), membership(&second.user_id));
    const DEMOTE: &str =
        "mutation($m: ID!) { updateMemberRole(membershipId: $m, role: ADMIN) { role } }";

    for _ in 0..3 {
        let (a, b) = tokio::join!(
            first.client.gql(DEMOTE, json!({ "m": m_second })),
            second.client.gql(DEMOTE, json!({ "m": m_first })),
        );
        let ok = [&a, &b].iter().filter(|r| r.errors().is_empty()).count();
        let owners = app
            .client()
            .with_bearer(&first.token)
            .gql(
                "query($id: ID) { organization(id: $id) { members { edges { node { role } } } } }",
                json!({ "id": org }),
            )
            .await;
        let count = owners.data()["organization"]["members"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["node"]["role"] == "OWNER")
            .count();
        assert_eq!(
            count, 1,
            "owners left: {count}; responses {} / {}",
            a.body, b.body
        );
        assert_eq!(ok, 1, "{} / {}", a.body, b.body);
        // Restore two owners for the next round, by whoever is owner now.
        let owner = if a.errors().is_empty() {
            &first
        } else {
            &second
        };
        let demoted = if a.errors().is_empty() {
            &m_second
        } else {
            &m_first
        };
        owner
            .client
            .gql(
                "mutation($m: ID!) { updateMemberRole(membershipId: $m, role: OWNER) { role } }",
                json!({ "m": demoted }),
            )
            .await
            .data();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_invitation_accepted_twice_at_once_makes_one_membership() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Once").await;
    let guest = app.sign_up_verified("guest@example.com", "Guest").await;
    let (_, token) = app
        .invite(&owner, &org, "guest@example.com", "MEMBER")
        .await;
    let other_session = app.client().with_bearer(&guest.token);
    let (a, b) = tokio::join!(
        guest
            .client
            .gql(ops::ACCEPT_INVITATION, json!({ "t": token })),
        other_session.gql(ops::ACCEPT_INVITATION, json!({ "t": token })),
    );
    let ok = [&a, &b].iter().filter(|r| r.errors().is_empty()).count();
    assert_eq!(ok, 1, "{} / {}", a.body, b.body);
    let members = owner
        .client
        .gql(ops::MEMBER_COUNT, json!({ "id": org }))
        .await;
    assert_eq!(members.data()["organization"]["members"]["totalCount"], 2);
}
