//! Projects: who may do what, and every change in one unit of work with its
//! audit event and its live event.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbBackend, EntityTrait, QuerySelect};
use serde_json::json;

use super::{
    ARCHIVED_PROJECTS, PROJECTS, ProjectEventKind,
    entity::{ProjectId, project},
};
use crate::{
    Core,
    access::{Role, content},
    audit::{Actor, Event},
    error::{AppError, AppResult},
    events::LiveEvent,
    ids::{OrganizationId, TypedId, UserId},
    orgs::service::membership_of,
    text,
    uow::Work,
};

/// Whether the actor, of `role`, may change (or delete) this project.
fn may_touch(role: Role, project: &project::Model, actor: &Actor, deleting: bool) -> bool {
    content::may_change(role, project.created_by, actor.user_id, deleting)
}

/// A project the actor may see, read for changing: locked until the work
/// ends, so concurrent changes of one project apply one after another.
/// Anyone outside its organization gets `NOT_FOUND`.
async fn visible(work: &Work<'_>, id: ProjectId) -> AppResult<(project::Model, Role)> {
    let query = project::Entity::find_by_id(id);
    let query = match work.core().db.get_database_backend() {
        DbBackend::Postgres => query.lock_exclusive(),
        // A write transaction holds SQLite's only write lock already.
        _ => query,
    };
    let found = query
        .one(&**work)
        .await?
        .ok_or(AppError::NotFound("Project"))?;
    let role = work
        .role_in(found.organization_id)
        .await
        .map_err(|_| AppError::NotFound("Project"))?;
    Ok((found, role))
}

/// The project, if the user is a member of its organization.
pub async fn find_for(
    core: &Core,
    user_id: UserId,
    id: ProjectId,
) -> AppResult<Option<project::Model>> {
    let Some(found) = project::Entity::find_by_id(id).one(&core.db).await? else {
        return Ok(None);
    };
    Ok(membership_of(&core.db, found.organization_id, user_id)
        .await?
        .map(|_| found))
}

fn event(action: &'static str, p: &project::Model) -> Event {
    Event::on(action, p.id, json!({ "name": p.name }))
}

fn live(p: &project::Model, kind: ProjectEventKind) -> LiveEvent {
    LiveEvent {
        position: 0,
        organization_id: p.organization_id,
        topic: ProjectId::TYPE_NAME.to_owned(),
        subject: p.id.uuid(),
        kind: kind.as_str().to_owned(),
    }
}

pub async fn create(
    core: &Core,
    actor: &Actor,
    organization_id: OrganizationId,
    name: &str,
    description: Option<&str>,
) -> AppResult<project::Model> {
    let name = text::name("name", name)?;
    let description = description
        .map(|d| text::description("description", d))
        .transpose()?
        .flatten();
    let mut work = Work::begin(core, actor).await?;
    let role = work.role_in(organization_id).await?;
    if !content::may_create(role) {
        return Err(content::refusal(role, "projects"));
    }
    // Under the organization's lock, concurrent creations are counted one
    // after another, so the plan's limit holds.
    work.lock(organization_id).await?;
    work.ensure_capacity(organization_id, PROJECTS).await?;
    let now = Utc::now();
    let created = project::ActiveModel {
        id: Set(ProjectId::new()),
        organization_id: Set(organization_id),
        name_folded: Set(text::folded(&name)),
        name: Set(name),
        description: Set(description),
        created_by: Set(actor.user_id),
        created_at: Set(now),
        updated_at: Set(now),
        archived_at: Set(None),
    }
    .insert(&*work)
    .await?;
    work.count(organization_id, PROJECTS.counter(), 1).await?;
    work.audit(organization_id, event("project.created", &created))
        .await?;
    work.publish(live(&created, ProjectEventKind::Created));
    work.commit().await?;
    Ok(created)
}

pub async fn update(
    core: &Core,
    actor: &Actor,
    id: ProjectId,
    name: Option<&str>,
    description: Option<&str>,
) -> AppResult<project::Model> {
    let name = name.map(|n| text::name("name", n)).transpose()?;
    let description = description
        .map(|d| text::description("description", d))
        .transpose()?;
    let mut work = Work::begin(core, actor).await?;
    let (found, role) = visible(&work, id).await?;
    if !may_touch(role, &found, actor, false) {
        return Err(content::refusal(role, "projects"));
    }
    let before = json!({ "name": found.name, "description": found.description });
    let mut model: project::ActiveModel = found.into();
    if let Some(name) = name {
        model.name_folded = Set(text::folded(&name));
        model.name = Set(name);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    model.updated_at = Set(Utc::now());
    let updated = model.update(&*work).await?;
    let metadata = json!({ "before": before, "after": { "name": updated.name, "description": updated.description } });
    work.audit(
        updated.organization_id,
        Event::on("project.updated", updated.id, metadata),
    )
    .await?;
    work.publish(live(&updated, ProjectEventKind::Updated));
    work.commit().await?;
    Ok(updated)
}

/// Archives or restores. Restoring makes the project count against the
/// plan's limit again, so it is checked like a creation.
pub async fn set_archived(
    core: &Core,
    actor: &Actor,
    id: ProjectId,
    archived: bool,
) -> AppResult<project::Model> {
    let mut work = Work::begin(core, actor).await?;
    let (found, role) = visible(&work, id).await?;
    if !may_touch(role, &found, actor, false) {
        return Err(content::refusal(role, "projects"));
    }
    if found.archived_at.is_some() == archived {
        work.commit().await?;
        return Ok(found);
    }
    if !archived {
        work.lock(found.organization_id).await?;
        work.ensure_capacity(found.organization_id, PROJECTS)
            .await?;
    }
    let mut model: project::ActiveModel = found.into();
    let now = Utc::now();
    model.archived_at = Set(archived.then_some(now));
    model.updated_at = Set(now);
    let changed = model.update(&*work).await?;
    let org = changed.organization_id;
    let delta = if archived { 1 } else { -1 };
    work.count(org, ARCHIVED_PROJECTS, delta).await?;
    work.count(org, PROJECTS.counter(), -delta).await?;
    let (action, kind) = if archived {
        ("project.archived", ProjectEventKind::Archived)
    } else {
        ("project.restored", ProjectEventKind::Restored)
    };
    work.audit(changed.organization_id, event(action, &changed))
        .await?;
    work.publish(live(&changed, kind));
    work.commit().await?;
    Ok(changed)
}

pub async fn delete(core: &Core, actor: &Actor, id: ProjectId) -> AppResult<bool> {
    let mut work = Work::begin(core, actor).await?;
    let (found, role) = visible(&work, id).await?;
    if !may_touch(role, &found, actor, true) {
        return Err(content::refusal(role, "projects"));
    }
    project::Entity::delete_by_id(found.id).exec(&*work).await?;
    let counter = match found.archived_at {
        Some(_) => ARCHIVED_PROJECTS,
        None => PROJECTS.counter(),
    };
    work.count(found.organization_id, counter, -1).await?;
    work.audit(found.organization_id, event("project.deleted", &found))
        .await?;
    work.publish(live(&found, ProjectEventKind::Deleted));
    work.commit().await?;
    Ok(true)
}
