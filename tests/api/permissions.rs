//! The permission matrix of DESIGN.md, row by row: every org-scoped
//! mutation and guarded field, called as OWNER, ADMIN, MEMBER, VIEWER and a
//! non-member, against what the matrix says.

use std::{collections::BTreeSet, future::Future, pin::Pin};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::support::{GqlResponse, SignedUp, TestApp, fake_stripe::FakeStripe, ops, row_id};

const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

/// The matrix as DESIGN.md writes it: which roles hold each permission.
fn holds(permission: &str, role: &str) -> bool {
    let roles: &[&str] = match permission {
        "ORGANIZATION_UPDATE"
        | "MEMBER_INVITE"
        | "MEMBER_UPDATE_ROLE"
        | "MEMBER_REMOVE"
        | "BILLING_READ"
        | "PROJECT_UPDATE_ANY"
        | "PROJECT_DELETE_ANY"
        | "AUDIT_LOG_READ" => &["OWNER", "ADMIN"],
        "ORGANIZATION_DELETE" | "OWNERSHIP_TRANSFER" | "BILLING_MANAGE" => &["OWNER"],
        "PROJECT_CREATE" => &["OWNER", "ADMIN", "MEMBER"],
        // Reading the organization, its members, projects and entitlements.
        "READ" => &ROLES,
        // A member changing a project it created itself.
        "OWN_PROJECT" => &["OWNER", "ADMIN", "MEMBER"],
        other => panic!("no matrix row for {other}"),
    };
    roles.contains(&role)
}

