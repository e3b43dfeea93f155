//! Invitations: sent by email with a single-use link, accepted by a signed-in
//! user whose verified email is the invited one, or at sign-up.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use serde_json::json;

use super::{
    MEMBERS,
    entity::{InvitationId, InvitationState, invitation, membership, organization},
    service::{self, add_member},
};
use crate::{
    Core,
    access::{Permission, Role},
    audit::{Actor, Event},
    auth::entity::user,
    crypto,
    email::EmailAddress,
    error::{AppError, AppResult},
    ids::{TypedId, UserId},
    mail::{outbox, templates},
    uow::Work,
};

/// What an invitation shows: its stored state, or EXPIRED for a pending
/// one past its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

impl InvitationStatus {
    /// What an invitation shows at `now`.
    pub fn of(invitation: &invitation::Model, now: DateTime<Utc>) -> Self {
        match invitation.status {
            InvitationState::Pending if invitation.expires_at <= now => Self::Expired,
            InvitationState::Pending => Self::Pending,
            InvitationState::Accepted => Self::Accepted,
            InvitationState::Declined => Self::Declined,
            InvitationState::Revoked => Self::Revoked,
        }
    }
}

/// Ends a pending invitation in `state`; false when it was no longer
/// pending (or, unless revoked, had expired). Conditional on the status, so
/// of two concurrent requests only one ends it.
async fn close(
    conn: &impl ConnectionTrait,
    id: InvitationId,
    state: InvitationState,
    accepted_by: Option<UserId>,
) -> AppResult<bool> {
    let now = Utc::now();
    let mut update = invitation::Entity::update_many()
        .col_expr(invitation::Column::Status, Expr::value(state))
        .col_expr(invitation::Column::RespondedAt, Expr::value(now))
        .col_expr(invitation::Column::UpdatedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(id))
        .filter(invitation::Column::Status.eq(InvitationState::Pending));
    if let Some(user) = accepted_by {
        update = update.col_expr(invitation::Column::AcceptedBy, Expr::value(user));
    }
    if state != InvitationState::Revoked {
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
async fn managed(work: &Work<'_>, id: InvitationId) -> AppResult<invitation::Model> {
    let found = invitation::Entity::find_by_id(id)
        .one(&**work)
        .await?
        .ok_or(AppError::NotFound("Invitation"))?;
    let role = work
        .role_in(found.organization_id)
        .await
        .map_err(|_| AppError::NotFound("Invitation"))?;
    role.require(Permission::MemberInvite)?;
    Ok(found)
}

fn invitation_event(action: &'static str, inv: &invitation::Model) -> Event {
    Event::on(
        action,
        inv.id,
        json!({ "email": inv.email, "role": inv.role.as_str() }),
    )
}

async fn send_invitation_mail(
    work: &Work<'_>,
    org: &organization::Model,
    inv: &invitation::Model,
    token: &str,
) -> AppResult<()> {
    let inviter_name = match work.actor().user_id {
        Some(id) => user::Entity::find_by_id(id)
            .one(&**work)
            .await?
            .map(|u| u.name),
        None => None,
    };
    let core = work.core();
    let link = format!("{}/invitations/accept?token={token}", core.config.app_url);
    let expires = inv.expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let mail = templates::invitation(
        &org.name,
        inviter_name.as_deref(),
        inv.role.as_str(),
        &link,
        &expires,
    );
    outbox::enqueue(&**work, inv.email.as_str(), mail).await
}

pub async fn invite(
    core: &Core,
    actor: &Actor,
    organization_id: crate::ids::OrganizationId,
    email: &str,
    role: Role,
) -> AppResult<invitation::Model> {
    let email = EmailAddress::parse("email", email)?;
    let work = Work::begin(core, actor).await?;
    let my_role = work
        .require(organization_id, Permission::MemberInvite)
        .await?;
    if !my_role.may_grant(role) {
        return Err(AppError::forbidden(
            "You cannot invite someone with a role above your own.",
        ));
    }
    let org = work.lock(organization_id).await?;
    if org.personal {
        return Err(AppError::conflict(
            "A personal organization cannot take invitations.",
        ));
    }
    let already_member = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org.id))
        .inner_join(user::Entity)
        .filter(user::Column::Email.eq(email.clone()))
        .one(&*work)
        .await?
        .is_some();
    if already_member {
        return Err(AppError::conflict("This person is already a member."));
    }
    let now = Utc::now();
    let pending = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(org.id))
        .filter(invitation::Column::Email.eq(email.clone()))
        .filter(invitation::Column::Status.eq(InvitationState::Pending))
        .filter(invitation::Column::ExpiresAt.gt(now))
        .one(&*work)
        .await?;
    if pending.is_some() {
        return Err(AppError::conflict(
            "This email already has a pending invitation.",
        ));
    }
    work.ensure_capacity(org.id, MEMBERS).await?;
    let token = crypto::random_token();
    let inv = invitation::ActiveModel {
        id: Set(InvitationId::new()),
        organization_id: Set(org.id),
        email: Set(email),
        role: Set(role),
        token_hash: Set(crypto::token_hash(&token)),
        invited_by: Set(actor.user_id),
        status: Set(InvitationState::Pending),
        expires_at: Set(now + core.config.invitation_ttl),
        accepted_by: Set(None),
        responded_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&*work)
    .await?;
    send_invitation_mail(&work, &org, &inv, &token).await?;
    work.audit(org.id, invitation_event("invitation.created", &inv))
        .await?;
    work.commit().await?;
    Ok(inv)
}

