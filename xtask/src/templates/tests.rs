//! __Names__: made from the Projects template; their life, rules, lists,
//! limit, live events and isolation.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    SignedUp, TestApp, TestConfig,
    ws::{Auth, Subscription},
};

const CREATE: &str = "mutation($org: ID!, $name: String!, $d: String) { create__Name__(input: { organizationId: $org, name: $name, description: $d }) { id name description createdBy { id } organization { id } } }";
const UPDATE: &str = "mutation($id: ID!, $name: String, $d: String) { update__Name__(id: $id, input: { name: $name, description: $d }) { id name description } }";
const DELETE: &str = "mutation($id: ID!) { delete__Name__(id: $id) }";
const READ: &str = "query($id: ID!) { __nameCamel__(id: $id) { id name } node(id: $id) { id ... on __Name__ { name } } }";
const LIST: &str = "query($org: ID, $first: Int, $after: String) { organization(id: $org) { __namesCamel__(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id name } } } } }";
const EVENTS: &str = "subscription($org: ID!) { __nameCamel__Events(organizationId: $org) { kind __nameCamel__Id __nameCamel__ { name } } }";

/// A server whose free plan allows `limit` __words_plural__ (and any number
/// of members, so every role fits in one organization).
async fn app_with_limit(limit: u32) -> TestApp {
    let path = std::env::temp_dir().join(format!(
        "__names__-plans-{}.toml",
        uuid::Uuid::now_v7().simple()
    ));
    let catalog = format!(
        "free_plan = \"free\"\n[[plans]]\nid = \"free\"\nname = \"Free\"\nlimits = {{ __names__ = {limit} }}\n"
    );
    std::fs::write(&path, catalog).unwrap();
    TestApp::spawn_with(TestConfig::default().var("PLANS_FILE", path.display().to_string())).await
}

