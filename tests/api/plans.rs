//! Plans and entitlements: limits that hold under concurrency, grants that
//! lift them.

use serde_json::{Value, json};

use crate::support::{SignedUp, TestApp, create_project, ops};

async fn entitlements(app: &TestApp, token: &str, org: &str) -> Value {
    app.client()
        .with_bearer(token)
        .gql(ops::ENTITLEMENTS, json!({ "id": org }))
        .await
        .data()["organization"]["entitlements"]
        .clone()
}

#[tokio::test]
async fn the_catalog_is_public() {
    let app = TestApp::spawn().await;
    let res = app
        .client()
        .gql("{ plans { id name features limits { maxProjects maxMembers } prices { interval amount currency perSeat } } }", json!({}))
        .await;
    let plans = res.data()["plans"].as_array().unwrap().clone();
    let ids: Vec<&str> = plans.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["free", "pro", "team"]);
    assert_eq!(
        plans[0]["limits"],
        json!({ "maxProjects": 3, "maxMembers": 3 })
    );
    assert_eq!(plans[1]["features"], json!(["AUDIT_LOG"]));
    assert_eq!(
        plans[2]["limits"],
        json!({ "maxProjects": null, "maxMembers": null })
    );
    assert_eq!(plans[2]["prices"][0]["perSeat"], true);
}

#[tokio::test]
async fn a_plans_file_replaces_the_catalog() {
    let path = std::env::temp_dir().join(format!("plans-{}.toml", uuid::Uuid::now_v7().simple()));
    std::fs::write(
        &path,
        "free_plan = \"hobby\"\n[[plans]]\nid = \"hobby\"\nname = \"Hobby\"\nlimits = { projects = 1, members = 1 }\n",
    )
    .unwrap();
    let app = TestApp::spawn_with(
        crate::support::TestConfig::default().var("PLANS_FILE", path.display().to_string()),
    )
    .await;
    let owner = app.sign_up("o@example.com", "O").await;
    let org = app.create_org(&owner, "Hobby Org").await;
    let e = entitlements(&app, &owner.token, &org).await;
    assert_eq!(e["plan"]["id"], "hobby");
    assert_eq!(e["projects"], json!({ "used": 0, "limit": 1 }));
    create_project(&owner, &org, "Only one").await;
    owner
        .client
        .gql(ops::CREATE_PROJECT, json!({ "org": org, "name": "Two" }))
        .await
        .assert_code("PLAN_LIMIT_REACHED");
    std::fs::remove_file(path).ok();
}

/// A free organization, "limited", with its three projects.
async fn at_the_project_limit(app: &TestApp) -> (SignedUp, String, Vec<String>) {
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Limited").await;
    let mut created = Vec::new();
    for name in ["P0", "P1", "P2"] {
        created.push(create_project(&owner, &org, name).await);
    }
    (owner, org, created)
}

#[tokio::test]
async fn a_new_organization_is_on_the_free_plan() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Limited").await;
    let e = entitlements(&app, &owner.token, &org).await;
    assert_eq!(e["plan"]["id"], "free");
    assert_eq!(e["features"], json!([]));
    assert_eq!(e["members"], json!({ "used": 1, "limit": 3 }));
}

#[tokio::test]
async fn a_project_past_the_limit_is_refused_with_the_limit_and_the_count() {
    let app = TestApp::spawn().await;
    let (owner, org, _) = at_the_project_limit(&app).await;
    let refused = owner
        .client
        .gql(ops::CREATE_PROJECT, json!({ "org": org, "name": "P3" }))
        .await;
    refused.assert_code("PLAN_LIMIT_REACHED");
    let ext = &refused.first_error()["extensions"];
    assert_eq!(
        (ext["limit"].as_u64(), ext["used"].as_u64()),
        (Some(3), Some(3))
    );
}

#[tokio::test]
async fn archived_projects_do_not_count_towards_the_limit() {
    let app = TestApp::spawn().await;
    let (owner, org, created) = at_the_project_limit(&app).await;
    owner
        .client
        .gql(ops::ARCHIVE_PROJECT, json!({ "id": created[0] }))
        .await
        .data();
    create_project(&owner, &org, "P3").await;
}

#[tokio::test]
async fn restoring_a_project_is_held_to_the_limit() {
    let app = TestApp::spawn().await;
    let (owner, org, created) = at_the_project_limit(&app).await;
    owner
        .client
        .gql(ops::ARCHIVE_PROJECT, json!({ "id": created[0] }))
        .await
        .data();
    create_project(&owner, &org, "P3").await;
    owner
        .client
        .gql(ops::RESTORE_PROJECT, json!({ "id": created[0] }))
        .await
        .assert_code("PLAN_LIMIT_REACHED");
}