/// A new link and expiry for a pending (or lapsed) invitation; the old link dies.
pub async fn resend(core: &Core, actor: &Actor, id: InvitationId) -> AppResult<invitation::Model> {
    let work = Work::begin(core, actor).await?;
    let inv = managed(&work, id).await?;
    let org = work.lock(inv.organization_id).await?;
    let inv = invitation::Entity::find_by_id(inv.id)
        .one(&*work)
        .await?
        .ok_or(AppError::NotFound("Invitation"))?;
    if inv.status != InvitationState::Pending {
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
    let inv = model.update(&*work).await?;
    send_invitation_mail(&work, &org, &inv, &token).await?;
    work.audit(org.id, invitation_event("invitation.resent", &inv))
        .await?;
    work.commit().await?;
    Ok(inv)
}

pub async fn revoke(core: &Core, actor: &Actor, id: InvitationId) -> AppResult<invitation::Model> {
    let work = Work::begin(core, actor).await?;
    let inv = managed(&work, id).await?;
    // Revoking a lapsed invitation is allowed: it tidies the list.
    if !close(&*work, inv.id, InvitationState::Revoked, None).await? {
        return Err(AppError::conflict(
            "Only a pending invitation can be revoked.",
        ));
    }
    let inv = invitation::Entity::find_by_id(inv.id)
        .one(&*work)
        .await?
        .ok_or(AppError::NotFound("Invitation"))?;
    work.audit(
        inv.organization_id,
        invitation_event("invitation.revoked", &inv),
    )
    .await?;
    work.commit().await?;
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
    let Some(org) = organization::Entity::find_by_id(inv.organization_id)
        .one(&core.db)
        .await?
    else {
        return Ok(None);
    };
    let inviter = match inv.invited_by {
        Some(id) => user::Entity::find_by_id(id).one(&core.db).await?,
        None => None,
    };
    Ok(Some((inv, org, inviter)))
}

/// Marks a live invitation accepted by `user` and makes them a member.
/// The status change is conditional, so one invitation makes one member
/// however many requests race for it.
async fn join(
    work: &mut Work<'_>,
    inv: &invitation::Model,
    user: &user::Model,
) -> AppResult<membership::Model> {
    work.lock(inv.organization_id).await?;
    if !close(&**work, inv.id, InvitationState::Accepted, Some(user.id)).await? {
        return Err(AppError::forbidden("This invitation is no longer valid."));
    }
    if service::membership_of(&**work, inv.organization_id, user.id)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "You are already a member of this organization.",
        ));
    }
    let member = add_member(&**work, inv.organization_id, user.id, inv.role).await?;
    work.audit(
        inv.organization_id,
        invitation_event("invitation.accepted", inv),
    )
    .await?;
    let joined = json!({ "userId": member.user_id.global(), "role": inv.role.as_str() });
    work.audit(
        inv.organization_id,
        Event::on("member.joined", member.id, joined),
    )
    .await?;
    work.members_changed(inv.organization_id).await?;
    Ok(member)
}

/// Accepts for the signed-in user, whose verified email must be the invited one.
pub async fn accept(
    core: &Core,
    actor: &Actor,
    user: &user::Model,
    token: &str,
) -> AppResult<membership::Model> {
    let mut work = Work::begin(core, actor).await?;
    let inv = find_by_token(&*work, token).await?;
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
    let member = join(&mut work, &inv, user).await?;
    work.commit().await?;
    Ok(member)
}

/// Declines by link: holding the link is what proves it was received.
pub async fn decline(core: &Core, actor: &Actor, token: &str) -> AppResult<bool> {
    let work = Work::begin(core, actor).await?;
    let inv = find_by_token(&*work, token).await?;
    if !close(&*work, inv.id, InvitationState::Declined, None).await? {
        return Err(AppError::forbidden("This invitation is no longer valid."));
    }
    work.audit(
        inv.organization_id,
        invitation_event("invitation.declined", &inv),
    )
    .await?;
    work.commit().await?;
    Ok(true)
}

/// For a new user signing up with an invitation link: the email must be the
/// invited one; it counts as verified, and the user joins at once.
pub async fn check_at_sign_up(
    conn: &impl ConnectionTrait,
    token: &str,
    email: &EmailAddress,
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
    if inv.email != *email {
        return Err(AppError::bad_input(
            "email",
            "Sign up with the email address the invitation was sent to.",
        ));
    }
    Ok(inv)
}

/// Completes `check_at_sign_up` once the user exists, in the sign-up's work.
pub async fn join_at_sign_up(
    work: &mut Work<'_>,
    inv: &invitation::Model,
    user: &user::Model,
) -> AppResult<membership::Model> {
    join(work, inv, user).await
}
