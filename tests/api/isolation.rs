//! Cross-tenant isolation: a member of organization A names every id of
//! organization B it can and learns nothing, changes nothing.

use serde_json::{Value, json};

use crate::support::{SignedUp, TestApp, ops};

pub struct TwoTenants {
    pub app: TestApp,
    /// Owner of A, and nothing in B.
    pub intruder: SignedUp,
    pub owner_b: SignedUp,
    pub org_a: String,
    pub org_b: String,
    pub member_b_user: String,
    pub membership_b: String,
    pub invitation_b: String,
}

pub async fn two_tenants() -> TwoTenants {
    let app = TestApp::spawn().await;
    let intruder = app.sign_up("intruder@a.example", "Intruder").await;
    let org_a = app.create_org(&intruder, "Tenant A").await;
    let owner_b = app.sign_up("owner@b.example", "Owner B").await;
    let org_b = app.create_org(&owner_b, "Tenant B").await;
    let member_b = app
        .join_new(&owner_b, &org_b, "member@b.example", "MEMBER")
        .await;
    let (invitation_b, _) = app
        .invite(&owner_b, &org_b, "pending@b.example", "MEMBER")
        .await;
    let res = owner_b
        .client
        .gql(ops::MEMBERS, json!({ "id": org_b }))
        .await;
    let membership_b = res.data()["organization"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["user"]["id"] == member_b.user_id.as_str())
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .unwrap();
    TwoTenants {
        app,
        intruder,
        owner_b,
        org_a,
        org_b,
        member_b_user: member_b.user_id,
        membership_b,
        invitation_b,
    }
}

/// B as its owner sees it, to compare before and after.
pub async fn snapshot(t: &TwoTenants) -> Value {
    t.app
        .client()
        .with_bearer(&t.owner_b.token)
        .gql(
            "query($id: ID) { organization(id: $id) { name slug members { totalCount edges { node { id role } } } invitations { id status expiresAt } } }",
            json!({ "id": t.org_b }),
        )
        .await
        .data()["organization"]
        .clone()
}

#[tokio::test]
async fn ids_of_another_organization_are_not_found() {
    let t = two_tenants().await;
    let before = snapshot(&t).await;
    let c = &t.intruder.client;

    for (query, variables) in [
        (ops::ORGANIZATION_ID, json!({ "id": t.org_b })),
        ("{ organization(slug: \"tenant-b\") { id } }", json!({})),
    ] {
        let res = c.gql(query, variables).await;
        assert!(
            res.data()["organization"].is_null(),
            "{query}: {}",
            res.body
        );
    }

    let attempts: Vec<(&str, Value)> = vec![
        (
            ops::RENAME_ORGANIZATION,
            json!({ "id": t.org_b, "name": "Pwned" }),
        ),
        (ops::DELETE_ORGANIZATION, json!({ "id": t.org_b })),
        (
            ops::INVITE_MEMBER,
            json!({ "input": { "organizationId": t.org_b, "email": "spy@a.example", "role": "OWNER" } }),
        ),
        (
            ops::INVITE_MEMBER,
            json!({ "input": { "organizationId": t.org_b, "email": "spy@a.example", "role": "VIEWER" } }),
        ),
        (ops::RESEND_INVITATION, json!({ "id": t.invitation_b })),
        (ops::REVOKE_INVITATION, json!({ "id": t.invitation_b })),
        (
            "mutation($id: ID!) { updateMemberRole(membershipId: $id, role: OWNER) { id } }",
            json!({ "id": t.membership_b }),
        ),
        (ops::REMOVE_MEMBER, json!({ "id": t.membership_b })),
        (ops::LEAVE_ORGANIZATION, json!({ "id": t.org_b })),
        (
            ops::TRANSFER_OWNERSHIP,
            json!({ "id": t.org_b, "to": t.intruder.user_id }),
        ),
        // An id of B used inside A.
        (
            ops::TRANSFER_OWNERSHIP,
            json!({ "id": t.org_a, "to": t.member_b_user }),
        ),
    ];
    for (query, variables) in attempts {
        let res = c.gql(query, variables.clone()).await;
        assert_eq!(res.code(), "NOT_FOUND", "{query} {variables}: {}", res.body);
        let message = res.first_error()["message"].as_str().unwrap().to_owned();
        assert!(!message.contains("Tenant B"), "{message}");
    }

    // No list shows B's rows.
    let res = c
        .gql(
            "{ viewer { organizations { edges { node { id } } } pendingInvitations { id } } }",
            json!({}),
        )
        .await;
    let ids: Vec<&str> = res.data()["viewer"]["organizations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&t.org_b.as_str()));

    assert_eq!(snapshot(&t).await, before, "organization B changed");
}
