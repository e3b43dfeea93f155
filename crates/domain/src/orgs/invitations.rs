//! Invitations: sent by email with a single-use link, accepted by a signed-in
//! user whose verified email is the invited one, or at sign-up.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use serde_json::json;

use super::{
    entity::{invitation, membership, organization},
    service::{self, add_member, lock, role_in},
};
use crate::{
    Core,
    access::{Permission, Role},
    audit::{self, Actor, Event},
    auth::{entity::user, validate},
    crypto,
    error::{AppError, AppResult},
    mail::{outbox, templates},
};

/// The stored statuses; EXPIRED is what a PENDING one past its expiry shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Accepted => "ACCEPTED",
            Self::Declined => "DECLINED",
            Self::Revoked => "REVOKED",
            Self::Expired => "EXPIRED",
        }
    }

    /// What an invitation shows at `now`.
    pub fn of(invitation: &invitation::Model, now: DateTime<Utc>) -> Self {
        match invitation.status.as_str() {
            "PENDING" if invitation.expires_at <= now => Self::Expired,
            "PENDING" => Self::Pending,
            "ACCEPTED" => Self::Accepted,
            "DECLINED" => Self::Declined,
            _ => Self::Revoked,
        }
    }
}

/// Ends a pending invitation with `status`; false when it was no longer
/// pending (or, unless revoked, had expired). Conditional on the status, so
/// of two concurrent requests only one ends it.
async fn close(
    conn: &impl ConnectionTrait,
    id: &str,
    status: InvitationStatus,
    accepted_by: Option<&str>,
) -> AppResult<bool> {
    let now = Utc::now();
    let mut update = invitation::Entity::update_many()
        .col_expr(invitation::Column::Status, Expr::value(status.as_str()))
        .col_expr(invitation::Column::RespondedAt, Expr::value(now))
        .col_expr(invitation::Column::UpdatedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending.as_str()));
    if let Some(user) = accepted_by {
        update = update.col_expr(invitation::Column::AcceptedBy, Expr::value(user));
    }
    if status != InvitationStatus::Revoked {
        update = update.filter(invitation::Column::ExpiresAt.gt(now));
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

fn invalid_link() -> AppError {
    AppError::NotFound("Invitation")
}

async fn find_by_token(conn: &impl ConnectionTrait, token: &str) -> AppResult<invitation::Model> {
    let token = token.trim();
    if !crypto::is_token(token) {
        return Err(invalid_link());
    }
    invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(crypto::token_hash(token)))
        .one(conn)
        .await?
        .ok_or_else(invalid_link)
}

/// An invitation of an organization the actor may manage invitations of;
/// anyone else gets `NOT_FOUND`, whatever the id.
async fn managed(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: &str,
) -> AppResult<(invitation::Model, Role)> {
    let found = invitation::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("Invitation"))?;
    let role = role_in(conn, &found.organization_id, actor)
        .await
        .map_err(|_| AppError::NotFound("Invitation"))?;
    role.require(Permission::MemberInvite)?;
    Ok((found, role))
}

fn invitation_event<'a>(action: &'a str, inv: &'a invitation::Model) -> Event<'a> {
    Event {
        action,
        target_type: "invitation",
        target_id: &inv.id,
        metadata: json!({ "email": inv.email, "role": inv.role }),
    }
}

async fn send_invitation_mail(
    conn: &impl ConnectionTrait,
    core: &Core,
    org: &organization::Model,
    inviter: Option<&str>,
    inv: &invitation::Model,
    token: &str,
) -> AppResult<()> {
    let inviter_name = match inviter {
        Some(id) => user::Entity::find_by_id(id)
            .one(conn)
            .await?
            .map(|u| u.name),
        None => None,
    };
    let link = format!("{}/invitations/accept?token={token}", core.config.app_url);
    let expires = inv.expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let mail = templates::invitation(
        &org.name,
        inviter_name.as_deref(),
        &inv.role,
        &link,
        &expires,
    );
    outbox::enqueue(conn, &inv.email, mail).await
}

