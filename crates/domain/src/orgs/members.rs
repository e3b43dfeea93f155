//! Members: roles, removal, leaving and ownership. Changes to who is a
//! member or an owner lock the organization first, so concurrent requests
//! cannot leave it without an owner.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use serde_json::json;

use super::{
    entity::{MembershipId, membership, organization},
    service::{membership_of, role_in},
};
use crate::{
    Core,
    access::{Permission, Role},
    audit::{Actor, Event},
    counters,
    error::{AppError, AppResult},
    ids::{OrganizationId, TypedId, UserId},
    uow::Work,
};

/// A membership the actor may see: one of an organization the actor
/// belongs to; any other is `NOT_FOUND`.
async fn visible_membership(
    conn: &impl ConnectionTrait,
    membership_id: MembershipId,
    actor: &Actor,
) -> AppResult<(membership::Model, Role)> {
    let target = membership::Entity::find_by_id(membership_id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("Membership"))?;
    let role = role_in(conn, target.organization_id, actor)
        .await
        .map_err(|_| AppError::NotFound("Membership"))?;
    Ok((target, role))
}

async fn owner_count(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
) -> AppResult<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.eq(Role::Owner))
        .count(conn)
        .await?)
}

fn last_owner() -> AppError {
    AppError::conflict("An organization needs at least one owner; make someone else owner first.")
}

async fn set_role(
    conn: &impl ConnectionTrait,
    membership: membership::Model,
    role: Role,
) -> AppResult<membership::Model> {
    let mut model: membership::ActiveModel = membership.into();
    model.role = Set(role);
    model.updated_at = Set(Utc::now());
    Ok(model.update(conn).await?)
}

pub async fn update_member_role(
    core: &Core,
    actor: &Actor,
    membership_id: MembershipId,
    role: Role,
) -> AppResult<membership::Model> {
    let work = Work::begin(core, actor).await?;
    let (target, my_role) = visible_membership(&*work, membership_id, actor).await?;
    my_role.require(Permission::MemberUpdateRole)?;
    work.lock(target.organization_id).await?;
    // Read again under the lock: a concurrent change may have come first.
    let (target, my_role) = visible_membership(&*work, membership_id, actor).await?;
    my_role.require(Permission::MemberUpdateRole)?;
    let current = target.role;
    if !my_role.may_manage(current) || !my_role.may_grant(role) {
        return Err(AppError::forbidden(
            "Only an owner can change owners or make someone owner.",
        ));
    }
    if current == role {
        work.commit().await?;
        return Ok(target);
    }
    if current == Role::Owner && owner_count(&*work, target.organization_id).await? <= 1 {
        return Err(last_owner());
    }
    let updated = set_role(&*work, target, role).await?;
    let metadata = json!({ "userId": updated.user_id.global(), "from": current.as_str(), "to": role.as_str() });
    work.audit(
        updated.organization_id,
        Event::on("member.role_updated", updated.id, metadata),
    )
    .await?;
    work.commit().await?;
    Ok(updated)
}

pub async fn remove_member(
    core: &Core,
    actor: &Actor,
    membership_id: MembershipId,
) -> AppResult<bool> {
    let mut work = Work::begin(core, actor).await?;
    let (target, _) = visible_membership(&*work, membership_id, actor).await?;
    work.lock(target.organization_id).await?;
    let (target, my_role) = visible_membership(&*work, membership_id, actor).await?;
    my_role.require(Permission::MemberRemove)?;
    if !my_role.may_manage(target.role) {
        return Err(AppError::forbidden("Only an owner can remove an owner."));
    }
    remove(&mut work, target, "member.removed").await?;
    work.commit().await?;
    Ok(true)
}

