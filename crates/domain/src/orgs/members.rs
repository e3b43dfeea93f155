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
    entity::{membership, organization},
    service::{lock, membership_of, role_in},
};
use crate::{
    Core,
    access::{Permission, Role},
    audit::{self, Actor, Event},
    error::{AppError, AppResult},
    ids::NodeType,
};

/// A membership the actor may see: one of an organization the actor
/// belongs to; any other is `NOT_FOUND`.
async fn visible_membership(
    conn: &impl ConnectionTrait,
    membership_id: &str,
    actor: &Actor,
) -> AppResult<(membership::Model, Role)> {
    let target = membership::Entity::find_by_id(membership_id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("Membership"))?;
    let role = role_in(conn, &target.organization_id, actor)
        .await
        .map_err(|_| AppError::NotFound("Membership"))?;
    Ok((target, role))
}

async fn owner_count(conn: &impl ConnectionTrait, organization_id: &str) -> AppResult<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.eq(Role::Owner.as_str()))
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
    model.role = Set(role.as_str().to_owned());
    model.updated_at = Set(Utc::now());
    Ok(model.update(conn).await?)
}

fn member_event<'a>(
    action: &'a str,
    m: &'a membership::Model,
    metadata: serde_json::Value,
) -> Event<'a> {
    Event {
        action,
        target_type: "membership",
        target_id: &m.id,
        metadata,
    }
}

