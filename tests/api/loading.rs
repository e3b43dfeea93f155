//! Batched loading: the dashboard costs the same number of SQL statements
//! for one organization as for twenty, with their projects and members.

use chrono::Utc;
use groundwork::{
    access::Role,
    auth::entity::user,
    counters,
    email::EmailAddress,
    ids::{OrganizationId, UserId},
    orgs::entity::{MembershipId, membership, organization},
    projects::{
        PROJECTS,
        entity::{ProjectId, project},
    },
};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::json;

use crate::support::{SignedUp, TestApp, TestConfig, create_project, ops, row_id};

async fn statements(app: &TestApp) -> u64 {
    let text = app.client().get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("groundwork_sql_statements_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the statement counter")
}

/// Runs the dashboard and returns how many statements it took.
async fn dashboard_cost(app: &TestApp, viewer: &SignedUp) -> (u64, serde_json::Value) {
    let before = statements(app).await;
    let res = viewer.client.gql(ops::DASHBOARD, json!({})).await;
    let data = res.data().clone();
    (statements(app).await - before, data)
}

fn quiet() -> TestConfig {
    // The mail worker's and the event reader's polling would add statements
    // between the readings.
    TestConfig::default()
        .var("MAIL_POLL_INTERVAL", "1h")
        .var("LIVE_EVENTS_POLL_INTERVAL", "1h")
}

