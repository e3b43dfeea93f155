//! The audit log: an event for every change, none for a change that failed,
//! readable by owners and admins on a plan with AUDIT_LOG.

use serde_json::{Value, json};

use crate::support::{TestApp, create_project, ops};

async fn actions(app: &TestApp, token: &str, org: &str) -> Vec<Value> {
    let res = app
        .client()
        .with_bearer(token)
        .gql(ops::AUDIT_LOG, json!({ "id": org, "first": 100 }))
        .await;
    res.data()["organization"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn every_change_is_logged_in_its_transaction() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Audited").await;
    app.grant("audited", "pro");
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;

    let project = create_project(&owner, &org, "Logged").await;
    for op in [
        "mutation($id: ID!) { updateProject(id: $id, input: { name: \"Logged 2\" }) { id } }",
        ops::ARCHIVE_PROJECT,
        ops::RESTORE_PROJECT,
        ops::DELETE_PROJECT,
    ] {
        owner.client.gql(op, json!({ "id": project })).await.data();
    }
    let (invitation, _) = app
        .invite(&owner, &org, "later@example.com", "VIEWER")
        .await;
    owner
        .client
        .gql(ops::REVOKE_INVITATION, json!({ "id": invitation }))
        .await
        .data();
    owner
        .client
        .gql(
            ops::RENAME_ORGANIZATION,
            json!({ "id": org, "name": "Audited 2" }),
        )
        .await
        .data();
    member
        .client
        .gql(ops::LEAVE_ORGANIZATION, json!({ "id": org }))
        .await
        .data();

    let log = actions(&app, &owner.token, &org).await;
    let mut seen: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    seen.reverse();
    assert_eq!(
        seen,
        [
            "organization.created",
            "plan.granted",
            "invitation.created",
            "invitation.accepted",
            "member.joined",
            "project.created",
            "project.updated",
            "project.archived",
            "project.restored",
            "project.deleted",
            "invitation.created",
            "invitation.revoked",
            "organization.updated",
            "member.left",
        ]
    );
    let created = log
        .iter()
        .find(|e| e["action"] == "project.created")
        .unwrap();
    assert_eq!(created["actor"]["id"], owner.user_id.as_str());
    assert_eq!(created["targetType"], "project");
    assert_eq!(created["targetId"], project.as_str());
    assert_eq!(created["metadata"]["name"], "Logged");
    assert_eq!(created["ip"], "127.0.0.1");
    let renamed = log
        .iter()
        .find(|e| e["action"] == "organization.updated")
        .unwrap();
    assert_eq!(renamed["metadata"]["before"]["name"], "Audited");
}

#[tokio::test]
async fn a_failed_change_leaves_no_event() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Failing").await;
    for i in 0..3 {
        create_project(&owner, &org, &format!("P{i}")).await;
    }
    // Past the plan's limit, and the last owner stepping down: both refused.
    owner
        .client
        .gql(
            ops::CREATE_PROJECT,
            json!({ "org": org, "name": "Too many" }),
        )
        .await
        .assert_code("PLAN_LIMIT_REACHED");
    let members = owner
        .client
        .gql(
            "query($id: ID) { organization(id: $id) { members { edges { node { id } } } } }",
            json!({ "id": org }),
        )
        .await;
    let me = members.data()["organization"]["members"]["edges"][0]["node"]["id"].clone();
    owner
        .client
        .gql(
            "mutation($m: ID!) { updateMemberRole(membershipId: $m, role: ADMIN) { id } }",
            json!({ "m": me }),
        )
        .await
        .assert_code("CONFLICT");

    app.grant("failing", "pro");
    let log = actions(&app, &owner.token, &org).await;
    let projects = log
        .iter()
        .filter(|e| e["action"] == "project.created")
        .count();
    assert_eq!(projects, 3);
    assert!(!log.iter().any(|e| e["action"] == "member.role_updated"));
}

#[tokio::test]
async fn reading_the_log_needs_the_role_and_the_plan() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Gated").await;
    let res = owner.client.gql(ops::AUDIT_LOG, json!({ "id": org })).await;
    res.assert_code("PLAN_REQUIRED");
    assert_eq!(res.first_error()["extensions"]["feature"], "AUDIT_LOG");

    app.grant("gated", "pro");
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    member
        .client
        .gql(ops::AUDIT_LOG, json!({ "id": org }))
        .await
        .assert_code("FORBIDDEN");
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let res = admin
        .client
        .gql(ops::AUDIT_LOG, json!({ "id": org, "first": 2 }))
        .await;
    let page = &res.data()["organization"]["auditLog"];
    assert!(page["totalCount"].as_i64().unwrap() >= 5);
    assert_eq!(page["edges"].as_array().unwrap().len(), 2);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let next = admin
        .client
        .gql(
            ops::AUDIT_LOG,
            json!({ "id": org, "first": 2, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_ne!(
        next.data()["organization"]["auditLog"]["edges"][0],
        page["edges"][0]
    );
}