/// One team organization with a member of each role, on the pro plan, with
/// a Stripe customer.
struct Team {
    org: String,
    users: Vec<(&'static str, SignedUp)>,
}

impl Team {
    fn owner(&self) -> &SignedUp {
        &self.users[0].1
    }
}

struct World {
    app: TestApp,
    outsider: SignedUp,
    people: Vec<(&'static str, SignedUp)>,
    counter: std::sync::atomic::AtomicUsize,
}

impl World {
    fn next(&self) -> usize {
        self.counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    async fn team(&self) -> Team {
        let n = self.next();
        let owner = &self.people[0].1;
        let slug = format!("matrix-{n}");
        let res = owner
            .client
            .gql(
                "mutation($name: String!, $slug: String!) { createOrganization(input: { name: $name, slug: $slug }) { id } }",
                json!({ "name": format!("Matrix {n}"), "slug": slug }),
            )
            .await;
        let org = res.data()["createOrganization"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        grant_pro(&self.app, &org).await;
        for (role, user) in &self.people[1..] {
            self.app.join(owner, &org, user, role).await;
        }
        // A billing account, so the portal can open.
        owner
            .client
            .gql(
                ops::CHECKOUT,
                json!({ "org": org, "plan": "pro", "interval": "MONTH" }),
            )
            .await
            .data();
        Team {
            org,
            users: self.people.iter().map(|(r, u)| (*r, clone(u))).collect(),
        }
    }

    /// A new user who joins the team with `role`; returns the membership id.
    async fn newcomer(&self, team: &Team, role: &str) -> (String, String) {
        let n = self.next();
        let user = self
            .app
            .join_new(
                team.owner(),
                &team.org,
                &format!("newcomer{n}@example.com"),
                role,
            )
            .await;
        let res = team
            .owner()
            .client
            .gql(
                "query($id: ID) { organization(id: $id) { members(first: 100) { edges { node { id user { id } } } } } }",
                json!({ "id": team.org }),
            )
            .await;
        let membership = res.data()["organization"]["members"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["user"]["id"] == user.user_id.as_str())
            .unwrap()["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (membership, user.user_id)
    }

    async fn project_by(&self, team: &Team, by: &SignedUp) -> String {
        let res = by
            .client
            .gql(
                ops::CREATE_PROJECT,
                json!({ "org": team.org, "name": format!("Project {}", self.next()) }),
            )
            .await;
        res.data()["createProject"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn invitation(&self, team: &Team) -> String {
        let email = format!("invitee{}@example.com", self.next());
        self.app
            .invite(team.owner(), &team.org, &email, "VIEWER")
            .await
            .0
    }
}

/// Who makes the actor's "own" project: the actor when it may create one;
/// otherwise (a viewer, a non-member) the owner.
fn own_creator<'a>(team: &'a Team, actor: &'a SignedUp) -> &'a SignedUp {
    let role = team
        .users
        .iter()
        .find(|(_, u)| u.user_id == actor.user_id)
        .map(|(r, _)| *r);
    match role {
        Some("OWNER" | "ADMIN" | "MEMBER") => actor,
        _ => team.owner(),
    }
}

fn clone(user: &SignedUp) -> SignedUp {
    SignedUp {
        client: user.client.clone(),
        user_id: user.user_id.clone(),
        token: user.token.clone(),
        email: user.email.clone(),
    }
}

async fn grant_pro(app: &TestApp, org: &str) {
    let backend = app.db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO plan_grants (organization_id, plan_id, until, created_at) VALUES ($1, 'pro', NULL, $2)"
        }
        _ => {
            "INSERT INTO plan_grants (organization_id, plan_id, until, created_at) VALUES (?, 'pro', NULL, ?)"
        }
    };
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [row_id(org).into(), chrono::Utc::now().into()],
        ))
        .await
        .unwrap();
}

type Call<'a> = Pin<Box<dyn Future<Output = GqlResponse> + 'a>>;

/// One row: what it exercises, the permission (or matrix line) it needs,
/// and the call, given the world, the team and the acting user.
struct Row {
    name: &'static str,
    permission: &'static str,
    call: for<'a> fn(&'a World, &'a Team, &'a SignedUp) -> Call<'a>,
}

macro_rules! row {
    ($name:literal, $permission:literal, |$w:ident, $t:ident, $u:ident| $body:expr) => {
        Row {
            name: $name,
            permission: $permission,
            call: |$w, $t, $u| Box::pin(async move { $body }),
        }
    };
}

async fn gql(user: &SignedUp, query: &str, variables: Value) -> GqlResponse {
    user.client.gql(query, variables).await
}

fn rows() -> Vec<Row> {
    vec![
        row!("organization", "READ", |_w, t, u| gql(
            u,
            "query($id: ID) { organization(id: $id) { id name slug viewerRole } }",
            json!({ "id": t.org })
        )
        .await),
        row!("Organization.members", "READ", |_w, t, u| gql(
            u,
            ops::MEMBER_COUNT,
            json!({ "id": t.org })
        )
        .await),
        row!("Organization.projects", "READ", |_w, t, u| gql(
            u,
            ops::PROJECT_COUNT,
            json!({ "id": t.org })
        )
        .await),
        row!("Organization.entitlements", "READ", |_w, t, u| gql(
            u,
            "query($id: ID) { organization(id: $id) { entitlements { plan { id } } } }",
            json!({ "id": t.org })
        )
        .await),
        row!("project", "READ", |w, t, u| {
            let p = w.project_by(t, t.owner()).await;
            gql(u, ops::PROJECT_ID, json!({ "id": p })).await
        }),
        row!("updateOrganization", "ORGANIZATION_UPDATE", |_w, t, u| {
            gql(
                u,
                ops::RENAME_ORGANIZATION,
                json!({ "id": t.org, "name": "Renamed" }),
            )
            .await
        }),
        row!("deleteOrganization", "ORGANIZATION_DELETE", |_w, t, u| gql(
            u,
            ops::DELETE_ORGANIZATION,
            json!({ "id": t.org })
        )
        .await),
        row!("inviteMember", "MEMBER_INVITE", |w, t, u| {
            gql(u, "mutation($id: ID!, $e: String!) { inviteMember(input: { organizationId: $id, email: $e, role: VIEWER }) { id } }", json!({ "id": t.org, "e": format!("guest{}@example.com", w.next()) })).await
        }),
        row!("resendInvitation", "MEMBER_INVITE", |w, t, u| {
            let i = w.invitation(t).await;
            gql(u, ops::RESEND_INVITATION, json!({ "id": i })).await
        }),
        row!("revokeInvitation", "MEMBER_INVITE", |w, t, u| {
            let i = w.invitation(t).await;
            gql(u, ops::REVOKE_INVITATION, json!({ "id": i })).await
        }),
        row!("Organization.invitations", "MEMBER_INVITE", |_w, t, u| gql(
            u,
            "query($id: ID) { organization(id: $id) { invitations { id } } }",
            json!({ "id": t.org })
        )
        .await),
        row!("updateMemberRole", "MEMBER_UPDATE_ROLE", |w, t, u| {
            let (m, _) = w.newcomer(t, "VIEWER").await;
            gql(
                u,
                "mutation($m: ID!) { updateMemberRole(membershipId: $m, role: MEMBER) { id } }",
                json!({ "m": m }),
            )
            .await
        }),
        row!("removeMember", "MEMBER_REMOVE", |w, t, u| {
            let (m, _) = w.newcomer(t, "VIEWER").await;
            gql(u, ops::REMOVE_MEMBER, json!({ "id": m })).await
        }),
        row!("transferOwnership", "OWNERSHIP_TRANSFER", |w, t, u| {
            let (_, user) = w.newcomer(t, "MEMBER").await;
            gql(
                u,
                ops::TRANSFER_OWNERSHIP,
                json!({ "id": t.org, "to": user }),
            )
            .await
        }),
        row!("Organization.subscription", "BILLING_READ", |_w, t, u| gql(
            u,
            "query($id: ID) { organization(id: $id) { subscription { status } } }",
            json!({ "id": t.org })
        )
        .await),
        row!("createCheckoutSession", "BILLING_MANAGE", |_w, t, u| {
            gql(u, "mutation($org: ID!) { createCheckoutSession(input: { organizationId: $org, planId: \"pro\", interval: YEAR }) { url } }", json!({ "org": t.org })).await
        }),
        row!(
            "createBillingPortalSession",
            "BILLING_MANAGE",
            |_w, t, u| gql(u, ops::BILLING_PORTAL, json!({ "org": t.org })).await
        ),
        row!("createProject", "PROJECT_CREATE", |w, t, u| {
            gql(
                u,
                ops::CREATE_PROJECT,
                json!({ "org": t.org, "name": format!("New {}", w.next()) }),
            )
            .await
        }),
        row!(
            "updateProject (another's)",
            "PROJECT_UPDATE_ANY",
            |w, t, u| {
                let p = w.project_by(t, t.owner()).await;
                gql(
                    u,
                    ops::RENAME_PROJECT,
                    json!({ "id": p, "name": "Changed" }),
                )
                .await
            }
        ),
        row!(
            "archiveProject (another's)",
            "PROJECT_UPDATE_ANY",
            |w, t, u| {
                let p = w.project_by(t, t.owner()).await;
                gql(u, ops::ARCHIVE_PROJECT, json!({ "id": p })).await
            }
        ),
        row!(
            "restoreProject (another's)",
            "PROJECT_UPDATE_ANY",
            |w, t, u| {
                let p = w.project_by(t, t.owner()).await;
                gql(t.owner(), ops::ARCHIVE_PROJECT, json!({ "id": p }))
                    .await
                    .data();
                gql(u, ops::RESTORE_PROJECT, json!({ "id": p })).await
            }
        ),
        row!(
            "deleteProject (another's)",
            "PROJECT_DELETE_ANY",
            |w, t, u| {
                let p = w.project_by(t, t.owner()).await;
                gql(u, ops::DELETE_PROJECT, json!({ "id": p })).await
            }
        ),
        row!("updateProject (own)", "OWN_PROJECT", |w, t, u| {
            let p = w.project_by(t, own_creator(t, u)).await;
            gql(u, ops::RENAME_PROJECT, json!({ "id": p, "name": "Mine" })).await
        }),
        row!("deleteProject (own)", "OWN_PROJECT", |w, t, u| {
            let p = w.project_by(t, own_creator(t, u)).await;
            gql(u, ops::DELETE_PROJECT, json!({ "id": p })).await
        }),
        row!("Organization.auditLog", "AUDIT_LOG_READ", |_w, t, u| gql(
            u,
            ops::AUDIT_LOG_COUNT,
            json!({ "id": t.org })
        )
        .await),
    ]
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Forbidden,
    Hidden,
}

fn outcome(res: &GqlResponse) -> Outcome {
    match res.errors().first() {
        None if res.body["data"]["organization"].is_null()
            && res.body["data"].get("organization").is_some() =>
        {
            Outcome::Hidden
        }
        None if res.body["data"].get("project").is_some_and(Value::is_null) => Outcome::Hidden,
        None => Outcome::Allowed,
        Some(e) => match e["extensions"]["code"].as_str() {
            Some("FORBIDDEN") => Outcome::Forbidden,
            Some("NOT_FOUND") => Outcome::Hidden,
            _ => panic!("unexpected answer {}", res.body),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_what_the_matrix_says() {
    let fake = FakeStripe::start().await;
    let app = TestApp::spawn_with_stripe(&fake).await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let seed = app.create_org(&owner, "Seed").await;
    grant_pro(&app, &seed).await;
    let mut people = vec![("OWNER", owner)];
    for role in &ROLES[1..] {
        let email = format!("{}@example.com", role.to_lowercase());
        let user = app.join_new(&people[0].1, &seed, &email, role).await;
        people.push((*role, user));
    }
    let outsider = app.sign_up("outsider@example.com", "Outsider").await;
    let world = World {
        app,
        outsider,
        people,
        counter: Default::default(),
    };

    let rows = rows();
    // Every permission of the schema has at least one row.
    let res = world
        .outsider
        .client
        .gql(
            "{ __type(name: \"Permission\") { enumValues { name } } }",
            json!({}),
        )
        .await;
    let all: BTreeSet<String> = res.data()["__type"]["enumValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    let covered: BTreeSet<String> = rows.iter().map(|r| r.permission.to_owned()).collect();
    let missing: Vec<&String> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "permissions without rows: {missing:?}");

    let mut failures = Vec::new();
    for row in &rows {
        let team = world.team().await;
        // The outsider first, then the least powerful role: a change that
        // succeeds (deleting the organization) comes last.
        let res = (row.call)(&world, &team, &world.outsider).await;
        if outcome(&res) != Outcome::Hidden {
            failures.push(format!("{} as a non-member: {}", row.name, res.body));
        }
        for (role, user) in team.users.iter().rev() {
            let res = (row.call)(&world, &team, user).await;
            let want = if holds(row.permission, role) {
                Outcome::Allowed
            } else {
                Outcome::Forbidden
            };
            let got = outcome(&res);
            if got != want {
                failures.push(format!(
                    "{} as {role}: want {want:?}, got {got:?}: {}",
                    row.name, res.body
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
