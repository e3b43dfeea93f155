//! Relay's `Node`: global ids everywhere, `node`/`nodes` answering only what
//! the viewer may see, and foreign or malformed ids refused as NOT_FOUND.

use serde_json::{Value, json};

use crate::{
    isolation::two_tenants,
    support::{TestApp, ops, raw_id},
};

/// Every id of an organization the owner can read, by type name.
async fn ids_of(app: &TestApp, token: &str, org: &str) -> Vec<(&'static str, String)> {
    let client = app.client().with_bearer(token);
    let res = client
        .gql(
            "query($id: ID) {
               viewer { id sessions { id } }
               organization(id: $id) {
                 id
                 members { edges { node { id user { id } } } }
                 invitations { id }
                 projects { edges { node { id } } }
                 auditLog(first: 1) { edges { node { id } } }
               }
             }",
            json!({ "id": org }),
        )
        .await;
    let data = res.data();
    let o = &data["organization"];
    let first = |v: &Value| v.as_str().unwrap().to_owned();
    vec![
        ("User", first(&data["viewer"]["id"])),
        ("Session", first(&data["viewer"]["sessions"][0]["id"])),
        ("Organization", first(&o["id"])),
        ("Membership", first(&o["members"]["edges"][0]["node"]["id"])),
        (
            "User",
            first(&o["members"]["edges"][1]["node"]["user"]["id"]),
        ),
        ("Invitation", first(&o["invitations"][0]["id"])),
        ("Project", first(&o["projects"]["edges"][0]["node"]["id"])),
        (
            "AuditEvent",
            first(&o["auditLog"]["edges"][0]["node"]["id"]),
        ),
    ]
}