pub async fn update_member_role(
    core: &Core,
    actor: &Actor,
    membership_id: &str,
    role: Role,
) -> AppResult<membership::Model> {
    let txn = core.begin().await?;
    let (target, my_role) = visible_membership(&txn, membership_id, actor).await?;
    my_role.require(Permission::MemberUpdateRole)?;
    lock(&txn, &target.organization_id).await?;
    // Read again under the lock: a concurrent change may have come first.
    let (target, my_role) = visible_membership(&txn, membership_id, actor).await?;
    my_role.require(Permission::MemberUpdateRole)?;
    let current = target.role()?;
    if !my_role.may_manage(current) || !my_role.may_grant(role) {
        return Err(AppError::forbidden(
            "Only an owner can change owners or make someone owner.",
        ));
    }
    if current == role {
        txn.commit().await?;
        return Ok(target);
    }
    if current == Role::Owner && owner_count(&txn, &target.organization_id).await? <= 1 {
        return Err(last_owner());
    }
    let org_id = target.organization_id.clone();
    let updated = set_role(&txn, target, role).await?;
    let metadata = json!({ "userId": NodeType::User.global(&updated.user_id), "from": current.as_str(), "to": role.as_str() });
    audit::record(
        &txn,
        &org_id,
        actor,
        member_event("member.role_updated", &updated, metadata),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

pub async fn remove_member(core: &Core, actor: &Actor, membership_id: &str) -> AppResult<bool> {
    let txn = core.begin().await?;
    let (target, _) = visible_membership(&txn, membership_id, actor).await?;
    lock(&txn, &target.organization_id).await?;
    let (target, my_role) = visible_membership(&txn, membership_id, actor).await?;
    my_role.require(Permission::MemberRemove)?;
    let current = target.role()?;
    if !my_role.may_manage(current) {
        return Err(AppError::forbidden("Only an owner can remove an owner."));
    }
    remove(&txn, core, actor, target, "member.removed").await?;
    txn.commit().await?;
    core.seat_sync.notify_one();
    Ok(true)
}

/// Removes a membership unless it holds the organization's last owner.
/// The caller holds the organization's lock.
async fn remove(
    conn: &impl ConnectionTrait,
    core: &Core,
    actor: &Actor,
    target: membership::Model,
    action: &str,
) -> AppResult<()> {
    let role = target.role()?;
    if role == Role::Owner && owner_count(conn, &target.organization_id).await? <= 1 {
        return Err(last_owner());
    }
    membership::Entity::delete_by_id(&target.id)
        .exec(conn)
        .await?;
    let metadata =
        json!({ "userId": NodeType::User.global(&target.user_id), "role": role.as_str() });
    audit::record(
        conn,
        &target.organization_id,
        actor,
        member_event(action, &target, metadata),
    )
    .await?;
    crate::billing::seats::members_changed(conn, core, &target.organization_id).await
}

pub async fn leave(core: &Core, actor: &Actor, organization_id: &str) -> AppResult<bool> {
    let txn = core.begin().await?;
    role_in(&txn, organization_id, actor).await?;
    let org = lock(&txn, organization_id).await?;
    if org.personal {
        return Err(AppError::conflict(
            "You cannot leave your personal organization.",
        ));
    }
    let mine = membership_of(&txn, organization_id, actor.id())
        .await?
        .ok_or(AppError::NotFound("Organization"))?;
    remove(&txn, core, actor, mine, "member.left").await?;
    txn.commit().await?;
    core.seat_sync.notify_one();
    Ok(true)
}

/// Makes a member the owner; the acting owner stays on as an admin.
pub async fn transfer_ownership(
    core: &Core,
    actor: &Actor,
    organization_id: &str,
    to_user_id: &str,
) -> AppResult<organization::Model> {
    let txn = core.begin().await?;
    role_in(&txn, organization_id, actor).await?;
    let org = lock(&txn, organization_id).await?;
    let mine = membership_of(&txn, organization_id, actor.id())
        .await?
        .ok_or(AppError::NotFound("Organization"))?;
    mine.role()?.require(Permission::OwnershipTransfer)?;
    if to_user_id == actor.id() {
        return Err(AppError::bad_input(
            "toUserId",
            "You already own this organization.",
        ));
    }
    let target = membership_of(&txn, organization_id, to_user_id)
        .await?
        .ok_or(AppError::NotFound("Member"))?;
    let from_role = target.role()?;
    let target = set_role(&txn, target, Role::Owner).await?;
    set_role(&txn, mine, Role::Admin).await?;
    let metadata = json!({ "from": NodeType::User.global(actor.id()), "to": NodeType::User.global(to_user_id), "previousRole": from_role.as_str() });
    audit::record(
        &txn,
        organization_id,
        actor,
        Event {
            action: "organization.ownership_transferred",
            target_type: "membership",
            target_id: &target.id,
            metadata,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(org)
}

/// Refuses to delete a user who is the only owner of an organization that
/// has other members; deletes the organizations they are alone in.
pub async fn before_user_deleted(
    conn: &impl ConnectionTrait,
    core: &Core,
    user_id: &str,
) -> AppResult<()> {
    let mine = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .all(conn)
        .await?;
    for m in mine {
        let members = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(&m.organization_id))
            .count(conn)
            .await?;
        if members == 1 {
            organization::Entity::delete_by_id(&m.organization_id)
                .exec(conn)
                .await?;
            continue;
        }
        if m.role()? == Role::Owner && owner_count(conn, &m.organization_id).await? == 1 {
            return Err(AppError::conflict(
                "You are the only owner of an organization with other members; transfer it or remove them first.",
            ));
        }
        // Removed here rather than by the cascade, so the seat count that
        // follows no longer includes them.
        membership::Entity::delete_by_id(&m.id).exec(conn).await?;
        crate::billing::seats::members_changed(conn, core, &m.organization_id).await?;
    }
    Ok(())
}

/// The organizations in which the user is the only member: they go with
/// the account.
pub async fn alone_in(conn: &impl ConnectionTrait, user_id: &str) -> AppResult<Vec<String>> {
    let mine = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .all(conn)
        .await?;
    let ids: Vec<String> = mine.into_iter().map(|m| m.organization_id).collect();
    let counts = crate::billing::entitlements::member_counts(conn, &ids).await?;
    Ok(ids
        .into_iter()
        .filter(|id| counts.get(id).copied().unwrap_or(0) <= 1)
        .collect())
}