/// Removes a membership unless it holds the organization's last owner.
/// The work holds the organization's lock.
async fn remove(
    work: &mut Work<'_>,
    target: membership::Model,
    action: &'static str,
) -> AppResult<()> {
    let role = target.role;
    if role == Role::Owner && owner_count(&**work, target.organization_id).await? <= 1 {
        return Err(last_owner());
    }
    membership::Entity::delete_by_id(target.id)
        .exec(&**work)
        .await?;
    work.count(target.organization_id, counters::MEMBERS, -1)
        .await?;
    let metadata = json!({ "userId": target.user_id.global(), "role": role.as_str() });
    work.audit(
        target.organization_id,
        Event::on(action, target.id, metadata),
    )
    .await?;
    work.members_changed(target.organization_id).await
}

pub async fn leave(core: &Core, actor: &Actor, organization_id: OrganizationId) -> AppResult<bool> {
    let mut work = Work::begin(core, actor).await?;
    work.role_in(organization_id).await?;
    let org = work.lock(organization_id).await?;
    if org.personal {
        return Err(AppError::conflict(
            "You cannot leave your personal organization.",
        ));
    }
    let mine = membership_of(&*work, organization_id, actor.id()?)
        .await?
        .ok_or(AppError::NotFound("Organization"))?;
    remove(&mut work, mine, "member.left").await?;
    work.commit().await?;
    Ok(true)
}

/// Makes a member the owner; the acting owner stays on as an admin.
pub async fn transfer_ownership(
    core: &Core,
    actor: &Actor,
    organization_id: OrganizationId,
    to_user_id: UserId,
) -> AppResult<organization::Model> {
    let me = actor.id()?;
    let work = Work::begin(core, actor).await?;
    work.role_in(organization_id).await?;
    let org = work.lock(organization_id).await?;
    let mine = membership_of(&*work, organization_id, me)
        .await?
        .ok_or(AppError::NotFound("Organization"))?;
    mine.role.require(Permission::OwnershipTransfer)?;
    if to_user_id == me {
        return Err(AppError::bad_input(
            "toUserId",
            "You already own this organization.",
        ));
    }
    let target = membership_of(&*work, organization_id, to_user_id)
        .await?
        .ok_or(AppError::NotFound("Member"))?;
    let from_role = target.role;
    let target = set_role(&*work, target, Role::Owner).await?;
    set_role(&*work, mine, Role::Admin).await?;
    let metadata = json!({ "from": me.global(), "to": to_user_id.global(), "previousRole": from_role.as_str() });
    work.audit(
        organization_id,
        Event::on("organization.ownership_transferred", target.id, metadata),
    )
    .await?;
    work.commit().await?;
    Ok(org)
}

/// Refuses to delete a user who is the only owner of an organization that
/// has other members; deletes the organizations they are alone in.
pub async fn before_user_deleted(work: &mut Work<'_>, user_id: UserId) -> AppResult<()> {
    let mine = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .all(&**work)
        .await?;
    for m in mine {
        let members = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(m.organization_id))
            .count(&**work)
            .await?;
        if members == 1 {
            organization::Entity::delete_by_id(m.organization_id)
                .exec(&**work)
                .await?;
            continue;
        }
        if m.role == Role::Owner && owner_count(&**work, m.organization_id).await? == 1 {
            return Err(AppError::conflict(
                "You are the only owner of an organization with other members; transfer it or remove them first.",
            ));
        }
        // Removed here rather than by the cascade, so the seat count that
        // follows no longer includes them.
        membership::Entity::delete_by_id(m.id).exec(&**work).await?;
        work.count(m.organization_id, counters::MEMBERS, -1).await?;
        work.members_changed(m.organization_id).await?;
    }
    Ok(())
}

/// The organizations in which the user is the only member: they go with
/// the account.
pub async fn alone_in(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> AppResult<Vec<OrganizationId>> {
    let mine = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .all(conn)
        .await?;
    let ids: Vec<OrganizationId> = mine.into_iter().map(|m| m.organization_id).collect();
    let counts = crate::billing::entitlements::member_counts(conn, &ids).await?;
    Ok(ids
        .into_iter()
        .filter(|id| counts.get(id).copied().unwrap_or(0) <= 1)
        .collect())
}