/// Adds `orgs` team organizations with `projects` projects and `members`
/// members each (the viewer among them), straight into the database, with
/// the counters the services would have kept.
async fn populate(app: &TestApp, viewer: &SignedUp, orgs: usize, projects: usize, members: usize) {
    let now = Utc::now();
    let others: Vec<user::ActiveModel> = (0..members - 1)
        .map(|i| user::ActiveModel {
            id: Set(UserId::new()),
            email: Set(EmailAddress::parse("email", &format!("member{i}@example.com")).unwrap()),
            name: Set(format!("Member {i}")),
            avatar_url: Set(None),
            email_verified_at: Set(Some(now)),
            password_hash: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    let other_ids: Vec<UserId> = others.iter().map(|u| u.id.clone().unwrap()).collect();
    user::Entity::insert_many(others)
        .exec(&app.db)
        .await
        .unwrap();

    let viewer_id = UserId(row_id(&viewer.user_id));
    let mut org_rows = Vec::new();
    let mut org_ids = Vec::new();
    let mut member_rows = Vec::new();
    let mut project_rows = Vec::new();
    for o in 0..orgs {
        let org_id = OrganizationId::new();
        org_ids.push(org_id);
        org_rows.push(organization::ActiveModel {
            id: Set(org_id),
            name: Set(format!("Team {o}")),
            slug: Set(format!("team-{o}")),
            personal: Set(false),
            created_by: Set(Some(viewer_id)),
            created_at: Set(now),
            updated_at: Set(now),
        });
        for (i, user_id) in std::iter::once(&viewer_id).chain(&other_ids).enumerate() {
            member_rows.push(membership::ActiveModel {
                id: Set(MembershipId::new()),
                organization_id: Set(org_id),
                user_id: Set(*user_id),
                role: Set(if i == 0 { Role::Owner } else { Role::Member }),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        for p in 0..projects {
            let creator = if p % 2 == 0 {
                &viewer_id
            } else {
                &other_ids[p % other_ids.len()]
            };
            project_rows.push(project::ActiveModel {
                id: Set(ProjectId::new()),
                organization_id: Set(org_id),
                name: Set(format!("Project {o}-{p}")),
                name_folded: Set(format!("project {o}-{p}")),
                description: Set(None),
                created_by: Set(Some(*creator)),
                created_at: Set(now),
                updated_at: Set(now),
                archived_at: Set(None),
            });
        }
    }
    organization::Entity::insert_many(org_rows)
        .exec(&app.db)
        .await
        .unwrap();
    membership::Entity::insert_many(member_rows)
        .exec(&app.db)
        .await
        .unwrap();
    for chunk in project_rows.chunks(100) {
        project::Entity::insert_many(chunk.to_vec())
            .exec(&app.db)
            .await
            .unwrap();
    }
    for org in org_ids {
        counters::add(&app.db, org, counters::MEMBERS, members as i64)
            .await
            .unwrap();
        counters::add(&app.db, org, PROJECTS.counter(), projects as i64)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_dashboard_costs_the_same_for_one_organization_and_for_twenty() {
    let small = TestApp::spawn_with(quiet()).await;
    let viewer = small.sign_up("solo@example.com", "Solo").await;
    let personal = viewer
        .client
        .gql(
            "{ viewer { organizations { edges { node { id } } } } }",
            json!({}),
        )
        .await
        .data()["viewer"]["organizations"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    create_project(&viewer, &personal, "The one").await;
    let (small_cost, data) = dashboard_cost(&small, &viewer).await;
    assert_eq!(data["viewer"]["organizations"]["totalCount"], 1);

    let large = TestApp::spawn_with(quiet()).await;
    let viewer = large.sign_up("busy@example.com", "Busy").await;
    populate(&large, &viewer, 19, 20, 10).await;
    let (large_cost, data) = dashboard_cost(&large, &viewer).await;
    let orgs = &data["viewer"]["organizations"];
    assert_eq!(orgs["totalCount"], 20);
    let team = &orgs["edges"][1]["node"];
    assert_eq!(team["members"]["totalCount"], 10);
    assert_eq!(team["members"]["edges"].as_array().unwrap().len(), 10);
    assert_eq!(team["projects"]["totalCount"], 20);
    assert_eq!(team["projects"]["edges"].as_array().unwrap().len(), 10);
    assert!(!team["projects"]["edges"][0]["node"]["createdBy"]["name"].is_null());
    assert_eq!(team["entitlements"]["projects"]["used"], 20);

    assert_eq!(
        small_cost, large_cost,
        "statements: {small_cost} for one organization, {large_cost} for twenty"
    );
    assert!(large_cost <= 9, "{large_cost} statements for the dashboard");
    // The same request again costs the same: nothing leaks between requests.
    let (again, _) = dashboard_cost(&large, &viewer).await;
    assert_eq!(again, large_cost);
}

/// Every nested list a document can repeat per parent, several levels deep.
const NESTED: &str = r"query Nested {
  viewer {
    id
    sessions { id }
    linkedAccounts { provider }
    pendingInvitations { id }
    organizations(first: 20) { edges { node {
      id
      subscription { status }
      invitations { id email invitedBy { id name } organization { id } }
      members(first: 5) { edges { node {
        id
        organization { id name }
        user { id sessions { id } organizations(first: 3) { edges { node {
          id name
          members(first: 2) { edges { node { id role } } }
          projects(first: 2) { totalCount edges { node { id name } } }
        } } } }
      } } }
      projects(first: 3) { edges { node { id organization { id } createdBy { id name } } } }
    } } }
  }
}";

/// A viewer in `orgs` team organizations (plus the personal one) with
/// members and projects, and a pending invitation in the first team.
async fn nested_cost(orgs: usize, projects: usize, members: usize) -> (u64, serde_json::Value) {
    let app = TestApp::spawn_with(quiet()).await;
    let viewer = app
        .sign_up(&format!("nested{orgs}@example.com"), "Nested")
        .await;
    populate(&app, &viewer, orgs, projects, members).await;
    let first = viewer
        .client
        .gql(
            "{ viewer { organizations(first: 2) { edges { node { id } } } } }",
            json!({}),
        )
        .await
        .data()["viewer"]["organizations"]["edges"][1]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The first team, on a plan without a member limit, takes an invitation.
    app.grant("team-0", "team");
    // Straight through the API: the quiet server sends no mail to wait for.
    viewer
        .client
        .gql(
            ops::INVITE_MEMBER,
            json!({ "input": { "organizationId": first, "email": "invitee@example.com", "role": "MEMBER" } }),
        )
        .await
        .data();
    let before = statements(&app).await;
    let res = viewer.client.gql(NESTED, json!({})).await;
    let data = res.data().clone();
    (statements(&app).await - before, data)
}

#[tokio::test]
async fn a_deeply_nested_document_costs_the_same_statements_whatever_the_data() {
    let (small, data) = nested_cost(2, 3, 3).await;
    assert_eq!(
        data["viewer"]["organizations"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (large, data) = nested_cost(19, 20, 10).await;
    let orgs = data["viewer"]["organizations"]["edges"].as_array().unwrap();
    assert_eq!(orgs.len(), 20);
    let team = &orgs[1]["node"];
    assert_eq!(team["invitations"].as_array().unwrap().len(), 1);
    assert_eq!(team["members"]["edges"].as_array().unwrap().len(), 5);
    let member = &team["members"]["edges"][0]["node"];
    assert_eq!(
        member["user"]["organizations"]["edges"][1]["node"]["members"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // One query per organization anywhere in the tree would add 17 or more.
    // A loader's batch may split in two when the machine is busy (keys that
    // arrive after its 1 ms window wait for the next one), so a few extra
    // statements are timing, not data.
    assert!(
        large <= small + 4,
        "statements: {small} with 3 organizations, {large} with 20"
    );
    assert!(large <= 30, "{large} statements for the nested document");
}
