//! Organizations: personal ones, teams, roles, leaving and ownership.

use serde_json::{Value, json};

use crate::support::{GqlResponse, PASSWORD, SignedUp, TestApp, ops};

async fn org_of(user: &SignedUp, id: &str) -> Value {
    let res = user
        .client
        .gql(
            "query($id: ID) { organization(id: $id) { id name slug personal viewerRole members { totalCount edges { node { id role user { id email } } } } } }",
            json!({ "id": id }),
        )
        .await;
    res.data()["organization"].clone()
}

fn membership_of(org: &Value, user_id: &str) -> String {
    org["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["user"]["id"] == user_id)
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .expect("a membership")
}

#[tokio::test]
async fn every_sign_up_gets_a_personal_organization() {
    let app = TestApp::spawn().await;
    let ada = app.sign_up("ada@example.com", "Ada Lovelace").await;
    let res = ada.client.gql(ops::MY_ORGANIZATIONS, json!({})).await;
    let orgs = &res.data()["viewer"]["organizations"];
    assert_eq!(orgs["totalCount"], 1);
    let personal = &orgs["edges"][0]["node"];
    assert_eq!(personal["name"], "Ada Lovelace");
    assert_eq!(personal["slug"], "ada-lovelace");
    assert_eq!(personal["personal"], true);
    assert_eq!(personal["viewerRole"], "OWNER");
    assert_eq!(personal["viewerPermissions"].as_array().unwrap().len(), 12);

    // Same name, distinct slug.
    let other = app.sign_up("ada2@example.com", "Ada Lovelace").await;
    let res = other.client.gql(ops::MY_ORGANIZATIONS, json!({})).await;
    assert_eq!(
        res.data()["viewer"]["organizations"]["edges"][0]["node"]["slug"],
        "ada-lovelace-2"
    );

    let id = personal["id"].as_str().unwrap();
    let res = ada
        .client
        .gql(ops::DELETE_ORGANIZATION, json!({ "id": id }))
        .await;
    res.assert_code("CONFLICT");
    let res = ada
        .client
        .gql(ops::LEAVE_ORGANIZATION, json!({ "id": id }))
        .await;
    res.assert_code("CONFLICT");
    let res = ada
        .client
        .gql(
            ops::INVITE_MEMBER,
            json!({ "input": { "organizationId": id, "email": "x@example.com", "role": "MEMBER" } }),
        )
        .await;
    res.assert_code("CONFLICT");
}

#[tokio::test]
async fn teams_are_created_with_checked_unique_slugs() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    const CREATE: &str = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id name slug personal viewerRole } }";
    let res = owner
        .client
        .gql(CREATE, json!({ "input": { "name": "Acme, Inc." } }))
        .await;
    let acme = &res.data()["createOrganization"];
    assert_eq!(acme["slug"], "acme-inc");
    assert_eq!(acme["personal"], false);
    assert_eq!(acme["viewerRole"], "OWNER");

    let res = owner
        .client
        .gql(CREATE, json!({ "input": { "name": "Acme, Inc." } }))
        .await;
    assert_eq!(res.data()["createOrganization"]["slug"], "acme-inc-2");

    let res = owner
        .client
        .gql(
            CREATE,
            json!({ "input": { "name": "Other", "slug": "acme-inc" } }),
        )
        .await;
    res.assert_code("CONFLICT");
    for bad in ["ab", "Has-Caps", "under_score", &"x".repeat(49)] {
        let res = owner
            .client
            .gql(CREATE, json!({ "input": { "name": "Other", "slug": bad } }))
            .await;
        res.assert_code("BAD_USER_INPUT");
        assert_eq!(res.first_error()["extensions"]["field"], "slug", "{bad}");
    }
    let res = owner
        .client
        .gql(CREATE, json!({ "input": { "name": "  " } }))
        .await;
    assert_eq!(res.first_error()["extensions"]["field"], "name");
    let res = app
        .client()
        .gql(CREATE, json!({ "input": { "name": "Anon" } }))
        .await;
    res.assert_code("UNAUTHENTICATED");

    // Found by slug as well as by id.
    let res = owner
        .client
        .gql("{ organization(slug: \"acme-inc\") { name } }", json!({}))
        .await;
    assert_eq!(res.data()["organization"]["name"], "Acme, Inc.");
}