pub async fn invite(
    core: &Core,
    actor: &Actor,
    organization_id: &str,
    email: &str,
    role: Role,
) -> AppResult<invitation::Model> {
    let email = validate::email("email", email)?;
    let txn = core.begin().await?;
    let my_role = role_in(&txn, organization_id, actor).await?;
    my_role.require(Permission::MemberInvite)?;
    if !my_role.may_grant(role) {
        return Err(AppError::forbidden(
            "You cannot invite someone with a role above your own.",
        ));
    }
    let org = lock(&txn, organization_id).await?;
    if org.personal {
        return Err(AppError::conflict(
            "A personal organization cannot take invitations.",
        ));
    }
    let already_member = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(&org.id))
        .inner_join(user::Entity)
        .filter(user::Column::Email.eq(&email))
        .one(&txn)
        .await?
        .is_some();
    if already_member {
        return Err(AppError::conflict("This person is already a member."));
    }
    let now = Utc::now();
    let pending = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(&org.id))
        .filter(invitation::Column::Email.eq(&email))
        .filter(invitation::Column::Status.eq("PENDING"))
        .filter(invitation::Column::ExpiresAt.gt(now))
        .one(&txn)
        .await?;
    if pending.is_some() {
        return Err(AppError::conflict(
            "This email already has a pending invitation.",
        ));
    }
    crate::billing::entitlements::ensure_member_capacity(&txn, core, &org.id).await?;
    let token = crypto::random_token();
    let inv = invitation::ActiveModel {
        id: Set(crypto::new_id()),
        organization_id: Set(org.id.clone()),
        email: Set(email),
        role: Set(role.as_str().to_owned()),
        token_hash: Set(crypto::token_hash(&token)),
        invited_by: Set(actor.user_id.clone()),
        status: Set("PENDING".into()),
        expires_at: Set(now + core.config.invitation_ttl),
        accepted_by: Set(None),
        responded_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    send_invitation_mail(&txn, core, &org, actor.user_id.as_deref(), &inv, &token).await?;
    audit::record(
        &txn,
        &org.id,
        actor,
        invitation_event("invitation.created", &inv),
    )
    .await?;
    txn.commit().await?;
    Ok(inv)
}

/// A new link and expiry for a pending (or lapsed) invitation; the old link dies.
pub async fn resend(core: &Core, actor: &Actor, id: &str) -> AppResult<invitation::Model> {
    let txn = core.begin().await?;
    let (inv, _) = managed(&txn, actor, id).await?;
    let org = lock(&txn, &inv.organization_id).await?;
    let inv = invitation::Entity::find_by_id(&inv.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Invitation"))?;
    if inv.status != "PENDING" {
        return Err(AppError::conflict(
            "Only a pending invitation can be sent again.",
        ));
    }
    let token = crypto::random_token();
    let now = Utc::now();
    let mut model: invitation::ActiveModel = inv.into();
    model.token_hash = Set(crypto::token_hash(&token));
    model.expires_at = Set(now + core.config.invitation_ttl);
    model.updated_at = Set(now);
    let inv = model.update(&txn).await?;
    send_invitation_mail(&txn, core, &org, actor.user_id.as_deref(), &inv, &token).await?;
    audit::record(
        &txn,
        &org.id,
        actor,
        invitation_event("invitation.resent", &inv),
    )
    .await?;
    txn.commit().await?;
    Ok(inv)
}

pub async fn revoke(core: &Core, actor: &Actor, id: &str) -> AppResult<invitation::Model> {
    let txn = core.begin().await?;
    let (inv, _) = managed(&txn, actor, id).await?;
    // Revoking a lapsed invitation is allowed: it tidies the list.
    if !close(&txn, &inv.id, InvitationStatus::Revoked, None).await? {
        return Err(AppError::conflict(
            "Only a pending invitation can be revoked.",
        ));
    }
    let inv = invitation::Entity::find_by_id(&inv.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Invitation"))?;
    audit::record(
        &txn,
        &inv.organization_id,
        actor,
        invitation_event("invitation.revoked", &inv),
    )
    .await?;
    txn.commit().await?;
    Ok(inv)
}

/// What a link points at, for anyone holding it.
pub async fn preview(
    core: &Core,
    token: &str,
) -> AppResult<Option<(invitation::Model, organization::Model, Option<user::Model>)>> {
    let Ok(inv) = find_by_token(&core.db, token).await else {
        return Ok(None);
    };
    let Some(org) = organization::Entity::find_by_id(&inv.organization_id)
        .one(&core.db)
        .await?
    else {
        return Ok(None);
    };
    let inviter = match &inv.invited_by {
        Some(id) => user::Entity::find_by_id(id).one(&core.db).await?,
        None => None,
    };
    Ok(Some((inv, org, inviter)))
}

/// Marks a live invitation accepted by `user` and makes them a member.
/// The status change is conditional, so one invitation makes one member
/// however many requests race for it.
async fn join(
    conn: &impl ConnectionTrait,
    core: &Core,
    inv: &invitation::Model,
    user: &user::Model,
    actor: &Actor,
) -> AppResult<membership::Model> {
    lock(conn, &inv.organization_id).await?;
    if !close(conn, &inv.id, InvitationStatus::Accepted, Some(&user.id)).await? {
        return Err(AppError::forbidden("This invitation is no longer valid."));
    }
    if service::membership_of(conn, &inv.organization_id, &user.id)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "You are already a member of this organization.",
        ));
    }
    let role: Role = inv.role.parse()?;
    let member = add_member(conn, &inv.organization_id, &user.id, role).await?;
    audit::record(
        conn,
        &inv.organization_id,
        actor,
        invitation_event("invitation.accepted", inv),
    )
    .await?;
    audit::record(
        conn,
        &inv.organization_id,
        actor,
        member_joined(&member, role),
    )
    .await?;
    crate::billing::seats::members_changed(conn, core, &inv.organization_id).await?;
    Ok(member)
}

