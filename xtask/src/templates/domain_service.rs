//! __Names__: who may do what, and every change in one unit of work with
//! its audit event and its live event.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbBackend, EntityTrait, QuerySelect};
use serde_json::json;

use super::{
    __NAMES__, __Name__EventKind,
    entity::{__Name__Id, __name__},
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

/// A __words__ the actor may see, read for changing: locked until the work
/// ends, so concurrent changes of one apply one after another. Anyone
/// outside its organization gets `NOT_FOUND`.
async fn visible(work: &Work<'_>, id: __Name__Id) -> AppResult<(__name__::Model, Role)> {
    let query = __name__::Entity::find_by_id(id);
    let query = match work.core().db.get_database_backend() {
        DbBackend::Postgres => query.lock_exclusive(),
        // A write transaction holds SQLite's only write lock already.
        _ => query,
    };
    let found = query
        .one(&**work)
        .await?
        .ok_or(AppError::NotFound("__Name__"))?;
    let role = work
        .role_in(found.organization_id)
        .await
        .map_err(|_| AppError::NotFound("__Name__"))?;
    Ok((found, role))
}

/// The __words__, if the user is a member of its organization.
pub async fn find_for(
    core: &Core,
    user_id: UserId,
    id: __Name__Id,
) -> AppResult<Option<__name__::Model>> {
    let Some(found) = __name__::Entity::find_by_id(id).one(&core.db).await? else {
        return Ok(None);
    };
    Ok(membership_of(&core.db, found.organization_id, user_id)
        .await?
        .map(|_| found))
}

fn event(action: &'static str, row: &__name__::Model) -> Event {
    Event::on(action, row.id, json!({ "name": row.name }))
}

fn live(row: &__name__::Model, kind: __Name__EventKind) -> LiveEvent {
    LiveEvent {
        position: 0,
        organization_id: row.organization_id,
        topic: __Name__Id::TYPE_NAME.to_owned(),
        subject: row.id.uuid(),
        kind: kind.as_str().to_owned(),
    }
}

pub async fn create(
    core: &Core,
    actor: &Actor,
    organization_id: OrganizationId,
    name: &str,
    description: Option<&str>,
) -> AppResult<__name__::Model> {
    let name = text::name("name", name)?;
    let description = description
        .map(|d| text::description("description", d))
        .transpose()?
        .flatten();
    let mut work = Work::begin(core, actor).await?;
    let role = work.role_in(organization_id).await?;
    if !content::may_create(role) {
        return Err(content::refusal(role, "__words_plural__"));
    }
    // Under the organization's lock, concurrent creations are counted one
    // after another, so the plan's limit holds.
    work.lock(organization_id).await?;
    work.ensure_capacity(organization_id, __NAMES__).await?;
    let now = Utc::now();
    let created = __name__::ActiveModel {
        id: Set(__Name__Id::new()),
        organization_id: Set(organization_id),
        name: Set(name),
        description: Set(description),
        created_by: Set(actor.user_id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&*work)
    .await?;
    work.count(organization_id, __NAMES__.counter(), 1).await?;
    work.audit(organization_id, event("__name__.created", &created))
        .await?;
    work.publish(live(&created, __Name__EventKind::Created));
    work.commit().await?;
    Ok(created)
}

pub async fn update(
    core: &Core,
    actor: &Actor,
    id: __Name__Id,
    name: Option<&str>,
    description: Option<&str>,
) -> AppResult<__name__::Model> {
    let name = name.map(|n| text::name("name", n)).transpose()?;
    let description = description
        .map(|d| text::description("description", d))
        .transpose()?;
    let mut work = Work::begin(core, actor).await?;
    let (found, role) = visible(&work, id).await?;
    if !content::may_change(role, found.created_by, actor.user_id, false) {
        return Err(content::refusal(role, "__words_plural__"));
    }
    let before = json!({ "name": found.name, "description": found.description });
    let mut model: __name__::ActiveModel = found.into();
    if let Some(name) = name {
        model.name = Set(name);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    model.updated_at = Set(Utc::now());
    let updated = model.update(&*work).await?;
    let after = json!({ "name": updated.name, "description": updated.description });
    work.audit(
        updated.organization_id,
        Event::on(
            "__name__.updated",
            updated.id,
            json!({ "before": before, "after": after }),
        ),
    )
    .await?;
    work.publish(live(&updated, __Name__EventKind::Updated));
    work.commit().await?;
    Ok(updated)
}

pub async fn delete(core: &Core, actor: &Actor, id: __Name__Id) -> AppResult<bool> {
    let mut work = Work::begin(core, actor).await?;
    let (found, role) = visible(&work, id).await?;
    if !content::may_change(role, found.created_by, actor.user_id, true) {
        return Err(content::refusal(role, "__words_plural__"));
    }
    __name__::Entity::delete_by_id(found.id)
        .exec(&*work)
        .await?;
    work.count(found.organization_id, __NAMES__.counter(), -1)
        .await?;
    work.audit(found.organization_id, event("__name__.deleted", &found))
        .await?;
    work.publish(live(&found, __Name__EventKind::Deleted));
    work.commit().await?;
    Ok(true)
}
