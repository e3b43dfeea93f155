//! Projects: the worked example, its rules, lists and isolation.

use serde_json::{Value, json};

use crate::{
    isolation::{snapshot, two_tenants},
    support::{SignedUp, TestApp, ops},
};

pub async fn create(user: &SignedUp, org: &str, name: &str) -> String {
    let res = user
        .client
        .gql(ops::CREATE_PROJECT, json!({ "org": org, "name": name }))
        .await;
    res.data()["createProject"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn names(user: &SignedUp, org: &str, filter: Value) -> Vec<String> {
    let res = user
        .client
        .gql(
            ops::LIST_PROJECTS,
            json!({ "org": org, "first": 100, "filter": filter }),
        )
        .await;
    res.data()["organization"]["projects"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_project_lives_through_create_update_archive_restore_delete() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Lifecycle").await;

    let res = owner
        .client
        .gql(
            ops::CREATE_PROJECT,
            json!({ "org": org, "name": "  Apollo ", "d": "To the moon" }),
        )
        .await;
    let p = res.data()["createProject"].clone();
    assert_eq!(p["name"], "Apollo");
    assert_eq!(p["description"], "To the moon");
    assert_eq!(p["createdBy"]["id"], owner.user_id.as_str());
    assert_eq!(p["organization"]["id"], org.as_str());
    let id = p["id"].as_str().unwrap();

    let res = owner
        .client
        .gql(
            ops::UPDATE_PROJECT,
            json!({ "id": id, "name": "Apollo 11", "d": "" }),
        )
        .await;
    assert_eq!(res.data()["updateProject"]["name"], "Apollo 11");
    assert!(res.data()["updateProject"]["description"].is_null());

    assert!(
        !owner
            .client
            .gql(ops::ARCHIVE_PROJECT, json!({ "id": id }))
            .await
            .data()["archiveProject"]["archivedAt"]
            .is_null()
    );
    assert!(names(&owner, &org, json!(null)).await.is_empty());
    assert_eq!(
        names(&owner, &org, json!({ "archived": true })).await,
        ["Apollo 11"]
    );
    assert!(
        owner
            .client
            .gql(ops::RESTORE_PROJECT, json!({ "id": id }))
            .await
            .data()["restoreProject"]["archivedAt"]
            .is_null()
    );
    assert_eq!(names(&owner, &org, json!({})).await, ["Apollo 11"]);

    let read = owner
        .client
        .gql(ops::PROJECT_NAME, json!({ "id": id }))
        .await;
    assert_eq!(read.data()["project"]["name"], "Apollo 11");

    assert_eq!(
        owner
            .client
            .gql(ops::DELETE_PROJECT, json!({ "id": id }))
            .await
            .data()["deleteProject"],
        true
    );
    let gone = owner
        .client
        .gql(ops::PROJECT_NAME, json!({ "id": id }))
        .await;
    assert!(gone.data()["project"].is_null());
    owner
        .client
        .gql(ops::DELETE_PROJECT, json!({ "id": id }))
        .await
        .assert_code("NOT_FOUND");
}

#[tokio::test]
async fn names_and_descriptions_are_checked() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Checks").await;
    for (name, description, field) in [
        ("", None, "name"),
        ("   ", None, "name"),
        (&*"n".repeat(101), None, "name"),
        ("ok", Some("d".repeat(2001)), "description"),
    ] {
        let res = owner
            .client
            .gql(
                ops::CREATE_PROJECT,
                json!({ "org": org, "name": name, "d": description }),
            )
            .await;
        res.assert_code("BAD_USER_INPUT");
        assert_eq!(res.first_error()["extensions"]["field"], field);
    }
    let res = owner
        .client
        .gql(
            ops::CREATE_PROJECT,
            json!({ "org": org, "name": "n".repeat(100), "d": "d".repeat(2000) }),
        )
        .await;
    res.data();
}

#[tokio::test]
async fn members_change_their_own_projects_and_viewers_none() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Ownership").await;
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    app.grant("ownership", "pro");
    let viewer = app
        .join_new(&owner, &org, "viewer@example.com", "VIEWER")
        .await;

    let owners = create(&owner, &org, "Owner's").await;
    let mine = create(&member, &org, "Member's").await;
    viewer
        .client
        .gql(
            ops::CREATE_PROJECT,
            json!({ "org": org, "name": "Viewer's" }),
        )
        .await
        .assert_code("FORBIDDEN");

    member
        .client
        .gql(ops::UPDATE_PROJECT, json!({ "id": mine, "name": "Mine" }))
        .await
        .data();
    member
        .client
        .gql(ops::ARCHIVE_PROJECT, json!({ "id": mine }))
        .await
        .data();
    member
        .client
        .gql(ops::RESTORE_PROJECT, json!({ "id": mine }))
        .await
        .data();
    for op in [
        ops::UPDATE_PROJECT,
        ops::ARCHIVE_PROJECT,
        ops::DELETE_PROJECT,
    ] {
        member
            .client
            .gql(op, json!({ "id": owners, "name": "Taken" }))
            .await
            .assert_code("FORBIDDEN");
        viewer
            .client
            .gql(op, json!({ "id": mine, "name": "Taken" }))
            .await
            .assert_code("FORBIDDEN");
    }
    // Viewers read.
    assert_eq!(names(&viewer, &org, json!({})).await.len(), 2);
    admin
        .client
        .gql(
            ops::UPDATE_PROJECT,
            json!({ "id": owners, "name": "Renamed by admin" }),
        )
        .await
        .data();
    admin
        .client
        .gql(ops::DELETE_PROJECT, json!({ "id": mine }))
        .await
        .data();
    member
        .client
        .gql(ops::DELETE_PROJECT, json!({ "id": owners }))
        .await
        .assert_code("FORBIDDEN");
}

#[tokio::test]
async fn walking_the_pages_returns_every_row_once_in_order_while_rows_are_added() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Pages").await;
    app.grant("pages", "team");
    for i in 0..10 {
        create(&owner, &org, &format!("P{i:02}")).await;
    }
    let expected: Vec<String> = (0..10).rev().map(|i| format!("P{i:02}")).collect();

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut added = 0;
    loop {
        let res = owner
            .client
            .gql(
                ops::LIST_PROJECTS,
                json!({ "org": org, "first": 3, "after": after }),
            )
            .await;
        let conn = res.data()["organization"]["projects"].clone();
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        for e in conn["edges"].as_array().unwrap() {
            seen.push(e["node"]["name"].as_str().unwrap().to_owned());
        }
        // Rows added mid-walk are newer than the cursor: they neither shift
        // nor repeat what comes next.
        create(&owner, &org, &format!("New{added}")).await;
        added += 1;
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, expected);

    let total = owner
        .client
        .gql(ops::LIST_PROJECTS, json!({ "org": org, "first": 1 }))
        .await;
    assert_eq!(
        total.data()["organization"]["projects"]["totalCount"],
        10 + added
    );
}

