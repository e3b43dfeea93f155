//! Projects: who may do what, and every change in one transaction with its
//! audit event, announced to subscribers once committed.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::json;

use super::entity::project;
use crate::{
    Core,
    access::{Permission, Role},
    audit::{self, Actor, Event},
    billing::entitlements,
    crypto,
    error::{AppError, AppResult},
    events::{ProjectChange, ProjectEventKind},
    orgs::service::{lock, membership_of, role_in},
    text,
};

/// Whether `role` may change (or, with `any`, delete) this project: any
/// project with the `*_ANY` permission, a member its own, a viewer none.
fn may_touch(role: Role, any: Permission, project: &project::Model, actor: &Actor) -> bool {
    role.can(any)
        || (role.can(Permission::ProjectCreate)
            && project.created_by.is_some()
            && project.created_by.as_deref() == actor.user_id.as_deref())
}

/// A project the actor may see, with the actor's role in its organization;
/// anyone outside the organization gets `NOT_FOUND`.
async fn visible(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: &str,
) -> AppResult<(project::Model, Role)> {
    let found = project::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("Project"))?;
    let role = role_in(conn, &found.organization_id, actor)
        .await
        .map_err(|_| AppError::NotFound("Project"))?;
    Ok((found, role))
}

/// The project, if the user is a member of its organization.
pub async fn find_for(core: &Core, user_id: &str, id: &str) -> AppResult<Option<project::Model>> {
    let Some(found) = project::Entity::find_by_id(id).one(&core.db).await? else {
        return Ok(None);
    };
    Ok(membership_of(&core.db, &found.organization_id, user_id)
        .await?
        .map(|_| found))
}

fn event<'a>(action: &'a str, p: &'a project::Model, metadata: serde_json::Value) -> Event<'a> {
    Event {
        action,
        target_type: "project",
        target_id: &p.id,
        metadata,
    }
}

async fn announce(core: &Core, p: &project::Model, kind: ProjectEventKind) {
    core.events
        .publish(ProjectChange {
            organization_id: p.organization_id.clone(),
            project_id: p.id.clone(),
            kind,
        })
        .await;
}

pub async fn create(
    core: &Core,
    actor: &Actor,
    organization_id: &str,
    name: &str,
    description: Option<&str>,
) -> AppResult<project::Model> {
    let name = text::name("name", name)?;
    let description = description
        .map(|d| text::description("description", d))
        .transpose()?
        .flatten();
    let txn = core.begin().await?;
    role_in(&txn, organization_id, actor)
        .await?
        .require(Permission::ProjectCreate)?;
    // Under the organization's lock, concurrent creations are counted one
    // after another, so the plan's limit holds.
    lock(&txn, organization_id).await?;
    entitlements::ensure_project_capacity(&txn, core, organization_id).await?;
    let now = Utc::now();
    let created = project::ActiveModel {
        id: Set(crypto::new_id()),
        organization_id: Set(organization_id.to_owned()),
        name: Set(name),
        description: Set(description),
        created_by: Set(actor.user_id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        archived_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let metadata = json!({ "name": created.name });
    audit::record(
        &txn,
        organization_id,
        actor,
        event("project.created", &created, metadata),
    )
    .await?;
    txn.commit().await?;
    announce(core, &created, ProjectEventKind::Created).await;
    Ok(created)
}

pub async fn update(
    core: &Core,
    actor: &Actor,
    id: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> AppResult<project::Model> {
    let name = name.map(|n| text::name("name", n)).transpose()?;
    let description = description
        .map(|d| text::description("description", d))
        .transpose()?;
    let txn = core.begin().await?;
    let (found, role) = visible(&txn, actor, id).await?;
    if !may_touch(role, Permission::ProjectUpdateAny, &found, actor) {
        return Err(forbidden(role));
    }
    let before = json!({ "name": found.name, "description": found.description });
    let mut model: project::ActiveModel = found.into();
    if let Some(name) = name {
        model.name = Set(name);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    model.updated_at = Set(Utc::now());
    let updated = model.update(&txn).await?;
    let metadata = json!({ "before": before, "after": { "name": updated.name, "description": updated.description } });
    audit::record(
        &txn,
        &updated.organization_id,
        actor,
        event("project.updated", &updated, metadata),
    )
    .await?;
    txn.commit().await?;
    announce(core, &updated, ProjectEventKind::Updated).await;
    Ok(updated)
}

fn forbidden(role: Role) -> AppError {
    match role {
        Role::Viewer => AppError::forbidden("Viewers cannot change projects."),
        _ => AppError::forbidden("Members can change only the projects they created."),
    }
}

/// Archives or restores. Restoring makes the project count against the
/// plan's limit again, so it is checked like a creation.
pub async fn set_archived(
    core: &Core,
    actor: &Actor,
    id: &str,
    archived: bool,
) -> AppResult<project::Model> {
    let txn = core.begin().await?;
    let (found, role) = visible(&txn, actor, id).await?;
    if !may_touch(role, Permission::ProjectUpdateAny, &found, actor) {
        return Err(forbidden(role));
    }
    if found.archived_at.is_some() == archived {
        txn.commit().await?;
        return Ok(found);
    }
    if !archived {
        lock(&txn, &found.organization_id).await?;
        entitlements::ensure_project_capacity(&txn, core, &found.organization_id).await?;
    }
    let mut model: project::ActiveModel = found.into();
    let now = Utc::now();
    model.archived_at = Set(archived.then_some(now));
    model.updated_at = Set(now);
    let changed = model.update(&txn).await?;
    let (action, kind) = if archived {
        ("project.archived", ProjectEventKind::Archived)
    } else {
        ("project.restored", ProjectEventKind::Restored)
    };
    let metadata = json!({ "name": changed.name });
    audit::record(
        &txn,
        &changed.organization_id,
        actor,
        event(action, &changed, metadata),
    )
    .await?;
    txn.commit().await?;
    announce(core, &changed, kind).await;
    Ok(changed)
}

pub async fn delete(core: &Core, actor: &Actor, id: &str) -> AppResult<bool> {
    let txn = core.begin().await?;
    let (found, role) = visible(&txn, actor, id).await?;
    if !may_touch(role, Permission::ProjectDeleteAny, &found, actor) {
        return Err(forbidden(role));
    }
    project::Entity::delete_by_id(&found.id).exec(&txn).await?;
    let metadata = json!({ "name": found.name });
    audit::record(
        &txn,
        &found.organization_id,
        actor,
        event("project.deleted", &found, metadata),
    )
    .await?;
    txn.commit().await?;
    announce(core, &found, ProjectEventKind::Deleted).await;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(created_by: Option<&str>) -> project::Model {
        project::Model {
            id: "p".into(),
            organization_id: "o".into(),
            name: "n".into(),
            description: None,
            created_by: created_by.map(str::to_owned),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            archived_at: None,
        }
    }

    #[test]
    fn members_touch_their_own_and_viewers_none() {
        let me = Actor::user("me", &Default::default());
        let mine = project(Some("me"));
        let theirs = project(Some("them"));
        let orphan = project(None);
        for any in [Permission::ProjectUpdateAny, Permission::ProjectDeleteAny] {
            assert!(may_touch(Role::Owner, any, &theirs, &me));
            assert!(may_touch(Role::Admin, any, &orphan, &me));
            assert!(may_touch(Role::Member, any, &mine, &me));
            assert!(!may_touch(Role::Member, any, &theirs, &me));
            assert!(!may_touch(Role::Member, any, &orphan, &me));
            assert!(!may_touch(Role::Viewer, any, &mine, &me));
        }
    }
}
