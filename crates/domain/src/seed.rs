//! `groundwork seed`: demo data for trying the API, safe to run repeatedly.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    Core,
    access::Role,
    audit::Actor,
    auth::{entity::user, service as accounts},
    billing::entitlements,
    email::EmailAddress,
    error::AppResult,
    orgs::{entity::organization, service as orgs},
    projects::{entity::project, service as projects},
};

pub const PASSWORD: &str = "groundwork-demo";
pub const ORG_SLUG: &str = "acme-demo";

/// The demo users: email, name, role in the demo organization.
pub const USERS: [(&str, &str, Role); 4] = [
    ("owner@example.com", "Olivia Owner", Role::Owner),
    ("admin@example.com", "Adam Admin", Role::Admin),
    ("member@example.com", "Mia Member", Role::Member),
    ("viewer@example.com", "Victor Viewer", Role::Viewer),
];

const PROJECTS: [(&str, &str, usize); 5] = [
    (
        "Website redesign",
        "New landing pages and a lighter style guide.",
        0,
    ),
    (
        "Mobile app",
        "The first native release for iOS and Android.",
        1,
    ),
    (
        "Onboarding flow",
        "Fewer steps from sign-up to the first project.",
        2,
    ),
    (
        "Billing migration",
        "Move every plan to per-seat prices.",
        0,
    ),
    ("Status page", "Public uptime and incident history.", 2),
];

/// What the seed made or found.
pub struct Seeded {
    pub created_users: usize,
    pub created_projects: usize,
}

pub async fn run(core: &Core) -> AppResult<Seeded> {
    let mut created_users = 0;
    let mut users = Vec::new();
    for (email, name, _) in USERS {
        let email = EmailAddress::parse("email", email)?;
        let existing = accounts::find_by_email(&core.db, &email).await?;
        let user = match existing {
            Some(user) => user,
            None => {
                let hash = core.passwords.hash(PASSWORD).await?;
                let txn = core.begin().await?;
                let user =
                    accounts::insert_user(&txn, &email, name, Some(hash), true, None).await?;
                txn.commit().await?;
                created_users += 1;
                user
            }
        };
        users.push(user);
    }

    let owner = Actor::user(users[0].id, &Default::default());
    let org = match organization::Entity::find()
        .filter(organization::Column::Slug.eq(ORG_SLUG))
        .one(&core.db)
        .await?
    {
        Some(org) => org,
        None => orgs::create(core, &owner, "Acme Demo", Some(ORG_SLUG)).await?,
    };
    let txn = core.begin().await?;
    // The demo shows the audit log and more members than the free plan has.
    if entitlements::plan_of(&txn, core, org.id).await?.id == *core.plans.free_plan() {
        entitlements::grant(&txn, core, org.id, "pro", None).await?;
    }
    for (user, (_, _, role)) in users.iter().zip(USERS) {
        if orgs::membership_of(&txn, org.id, user.id).await?.is_none() {
            orgs::add_member(&txn, org.id, user.id, role).await?;
        }
    }
    txn.commit().await?;

    let mut created_projects = 0;
    for (name, description, by) in PROJECTS {
        let exists = project::Entity::find()
            .filter(project::Column::OrganizationId.eq(org.id))
            .filter(project::Column::Name.eq(name))
            .one(&core.db)
            .await?
            .is_some();
        if !exists {
            let actor = Actor::user(users[by].id, &Default::default());
            projects::create(core, &actor, org.id, name, Some(description)).await?;
            created_projects += 1;
        }
    }
    mark_verified(core, &users).await?;
    Ok(Seeded {
        created_users,
        created_projects,
    })
}

/// Demo accounts can accept invitations and sign in at once.
async fn mark_verified(core: &Core, users: &[user::Model]) -> AppResult<()> {
    for user in users.iter().filter(|u| u.email_verified_at.is_none()) {
        let mut model: user::ActiveModel = user.clone().into();
        model.email_verified_at = Set(Some(Utc::now()));
        model.update(&core.db).await?;
    }
    Ok(())
}