#[tokio::test]
async fn search_filters_by_name_ignoring_case() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Search").await;
    for name in ["Website", "Mobile web app", "Backend"] {
        create(&owner, &org, name).await;
    }
    assert_eq!(
        names(&owner, &org, json!({ "search": "WEB" })).await,
        ["Mobile web app", "Website"]
    );
    assert!(
        names(&owner, &org, json!({ "search": "%" }))
            .await
            .is_empty()
    );
    let res = owner
        .client
        .gql(
            ops::LIST_PROJECTS,
            json!({ "org": org, "filter": { "search": "web" } }),
        )
        .await;
    assert_eq!(res.data()["organization"]["projects"]["totalCount"], 2);
}

#[tokio::test]
async fn project_ids_of_another_organization_are_not_found() {
    let t = two_tenants().await;
    let project_b = create(&t.owner_b, &t.org_b, "Secret plans").await;
    let before = snapshot(&t).await;
    let c = &t.intruder.client;
    let res = c.gql(ops::PROJECT_NAME, json!({ "id": project_b })).await;
    assert!(res.data()["project"].is_null());
    for op in [
        ops::UPDATE_PROJECT,
        ops::ARCHIVE_PROJECT,
        ops::RESTORE_PROJECT,
        ops::DELETE_PROJECT,
    ] {
        let res = c.gql(op, json!({ "id": project_b, "name": "Pwned" })).await;
        assert_eq!(res.code(), "NOT_FOUND", "{op}: {}", res.body);
    }
    c.gql(
        ops::CREATE_PROJECT,
        json!({ "org": t.org_b, "name": "Planted" }),
    )
    .await
    .assert_code("NOT_FOUND");
    let res = c.gql(ops::LIST_PROJECTS, json!({ "org": t.org_b })).await;
    assert!(res.data()["organization"].is_null());
    let own = c.gql(ops::LIST_PROJECTS, json!({ "org": t.org_a })).await;
    assert_eq!(own.data()["organization"]["projects"]["totalCount"], 0);

    let after = t
        .app
        .client()
        .with_bearer(&t.owner_b.token)
        .gql(
            "query($id: ID!) { project(id: $id) { name archivedAt } }",
            json!({ "id": project_b }),
        )
        .await;
    assert_eq!(after.data()["project"]["name"], "Secret plans");
    assert!(after.data()["project"]["archivedAt"].is_null());
    assert_eq!(snapshot(&t).await, before);
}
