//! `totalCount` and usage come from counters kept in each change's
//! transaction; under concurrent changes of every kind they must still equal
//! what a `COUNT(*)` of the rows says.

use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use groundwork::ids::{OrganizationId, TypedId};

use crate::support::{SignedUp, TestApp, create_project, ops};

const COUNTS: &str = "query($org: ID) { organization(id: $org) {
  entitlements { projects { used } members { used } }
  active: projects { totalCount }
  archived: projects(filter: { archived: true }) { totalCount }
  members { totalCount }
} }";

async fn rows(app: &TestApp, sql: &str, org: &str) -> u64 {
    let backend = app.db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace("$1", "?"),
    };
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [OrganizationId::parse_global(org).unwrap().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap() as u64
}

async fn mutate(user: &SignedUp, document: &str, id: &str) {
    user.client.gql(document, json!({ "id": id })).await.data();
}

#[tokio::test]
async fn concurrent_creates_archives_restores_and_deletes_keep_the_counts_exact() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Counted").await;
    app.grant("counted", "team");
    let mut existing = Vec::new();
    for i in 0..12 {
        existing.push(create_project(&owner, &org, &format!("Existing {i}")).await);
    }
    // Four archived beforehand, so that restores have something to restore.
    for id in &existing[..4] {
        mutate(&owner, ops::ARCHIVE_PROJECT, id).await;
    }
    let member = app
        .join_new(&owner, &org, "member@example.com", "MEMBER")
        .await;

    let mut changes: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>> = Vec::new();
    for i in 0..8 {
        let (owner, member, org) = (&owner, &member, &org);
        changes.push(Box::pin(async move {
            let by = if i % 2 == 0 { owner } else { member };
            create_project(by, org, &format!("New {i}")).await;
        }));
    }
    for id in &existing[..2] {
        changes.push(Box::pin(mutate(&owner, ops::RESTORE_PROJECT, id)));
    }
    for id in &existing[2..4] {
        changes.push(Box::pin(mutate(&owner, ops::DELETE_PROJECT, id)));
    }
    for id in &existing[4..8] {
        changes.push(Box::pin(mutate(&owner, ops::ARCHIVE_PROJECT, id)));
    }
    for id in &existing[8..10] {
        changes.push(Box::pin(mutate(&owner, ops::DELETE_PROJECT, id)));
    }
    join_all(changes).await;

    let active = rows(
        &app,
        "SELECT COUNT(*) FROM projects WHERE organization_id = $1 AND archived_at IS NULL",
        &org,
    )
    .await;
    let archived = rows(
        &app,
        "SELECT COUNT(*) FROM projects WHERE organization_id = $1 AND archived_at IS NOT NULL",
        &org,
    )
    .await;
    // Active: 8 - 4 archived - 2 deleted + 2 restored + 8 new. Archived:
    // 4 - 2 restored - 2 deleted + 4 newly archived.
    assert_eq!((active, archived), (12, 4));
    let res = owner.client.gql(COUNTS, json!({ "org": org })).await;
    let o = &res.data()["organization"];
    assert_eq!(o["active"]["totalCount"], active);
    assert_eq!(o["entitlements"]["projects"]["used"], active);
    assert_eq!(o["archived"]["totalCount"], archived);
}

#[tokio::test]
async fn concurrent_joins_and_removals_keep_the_member_count_exact() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Members counted").await;
    app.grant("members-counted", "team");
    let mut leaving = Vec::new();
    for i in 0..4 {
        let user = app
            .join_new(&owner, &org, &format!("old{i}@example.com"), "MEMBER")
            .await;
        leaving.push(user);
    }
    let memberships = owner.client.gql(ops::MEMBERS, json!({ "id": org })).await;
    let ids: Vec<String> = memberships.data()["organization"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            leaving
                .iter()
                .any(|u| e["node"]["user"]["id"] == u.user_id.as_str())
        })
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 4);

    let mut changes: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>> = Vec::new();
    for id in &ids[..2] {
        changes.push(Box::pin(mutate(&owner, ops::REMOVE_MEMBER, id)));
    }
    for user in &leaving[2..] {
        let org = &org;
        changes.push(Box::pin(async move {
            user.client
                .gql(ops::LEAVE_ORGANIZATION, json!({ "id": org }))
                .await
                .data();
        }));
    }
    for i in 0..3 {
        let (app, owner, org) = (&app, &owner, &org);
        changes.push(Box::pin(async move {
            app.join_new(owner, org, &format!("new{i}@example.com"), "VIEWER")
                .await;
        }));
    }
    join_all(changes).await;

    let members = rows(
        &app,
        "SELECT COUNT(*) FROM memberships WHERE organization_id = $1",
        &org,
    )
    .await;
    assert_eq!(members, 4);
    let res = owner.client.gql(COUNTS, json!({ "org": org })).await;
    let o = &res.data()["organization"];
    assert_eq!(o["members"]["totalCount"], members);
    assert_eq!(o["entitlements"]["members"]["used"], members);
}