#[tokio::test]
async fn an_organization_can_be_renamed_with_a_new_slug() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("o@example.com", "O").await;
    let org = app.create_org(&owner, "Rename Me").await;
    let res = owner
        .client
        .gql(
            "mutation($id: ID!) { updateOrganization(id: $id, input: { name: \"Renamed\", slug: \"renamed\" }) { name slug } }",
            json!({ "id": org }),
        )
        .await;
    assert_eq!(res.data()["updateOrganization"]["slug"], "renamed");
}

#[tokio::test]
async fn deleting_an_organization_deletes_everything_in_it() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("o@example.com", "O").await;
    let org = app.create_org(&owner, "Delete Me").await;
    let member = app.join_new(&owner, &org, "m@example.com", "MEMBER").await;
    app.invite(&owner, &org, "pending@example.com", "VIEWER")
        .await;
    for table in OWNED_TABLES {
        assert!(rows_of(&app, table, &org).await > 0, "{table} has no rows");
    }

    let res = owner
        .client
        .gql(ops::DELETE_ORGANIZATION, json!({ "id": org }))
        .await;
    assert_eq!(res.data()["deleteOrganization"], true);
    assert!(org_of(&owner, &org).await.is_null());
    let res = member.client.gql(ops::MY_ORGANIZATIONS, json!({})).await;
    assert_eq!(res.data()["viewer"]["organizations"]["totalCount"], 1);

    for table in OWNED_TABLES {
        assert_eq!(
            rows_of(&app, table, &org).await,
            0,
            "{table} kept rows of a deleted organization"
        );
    }
}

/// The tables an organization's rows live in, besides its own.
const OWNED_TABLES: [&str; 4] = [
    "memberships",
    "invitations",
    "audit_events",
    "usage_counters",
];

async fn rows_of(app: &TestApp, table: &str, org: &str) -> usize {
    use sea_orm::ConnectionTrait;
    app.db
        .query_all_raw(groundwork::db::statement(
            app.db.get_database_backend(),
            &format!("SELECT organization_id FROM {table} WHERE organization_id = $1"),
            vec![crate::support::row_id(org).into()],
        ))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn roles_change_within_the_rules() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Roles").await;
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    let view = org_of(&owner, &org).await;
    let owner_m = membership_of(&view, &owner.user_id);
    let member_m = membership_of(&view, &member.user_id);
    let admin_m = membership_of(&view, &admin.user_id);
    const UPDATE: &str =
        "mutation($m: ID!, $r: Role!) { updateMemberRole(membershipId: $m, role: $r) { role } }";

    // An admin manages non-owners, but cannot touch owners or make one.
    let res = admin
        .client
        .gql(UPDATE, json!({ "m": member_m, "r": "VIEWER" }))
        .await;
    assert_eq!(res.data()["updateMemberRole"]["role"], "VIEWER");
    admin
        .client
        .gql(UPDATE, json!({ "m": member_m, "r": "OWNER" }))
        .await
        .assert_code("FORBIDDEN");
    admin
        .client
        .gql(UPDATE, json!({ "m": owner_m, "r": "MEMBER" }))
        .await
        .assert_code("FORBIDDEN");
    admin
        .client
        .gql(ops::REMOVE_MEMBER, json!({ "id": owner_m }))
        .await
        .assert_code("FORBIDDEN");
    // A member changes nothing.
    member
        .client
        .gql(UPDATE, json!({ "m": admin_m, "r": "VIEWER" }))
        .await
        .assert_code("FORBIDDEN");
    // The last owner cannot step down.
    owner
        .client
        .gql(UPDATE, json!({ "m": owner_m, "r": "ADMIN" }))
        .await
        .assert_code("CONFLICT");

    // Takes effect on the very next request.
    let res = member
        .client
        .gql(
            "query($id: ID) { organization(id: $id) { viewerRole } }",
            json!({ "id": org }),
        )
        .await;
    assert_eq!(res.data()["organization"]["viewerRole"], "VIEWER");

    let res = admin
        .client
        .gql(ops::REMOVE_MEMBER, json!({ "id": member_m }))
        .await;
    assert_eq!(res.data()["removeMember"], true);
    assert!(org_of(&member, &org).await.is_null());
}