#[tokio::test]
async fn a_grant_lifts_the_limit_and_brings_the_plans_features() {
    let app = TestApp::spawn().await;
    let (owner, org, _) = at_the_project_limit(&app).await;
    app.grant("limited", "pro");
    let e = entitlements(&app, &owner.token, &org).await;
    assert_eq!(e["plan"]["id"], "pro");
    assert_eq!(e["features"], json!(["AUDIT_LOG"]));
    assert_eq!(e["projects"], json!({ "used": 3, "limit": 50 }));
    create_project(&owner, &org, "P3").await;
}

#[tokio::test]
async fn a_revoked_grant_keeps_every_project_readable_and_refuses_new_ones() {
    let app = TestApp::spawn().await;
    let (owner, org, _) = at_the_project_limit(&app).await;
    app.grant("limited", "pro");
    create_project(&owner, &org, "P3").await;
    let out = app.cli(&["billing", "revoke", "--org", "limited"]);
    assert!(out.status.success());
    let e = entitlements(&app, &owner.token, &org).await;
    assert_eq!(e["projects"], json!({ "used": 4, "limit": 3 }));
    owner
        .client
        .gql(ops::CREATE_PROJECT, json!({ "org": org, "name": "P4" }))
        .await
        .assert_code("PLAN_LIMIT_REACHED");
    let list = owner
        .client
        .gql(ops::PROJECT_COUNT, json!({ "id": org }))
        .await;
    assert_eq!(list.data()["organization"]["projects"]["totalCount"], 4);
}

#[tokio::test]
async fn a_grant_past_its_end_date_gives_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Expiring").await;
    let out = app.cli(&[
        "billing",
        "grant",
        "--org",
        "expiring",
        "--plan",
        "pro",
        "--until",
        "2000-01-01",
    ]);
    assert!(out.status.success());
    assert_eq!(
        entitlements(&app, &owner.token, &org).await["plan"]["id"],
        "free"
    );
}

#[tokio::test]
async fn a_grant_of_what_does_not_exist_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    app.create_org(&owner, "Expiring").await;
    let cases: [(&str, &[&str]); 3] = [
        (
            "an unknown plan",
            &["--org", "expiring", "--plan", "platinum"],
        ),
        (
            "an unknown organization",
            &["--org", "nobody-here", "--plan", "pro"],
        ),
        (
            "an end that is no date",
            &["--org", "expiring", "--plan", "pro", "--until", "soon"],
        ),
    ];
    for (name, args) in cases {
        let out = app.cli(&[&["billing", "grant"][..], args].concat());
        assert!(!out.status.success(), "{name} was granted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_creations_one_below_the_limit_give_exactly_one_project() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Race").await;
    create_project(&owner, &org, "One").await;
    create_project(&owner, &org, "Two").await;
    let attempts = (0..20).map(|i| {
        let client = owner.client.clone();
        let org = org.clone();
        tokio::spawn(async move {
            client
                .gql(
                    ops::CREATE_PROJECT,
                    json!({ "org": org, "name": format!("Racer {i}") }),
                )
                .await
        })
    });
    let results = futures_util::future::join_all(attempts).await;
    let mut ok = 0;
    for r in results {
        let r = r.unwrap();
        if r.errors().is_empty() {
            ok += 1;
        } else {
            r.assert_code("PLAN_LIMIT_REACHED");
        }
    }
    assert_eq!(ok, 1);
    let e = entitlements(&app, &owner.token, &org).await;
    assert_eq!(e["projects"]["used"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_member_limit_counts_pending_invitations_and_holds_under_concurrency() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Seats").await;
    app.invite(&owner, &org, "first@example.com", "MEMBER")
        .await;
    // One seat left (owner + one pending of three): two invite at once.
    let (a, b) = tokio::join!(
        owner
            .client
            .gql(ops::INVITE_MEMBER, json!({ "input": { "organizationId": org, "email": "second@example.com", "role": "MEMBER" } })),
        owner
            .client
            .gql(ops::INVITE_MEMBER, json!({ "input": { "organizationId": org, "email": "third@example.com", "role": "MEMBER" } })),
    );
    let ok = [&a, &b].iter().filter(|r| r.errors().is_empty()).count();
    assert_eq!(ok, 1, "{} / {}", a.body, b.body);
    let refused = if a.errors().is_empty() { &b } else { &a };
    refused.assert_code("PLAN_LIMIT_REACHED");
    assert_eq!(refused.first_error()["extensions"]["limit"], 3);
    let e = entitlements(&app, &owner.token, &org).await;
    assert_eq!(e["members"], json!({ "used": 3, "limit": 3 }));
}
