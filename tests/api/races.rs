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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn people_of_one_name_signing_up_at_once_each_get_a_personal_organization() {
    let app = TestApp::spawn().await;
    let emails: Vec<String> = (0..6).map(|i| format!("same{i}@example.com")).collect();
    let sign_ups = emails.iter().map(|email| app.sign_up(email, "Same Name"));
    let users = futures_util::future::join_all(sign_ups).await;
    let mut slugs = Vec::new();
    for user in &users {
        let res = user
            .client
            .gql(
                "{ viewer { organizations { edges { node { slug } } } } }",
                json!({}),
            )
            .await;
        let edges = res.data()["viewer"]["organizations"]["edges"].clone();
        assert_eq!(edges.as_array().unwrap().len(), 1, "{edges}");
        slugs.push(edges[0]["node"]["slug"].as_str().unwrap().to_owned());
    }
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), 6, "{slugs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn organizations_of_one_name_made_at_once_get_distinct_slugs() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let creates = (0..5).map(|_| {
        owner.client.gql(
            "mutation { createOrganization(input: { name: \"Same Name\" }) { slug } }",
            json!({}),
        )
    });
    let mut slugs: Vec<String> = futures_util::future::join_all(creates)
        .await
        .iter()
        .map(|res| {
            res.data()["createOrganization"]["slug"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    slugs.sort();
    assert_eq!(
        slugs,
        [
            "same-name",
            "same-name-2",
            "same-name-3",
            "same-name-4",
            "same-name-5"
        ]
    );
}