async fn tenant_with_everything() -> (crate::isolation::TwoTenants, Vec<(&'static str, String)>) {
    let t = two_tenants().await;
    t.app.grant("tenant-b", "pro");
    let res = t
        .owner_b
        .client
        .gql(
            "mutation($org: ID!) { createProject(input: { organizationId: $org, name: \"Secret\" }) { id } }",
            json!({ "org": t.org_b }),
        )
        .await;
    res.data();
    let ids = ids_of(&t.app, &t.owner_b.token, &t.org_b).await;
    (t, ids)
}

#[tokio::test]
async fn ids_are_opaque_and_each_resolves_to_its_type_for_those_who_may_see_it() {
    let (t, ids) = tenant_with_everything().await;
    for (_, id) in &ids {
        assert!(
            uuid::Uuid::try_parse(id).is_err(),
            "{id} shows the row's uuid"
        );
    }
    let all: Vec<&String> = ids.iter().map(|(_, id)| id).collect();
    let res = t
        .owner_b
        .client
        .with_bearer(&t.owner_b.token)
        .gql(ops::NODES, json!({ "ids": all }))
        .await;
    let nodes = res.data()["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), ids.len());
    for ((ty, id), node) in ids.iter().zip(&nodes) {
        assert_eq!(node["__typename"], *ty, "{node}");
        assert_eq!(node["id"], id.as_str());
        let one = t
            .app
            .client()
            .with_bearer(&t.owner_b.token)
            .gql(ops::NODE, json!({ "id": id }))
            .await;
        assert_eq!(one.data()["node"], *node);
    }
}

#[tokio::test]
async fn another_tenants_ids_are_null_for_members_and_for_anonymous_callers() {
    let (t, ids) = tenant_with_everything().await;
    let all: Vec<&String> = ids.iter().map(|(_, id)| id).collect();
    for client in [t.intruder.client.clone(), t.app.client()] {
        let res = client.gql(ops::NODES, json!({ "ids": all })).await;
        let nodes = res.data()["nodes"].as_array().unwrap().clone();
        assert_eq!(nodes.len(), ids.len());
        assert!(nodes.iter().all(Value::is_null), "{nodes:?}");
        for (_, id) in &ids {
            let res = client.gql(ops::NODE, json!({ "id": id })).await;
            assert!(res.data()["node"].is_null(), "{id}: {}", res.body);
        }
    }
    // A member of B who is not allowed the audit log or the invitations
    // does not get them by id either.
    let member = t.app.client();
    let res = member
        .gql(
            "mutation { signIn(input: { email: \"member@b.example\", password: \"correct horse battery\" }) { token } }",
            json!({}),
        )
        .await;
    let token = res.data()["signIn"]["token"].as_str().unwrap().to_owned();
    let member = t.app.client().with_bearer(&token);
    for (ty, id) in &ids {
        let res = member.gql(ops::NODE, json!({ "id": id })).await;
        let node = &res.data()["node"];
        match *ty {
            "Invitation" | "AuditEvent" | "Session" => assert!(node.is_null(), "{ty}: {node}"),
            _ => assert_eq!(node["__typename"], *ty),
        }
    }
}

#[tokio::test]
async fn malformed_and_foreign_ids_are_not_found_everywhere() {
    let (t, ids) = tenant_with_everything().await;
    let id_of = |ty: &str| ids.iter().find(|(t, _)| *t == ty).unwrap().1.clone();
    let owner = t.app.client().with_bearer(&t.owner_b.token);
    let project = id_of("Project");
    let org = id_of("Organization");
    let raw_project = raw_id(&project);
    // Ids that are garbage, another type's, the raw uuid, or hostile text.
    let bad_projects = [
        org.clone(),
        raw_project.clone(),
        "".to_owned(),
        "not an id".to_owned(),
        "UHJvamVjdDpcMA".to_owned(),
        "\u{0}".to_owned(),
        "A".repeat(100_000),
    ];
    for bad in &bad_projects {
        let res = owner
            .gql(ops::RENAME_PROJECT, json!({ "id": bad, "name": "x" }))
            .await;
        res.assert_code("NOT_FOUND");
        let res = owner.gql(ops::PROJECT_ID, json!({ "id": bad })).await;
        assert!(res.data()["project"].is_null());
        if *bad != org {
            let res = owner.gql(ops::NODE, json!({ "id": bad })).await;
            assert!(res.data()["node"].is_null());
        }
    }
    for (mutation, vars) in [
        (ops::DELETE_ORGANIZATION, json!({ "id": project })),
        (ops::REMOVE_MEMBER, json!({ "id": org })),
        (ops::REVOKE_SESSION, json!({ "id": id_of("Membership") })),
        (ops::REVOKE_INVITATION, json!({ "id": project })),
        (
            "mutation($id: ID!) { createProject(input: { organizationId: $id, name: \"x\" }) { id } }",
            json!({ "id": raw_id(&org) }),
        ),
        (
            "mutation($org: ID!, $to: ID!) { transferOwnership(organizationId: $org, toUserId: $to) { id } }",
            json!({ "org": org, "to": org }),
        ),
    ] {
        let res = owner.gql(mutation, vars).await;
        res.assert_code("NOT_FOUND");
    }
    let res = owner
        .gql(ops::ORGANIZATION_ID, json!({ "id": raw_id(&org) }))
        .await;
    assert!(res.data()["organization"].is_null());
}

#[tokio::test]
async fn nodes_takes_a_bounded_list() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("many@example.com", "Many").await;
    let ids: Vec<String> = (0..101).map(|_| user.user_id.clone()).collect();
    let res = user.client.gql(ops::NODES, json!({ "ids": ids })).await;
    assert!(matches!(
        res.code().as_str(),
        "BAD_USER_INPUT" | "QUERY_TOO_COMPLEX"
    ));
    let ids: Vec<String> = (0..100).map(|_| user.user_id.clone()).collect();
    let res = user.client.gql(ops::NODES, json!({ "ids": ids })).await;
    assert_eq!(res.data()["nodes"].as_array().unwrap().len(), 100);
}