const TRANSFER: &str = "mutation($id: ID!, $to: ID!) { transferOwnership(organizationId: $id, toUserId: $to) { viewerRole } }";

/// An organization with its owner, an admin, and a member.
async fn handover(app: &TestApp) -> (String, [SignedUp; 3]) {
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Transfer").await;
    let admin = app
        .join_new(&owner, &org, "admin@example.com", "ADMIN")
        .await;
    let member = app
        .join_new(&owner, &org, "leaver@example.com", "MEMBER")
        .await;
    (org, [owner, admin, member])
}

async fn leave(user: &SignedUp, org: &str) -> GqlResponse {
    user.client
        .gql(ops::LEAVE_ORGANIZATION, json!({ "id": org }))
        .await
}

#[tokio::test]
async fn a_member_may_leave() {
    let app = TestApp::spawn().await;
    let (org, [_, _, member]) = handover(&app).await;
    assert_eq!(leave(&member, &org).await.data()["leaveOrganization"], true);
}

#[tokio::test]
async fn the_only_owner_may_not_leave() {
    let app = TestApp::spawn().await;
    let (org, [owner, ..]) = handover(&app).await;
    leave(&owner, &org).await.assert_code("CONFLICT");
}

#[tokio::test]
async fn only_the_owner_may_transfer_ownership() {
    let app = TestApp::spawn().await;
    let (org, [_, admin, _]) = handover(&app).await;
    admin
        .client
        .gql(TRANSFER, json!({ "id": org, "to": admin.user_id }))
        .await
        .assert_code("FORBIDDEN");
}

#[tokio::test]
async fn ownership_goes_only_to_a_member() {
    let app = TestApp::spawn().await;
    let (org, [owner, _, leaver]) = handover(&app).await;
    leave(&leaver, &org).await.data();
    owner
        .client
        .gql(TRANSFER, json!({ "id": org, "to": leaver.user_id }))
        .await
        .assert_code("NOT_FOUND");
}

#[tokio::test]
async fn a_transfer_makes_the_owner_an_admin_who_may_leave() {
    let app = TestApp::spawn().await;
    let (org, [owner, admin, _]) = handover(&app).await;
    let res = owner
        .client
        .gql(TRANSFER, json!({ "id": org, "to": admin.user_id }))
        .await;
    assert_eq!(res.data()["transferOwnership"]["viewerRole"], "ADMIN");
    assert_eq!(org_of(&admin, &org).await["viewerRole"], "OWNER");
    assert_eq!(leave(&owner, &org).await.data()["leaveOrganization"], true);
}

#[tokio::test]
async fn an_only_owner_with_members_cannot_delete_the_account() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Keep").await;
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;
    owner
        .client
        .gql(ops::DELETE_ACCOUNT, json!({ "p": PASSWORD }))
        .await
        .assert_code("CONFLICT");
    // A member leaves no organization ownerless; their account goes.
    assert_eq!(
        member
            .client
            .gql(ops::DELETE_ACCOUNT, json!({ "p": PASSWORD }))
            .await
            .data()["deleteAccount"],
        true
    );
    // Alone again, the owner can go, and the organizations go with them.
    assert_eq!(
        owner
            .client
            .gql(ops::DELETE_ACCOUNT, json!({ "p": PASSWORD }))
            .await
            .data()["deleteAccount"],
        true
    );
    use sea_orm::{ConnectionTrait, Statement};
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM organizations",
        ))
        .await
        .unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn pages_of_organizations_walk_every_row_once() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("pager@example.com", "Pager").await;
    for i in 0..4 {
        app.create_org(&owner, &format!("Team {i}")).await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let res = owner
            .client
            .gql(
                "query($after: String) { viewer { organizations(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } } }",
                json!({ "after": after }),
            )
            .await;
        let conn = res.data()["viewer"]["organizations"].clone();
        assert_eq!(conn["totalCount"], 5);
        for e in conn["edges"].as_array().unwrap() {
            seen.push(e["node"]["name"].as_str().unwrap().to_owned());
        }
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, ["Pager", "Team 0", "Team 1", "Team 2", "Team 3"]);

    let res = owner
        .client
        .gql(
            "{ viewer { organizations(after: \"garbage\") { totalCount } } }",
            json!({}),
        )
        .await;
    res.assert_code("BAD_USER_INPUT");
}