async fn create(user: &SignedUp, org: &str, name: &str) -> String {
    let res = user
        .client
        .gql(CREATE, json!({ "org": org, "name": name }))
        .await;
    res.data()["create__Name__"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn list(user: &SignedUp, org: &str, first: i32, after: Option<&str>) -> Value {
    let res = user
        .client
        .gql(LIST, json!({ "org": org, "first": first, "after": after }))
        .await;
    res.data()["organization"]["__namesCamel__"].clone()
}

#[tokio::test]
async fn a___name___is_created_read_updated_and_deleted() {
    let app = app_with_limit(100).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Lifecycle").await;

    let res = owner
        .client
        .gql(CREATE, json!({ "org": org, "name": "  First ", "d": "About it" }))
        .await;
    let created = res.data()["create__Name__"].clone();
    assert_eq!(created["name"], "First");
    assert_eq!(created["description"], "About it");
    assert_eq!(created["createdBy"]["id"], owner.user_id.as_str());
    assert_eq!(created["organization"]["id"], org.as_str());
    let id = created["id"].as_str().unwrap();

    let read = owner.client.gql(READ, json!({ "id": id })).await;
    assert_eq!(read.data()["__nameCamel__"]["name"], "First");
    assert_eq!(read.data()["node"]["name"], "First");

    let res = owner
        .client
        .gql(UPDATE, json!({ "id": id, "name": "Renamed", "d": "" }))
        .await;
    assert_eq!(res.data()["update__Name__"]["name"], "Renamed");
    assert!(res.data()["update__Name__"]["description"].is_null());

    let res = owner.client.gql(DELETE, json!({ "id": id })).await;
    assert_eq!(res.data()["delete__Name__"], true);
    let read = owner.client.gql(READ, json!({ "id": id })).await;
    assert!(read.data()["__nameCamel__"].is_null());
    assert_eq!(list(&owner, &org, 10, None).await["totalCount"], 0);

    owner
        .client
        .gql(CREATE, json!({ "org": org, "name": "a\u{0}b" }))
        .await
        .assert_code("BAD_USER_INPUT");
}

#[tokio::test]
async fn another_organization_sees_and_changes_nothing() {
    let app = app_with_limit(100).await;
    let owner = app.sign_up("owner@a.example", "Owner A").await;
    let org = app.create_org(&owner, "Tenant A").await;
    let id = create(&owner, &org, "Private").await;
    let intruder = app.sign_up("intruder@b.example", "Intruder").await;

    let read = intruder.client.gql(READ, json!({ "id": id })).await;
    assert!(read.data()["__nameCamel__"].is_null());
    assert!(read.data()["node"].is_null());
    intruder
        .client
        .gql(UPDATE, json!({ "id": id, "name": "Mine now" }))
        .await
        .assert_code("NOT_FOUND");
    intruder
        .client
        .gql(DELETE, json!({ "id": id }))
        .await
        .assert_code("NOT_FOUND");
    intruder
        .client
        .gql(CREATE, json!({ "org": org, "name": "Planted" }))
        .await
        .assert_code("NOT_FOUND");
    // An id of another type, or no id at all, finds nothing either.
    intruder
        .client
        .gql(DELETE, json!({ "id": org }))
        .await
        .assert_code("NOT_FOUND");
    intruder
        .client
        .gql(DELETE, json!({ "id": "not-an-id" }))
        .await
        .assert_code("NOT_FOUND");

    let listed = list(&owner, &org, 10, None).await;
    assert_eq!(listed["totalCount"], 1);
    assert_eq!(listed["edges"][0]["node"]["name"], "Private");
}

#[tokio::test]
async fn members_change_their_own_and_viewers_only_read() {
    let app = app_with_limit(100).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Roles").await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    let other = app
        .join_new(&owner, &org, "other@example.com", "MEMBER")
        .await;
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let viewer = app
        .join_new(&owner, &org, "viewer@example.com", "VIEWER")
        .await;

    let mine = create(&member, &org, "Member's").await;
    viewer
        .client
        .gql(CREATE, json!({ "org": org, "name": "Viewer's" }))
        .await
        .assert_code("FORBIDDEN");
    let read = viewer.client.gql(READ, json!({ "id": mine })).await;
    assert_eq!(read.data()["__nameCamel__"]["name"], "Member's");
    for (who, code) in [(&viewer, "FORBIDDEN"), (&other, "FORBIDDEN")] {
        who.client
            .gql(UPDATE, json!({ "id": mine, "name": "Taken" }))
            .await
            .assert_code(code);
        who.client
            .gql(DELETE, json!({ "id": mine }))
            .await
            .assert_code(code);
    }
    let res = member
        .client
        .gql(UPDATE, json!({ "id": mine, "name": "Still mine" }))
        .await;
    assert_eq!(res.data()["update__Name__"]["name"], "Still mine");
    let res = admin
        .client
        .gql(UPDATE, json!({ "id": mine, "name": "Admin's edit" }))
        .await;
    assert_eq!(res.data()["update__Name__"]["name"], "Admin's edit");
    let res = admin.client.gql(DELETE, json!({ "id": mine })).await;
    assert_eq!(res.data()["delete__Name__"], true);
}

#[tokio::test]
async fn pages_walk_every___name___once_newest_first() {
    let app = app_with_limit(100).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Pages").await;
    for n in 0..5 {
        create(&owner, &org, &format!("Item {n}")).await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = list(&owner, &org, 2, after.as_deref()).await;
        assert_eq!(page["totalCount"], 5);
        for edge in page["edges"].as_array().unwrap() {
            seen.push(edge["node"]["name"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, ["Item 4", "Item 3", "Item 2", "Item 1", "Item 0"]);
    owner
        .client
        .gql(LIST, json!({ "org": org, "after": "forged" }))
        .await
        .assert_code("BAD_USER_INPUT");
}

#[tokio::test]
async fn the_plan_limits_how_many_there_are() {
    let app = app_with_limit(2).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Limited").await;
    let first = create(&owner, &org, "One").await;
    create(&owner, &org, "Two").await;
    let refused = owner
        .client
        .gql(CREATE, json!({ "org": org, "name": "Three" }))
        .await;
    refused.assert_code("PLAN_LIMIT_REACHED");
    assert_eq!(refused.first_error()["extensions"]["limit"], 2);
    assert_eq!(refused.first_error()["extensions"]["used"], 2);
    let usage = owner
        .client
        .gql(
            "query($org: ID) { organization(id: $org) { entitlements { usage { resource used limit } } } }",
            json!({ "org": org }),
        )
        .await;
    let usage = usage.data()["organization"]["entitlements"]["usage"].clone();
    let mine = usage
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["resource"] == "__names__")
        .cloned()
        .unwrap();
    assert_eq!(mine, json!({ "resource": "__names__", "used": 2, "limit": 2 }));
    // Deleting one makes room again.
    owner
        .client
        .gql(DELETE, json!({ "id": first }))
        .await
        .data();
    create(&owner, &org, "Three").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_receive_live_events() {
    let app = app_with_limit(100).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Live").await;
    let mut events = Subscription::start(
        &app.base_url,
        Auth::Bearer(&owner.token),
        EVENTS,
        json!({ "org": org }),
    )
    .await;
    let id = create(&owner, &org, "Streamed").await;
    let next = events.next().await;
    let event = &next["payload"]["data"]["__nameCamel__Events"];
    assert_eq!(event["kind"], "CREATED", "{next}");
    assert_eq!(event["__nameCamel__Id"], id.as_str());
    assert_eq!(event["__nameCamel__"]["name"], "Streamed");
    owner
        .client
        .gql(DELETE, json!({ "id": id }))
        .await
        .data();
    let deleted = events.next().await;
    let event = &deleted["payload"]["data"]["__nameCamel__Events"];
    assert_eq!(event["kind"], "DELETED", "{deleted}");
    assert!(event["__nameCamel__"].is_null());

    // Someone outside the organization cannot listen.
    let outsider = app.sign_up("outsider@example.com", "Outsider").await;
    let mut refused = Subscription::start(
        &app.base_url,
        Auth::Bearer(&outsider.token),
        EVENTS,
        json!({ "org": org }),
    )
    .await;
    let answer = refused.next().await;
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{answer}"
    );
    events.expect_silence(Duration::from_millis(300)).await;
}