fn member_joined(member: &membership::Model, role: Role) -> Event<'_> {
    Event {
        action: "member.joined",
        target_type: "membership",
        target_id: &member.id,
        metadata: json!({ "userId": crate::ids::NodeType::User.global(&member.user_id), "role": role.as_str() }),
    }
}

/// Accepts for the signed-in user, whose verified email must be the invited one.
pub async fn accept(
    core: &Core,
    actor: &Actor,
    user: &user::Model,
    token: &str,
) -> AppResult<membership::Model> {
    let txn = core.begin().await?;
    let inv = find_by_token(&txn, token).await?;
    if InvitationStatus::of(&inv, Utc::now()) != InvitationStatus::Pending {
        return Err(AppError::forbidden("This invitation is no longer valid."));
    }
    if user.email != inv.email {
        return Err(AppError::forbidden(
            "This invitation was sent to another email address.",
        ));
    }
    // The link proves the address, but this account never did: it may be
    // someone else's who took the address first (`accepts_proof_of_address`).
    if !crate::auth::service::accepts_proof_of_address(user) {
        return Err(AppError::forbidden(
            "Confirm your email address before accepting: use the link we mailed you, \
             or reset your password, which confirms it too.",
        ));
    }
    let member = join(&txn, core, &inv, user, actor).await?;
    txn.commit().await?;
    core.seat_sync.notify_one();
    Ok(member)
}

/// Declines by link: holding the link is what proves it was received.
pub async fn decline(core: &Core, actor: &Actor, token: &str) -> AppResult<bool> {
    let txn = core.begin().await?;
    let inv = find_by_token(&txn, token).await?;
    if !close(&txn, &inv.id, InvitationStatus::Declined, None).await? {
        return Err(AppError::forbidden("This invitation is no longer valid."));
    }
    audit::record(
        &txn,
        &inv.organization_id,
        actor,
        invitation_event("invitation.declined", &inv),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// For a new user signing up with an invitation link: the email must be the
/// invited one; it counts as verified, and the user joins at once.
pub async fn check_at_sign_up(
    conn: &impl ConnectionTrait,
    token: &str,
    email: &str,
) -> AppResult<invitation::Model> {
    let inv = find_by_token(conn, token).await.map_err(|e| match e {
        AppError::NotFound(_) => AppError::bad_input(
            "invitationToken",
            "This invitation is invalid or has expired.",
        ),
        other => other,
    })?;
    if InvitationStatus::of(&inv, Utc::now()) != InvitationStatus::Pending {
        return Err(AppError::bad_input(
            "invitationToken",
            "This invitation is invalid or has expired.",
        ));
    }
    if inv.email != email {
        return Err(AppError::bad_input(
            "email",
            "Sign up with the email address the invitation was sent to.",
        ));
    }
    Ok(inv)
}

/// Completes `check_at_sign_up` once the user exists.
pub async fn join_at_sign_up(
    conn: &impl ConnectionTrait,
    core: &Core,
    inv: &invitation::Model,
    user: &user::Model,
    actor: &Actor,
) -> AppResult<membership::Model> {
    join(conn, core, inv, user, actor).await
}
