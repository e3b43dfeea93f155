//! The organizations slice of the schema: the organization's own fields,
//! memberships and invitations, and their mutations.

pub mod loaders;

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use self::loaders::{MemberPages, MembershipOf, OrganizationRows};
use crate::{
    access::{Permission, Role},
    actor::Actor,
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        enums,
        guards::{OrgPermission, SignedIn},
        ids::{gid, parse},
        loaders::{ByColumn, Counters, RowsByColumn, RowsById},
        node::NodeKind,
        pagination::{Page, list_cost, page, page_cost},
    },
    ids::{OrganizationId, UserId},
    orgs::{
        entity::{InvitationId, MembershipId, invitation, membership, organization},
        invitations::{self, InvitationStatus},
        members, service,
    },
    page::PageArgs,
    slices::{
        Organization,
        auth::{User, load_user},
    },
};

/// An organization and the viewer's role in it: what every part of
/// `Organization` is built from, so each field knows the role without a
/// further lookup.
#[derive(Clone)]
pub struct OrgView(Arc<OrgViewInner>);

pub struct OrgViewInner {
    pub model: organization::Model,
    pub role: Role,
}

impl OrgView {
    pub fn new(model: organization::Model, role: Role) -> Self {
        Self(Arc::new(OrgViewInner { model, role }))
    }
}

impl std::ops::Deref for OrgView {
    type Target = OrgViewInner;

    fn deref(&self) -> &OrgViewInner {
        &self.0
    }
}

fn organization(model: organization::Model, role: Role) -> Organization {
    OrgView::new(model, role).into()
}

/// The organization as the viewer sees it, through the request's loaders;
/// `None` when the viewer is not a member (or it does not exist).
pub async fn load_for_viewer(
    ctx: &Context<'_>,
    organization_id: OrganizationId,
) -> AppResult<Option<Organization>> {
    Ok(view_for_viewer(ctx, organization_id)
        .await?
        .map(Organization::from))
}

/// The organization and the viewer's role in it, if the viewer is a member.
pub async fn view_for_viewer(
    ctx: &Context<'_>,
    organization_id: OrganizationId,
) -> AppResult<Option<OrgView>> {
    let Some(viewer) = ctx.request().viewer.as_ref() else {
        return Ok(None);
    };
    let membership = ctx.loader::<MembershipOf>()?;
    let Some(membership) = membership
        .load_one((viewer.user.id, organization_id))
        .await?
    else {
        return Ok(None);
    };
    let rows = ctx.loader::<OrganizationRows>()?;
    let Some(model) = rows.load_one(organization_id).await? else {
        return Ok(None);
    };
    Ok(Some(OrgView::new(model, membership.role)))
}

/// Like `load_for_viewer`, for fields that cannot be null.
pub async fn require_for_viewer(
    ctx: &Context<'_>,
    organization_id: OrganizationId,
) -> AppResult<Organization> {
    load_for_viewer(ctx, organization_id)
        .await?
        .ok_or(AppError::NotFound("Organization"))
}

impl NodeKind for Organization {
    type Id = OrganizationId;

    async fn find(ctx: &Context<'_>, id: OrganizationId) -> AppResult<Option<Self>> {
        load_for_viewer(ctx, id).await
    }
}

impl Organization {
    /// `Node.id`: the merged object's own `id` field comes from
    /// `OrganizationFields`.
    pub async fn id(&self, _ctx: &Context<'_>) -> async_graphql::Result<ID> {
        Ok(gid(self.0.0.model.id))
    }
}

/// An organization's own fields: who it is, the viewer's role, members
/// and invitations.
#[derive(Clone)]
pub struct OrganizationFields(OrgView);

impl From<OrgView> for OrganizationFields {
    fn from(view: OrgView) -> Self {
        Self(view)
    }
}

#[Object]
impl OrganizationFields {
    async fn id(&self) -> ID {
        gid(self.0.model.id)
    }

    async fn name(&self) -> &str {
        &self.0.model.name
    }

    async fn slug(&self) -> &str {
        &self.0.model.slug
    }

    async fn personal(&self) -> bool {
        self.0.model.personal
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.model.created_at
    }

    async fn viewer_role(&self) -> enums::Role {
        self.0.role.into()
    }

    /// What the viewer's role allows here.
    async fn viewer_permissions(&self) -> Vec<enums::Permission> {
        enums::all(&self.0.role.permissions())
    }

    /// Members in joining order.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Page<Membership>> {
        let args = PageArgs::parse(first, after)?;
        let id = self.0.model.id;
        let (pages, counts) = (ctx.loader::<MemberPages>()?, ctx.loader::<Counters>()?);
        let (rows, total) = futures_util::try_join!(
            pages.load_one((id, args.clone())),
            counts.load_one((id, crate::counters::MEMBERS))
        )?;
        let rows = rows
            .unwrap_or_default()
            .into_iter()
            .map(|(m, user)| {
                (
                    m.id.0,
                    Membership {
                        model: m,
                        user: Some(user),
                    },
                )
            })
            .collect();
        Ok(page(rows, &args, total.unwrap_or(0)))
    }

    /// Invitations, newest first; for those who may invite.
    #[graphql(
        guard = "OrgPermission(self.0.role, Permission::MemberInvite)",
        complexity = "list_cost(child_complexity)"
    )]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        status: Option<enums::InvitationStatus>,
    ) -> AppResult<Vec<Invitation>> {
        let status = status.map(InvitationStatus::from);
        let all = ctx
            .loader::<RowsByColumn<InvitationsOf>>()?
            .load_one(self.0.model.id)
            .await?
            .unwrap_or_default();
        let now = Utc::now();
        Ok(all
            .into_iter()
            .filter(|i| status.is_none_or(|s| InvitationStatus::of(i, now) == s))
            .map(Invitation)
            .collect())
    }
}

/// An organization's invitations.
pub struct InvitationsOf;

impl ByColumn for InvitationsOf {
    type Entity = invitation::Entity;
    type Key = OrganizationId;
    const COLUMN: invitation::Column = invitation::Column::OrganizationId;
}

#[derive(Clone)]
pub struct Membership {
    pub model: membership::Model,
    /// The member when read together with the membership; loaded otherwise.
    pub user: Option<crate::auth::entity::user::Model>,
}

impl From<membership::Model> for Membership {
    fn from(model: membership::Model) -> Self {
        Self { model, user: None }
    }
}

impl NodeKind for Membership {
    type Id = MembershipId;

    /// Visible to the organization's members.
    async fn find(ctx: &Context<'_>, id: MembershipId) -> AppResult<Option<Self>> {
        let rows = ctx.loader::<RowsById<membership::Entity, MembershipId>>()?;
        let Some(model) = rows.load_one(id).await? else {
            return Ok(None);
        };
        Ok(view_for_viewer(ctx, model.organization_id)
            .await?
            .map(|_| Membership::from(model)))
    }
}

#[Object]
impl Membership {
    pub async fn id(&self) -> ID {
        gid(self.model.id)
    }

    async fn role(&self) -> enums::Role {
        self.model.role.into()
    }

    async fn user(&self, ctx: &Context<'_>) -> AppResult<User> {
        if let Some(user) = &self.user {
            return Ok(User::from(user.clone()));
        }
        load_user(ctx, Some(self.model.user_id))
            .await?
            .ok_or(AppError::NotFound("User"))
    }

    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        require_for_viewer(ctx, self.model.organization_id).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}

#[derive(Clone)]
pub struct Invitation(pub invitation::Model);

impl NodeKind for Invitation {
    type Id = InvitationId;

    /// Visible to members who may invite, and to the invitee once the
    /// viewer's email is verified as the invited one.
    async fn find(ctx: &Context<'_>, id: InvitationId) -> AppResult<Option<Self>> {
        let Some(viewer) = ctx.request().viewer.as_ref() else {
            return Ok(None);
        };
        let rows = ctx.loader::<RowsById<invitation::Entity, InvitationId>>()?;
        let Some(model) = rows.load_one(id).await? else {
            return Ok(None);
        };
        let invitee = viewer.user.email_verified_at.is_some() && viewer.user.email == model.email;
        let inviter = view_for_viewer(ctx, model.organization_id)
            .await?
            .is_some_and(|org| org.role.can(Permission::MemberInvite));
        Ok((invitee || inviter).then_some(Invitation(model)))
    }
}

#[Object]
impl Invitation {
    pub async fn id(&self) -> ID {
        gid(self.0.id)
    }

    async fn email(&self) -> &str {
        self.0.email.as_str()
    }

    async fn role(&self) -> enums::Role {
        self.0.role.into()
    }

    async fn status(&self) -> enums::InvitationStatus {
        InvitationStatus::of(&self.0, Utc::now()).into()
    }

    /// For members; the invitee, not yet one, reads `organizationName`.
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        require_for_viewer(ctx, self.0.organization_id).await
    }

    /// The inviting organization's name, readable by the invitee too.
    async fn organization_name(&self, ctx: &Context<'_>) -> AppResult<String> {
        ctx.loader::<OrganizationRows>()?
            .load_one(self.0.organization_id)
            .await?
            .map(|o| o.name)
            .ok_or(AppError::NotFound("Organization"))
    }

    async fn invited_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        load_user(ctx, self.0.invited_by).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
}

/// What an invitation link points at, readable without signing in.
pub struct InvitationPreview {
    invitation: invitation::Model,
    organization_name: String,
    inviter_name: Option<String>,
}

#[Object]
impl InvitationPreview {
    async fn organization_name(&self) -> &str {
        &self.organization_name
    }

    async fn inviter_name(&self) -> Option<&str> {
        self.inviter_name.as_deref()
    }

    async fn email(&self) -> &str {
        self.invitation.email.as_str()
    }

    async fn role(&self) -> enums::Role {
        self.invitation.role.into()
    }

    async fn status(&self) -> enums::InvitationStatus {
        InvitationStatus::of(&self.invitation, Utc::now()).into()
    }

    async fn expires_at(&self) -> DateTime<Utc> {
        self.invitation.expires_at
    }
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    name: String,
    /// Made from the name when absent.
    slug: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    name: Option<String>,
    slug: Option<String>,
}

#[derive(InputObject)]
pub struct InviteMemberInput {
    organization_id: ID,
    email: String,
    role: enums::Role,
}

#[derive(Default)]
pub struct OrgQuery;

#[Object]
impl OrgQuery {
    /// An organization the viewer belongs to, by id or slug.
    #[graphql(guard = "SignedIn")]
    async fn organization(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> AppResult<Option<Organization>> {
        let id = match (id, slug) {
            (Some(id), _) => match parse::<OrganizationId>(&id) {
                Ok(id) => id,
                Err(_) => return Ok(None),
            },
            (None, Some(slug)) => match service::id_for_slug(ctx.core(), &slug).await? {
                Some(id) => id,
                None => return Ok(None),
            },
            (None, None) => return Err(AppError::bad_input("id", "Give an id or a slug.")),
        };
        load_for_viewer(ctx, id).await
    }

    /// What an invitation link points at, readable without signing in.
    async fn invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> AppResult<Option<InvitationPreview>> {
        Ok(invitations::preview(ctx.core(), &token)
            .await?
            .map(|(invitation, org, inviter)| InvitationPreview {
                invitation,
                organization_name: org.name,
                inviter_name: inviter.map(|u| u.name),
            }))
    }
}

#[derive(Default)]
pub struct OrgMutation;

#[Object]
impl OrgMutation {
    #[graphql(guard = "SignedIn")]
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> AppResult<Organization> {
        let created = service::create(
            ctx.core(),
            &ctx.actor()?,
            &input.name,
            input.slug.as_deref(),
        )
        .await?;
        Ok(organization(created, Role::Owner))
    }

    #[graphql(guard = "SignedIn")]
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateOrganizationInput,
    ) -> AppResult<Organization> {
        let (updated, role) = service::update(
            ctx.core(),
            &ctx.actor()?,
            parse(&id)?,
            input.name.as_deref(),
            input.slug.as_deref(),
        )
        .await?;
        Ok(organization(updated, role))
    }

    #[graphql(guard = "SignedIn")]
    async fn delete_organization(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        service::delete(ctx.core(), &ctx.actor()?, parse(&id)?).await
    }

    #[graphql(guard = "SignedIn")]
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> AppResult<Invitation> {
        let invitation = invitations::invite(
            ctx.core(),
            &ctx.actor()?,
            parse(&input.organization_id)?,
            &input.email,
            input.role.into(),
        )
        .await?;
        Ok(Invitation(invitation))
    }

    #[graphql(guard = "SignedIn")]
    async fn resend_invitation(&self, ctx: &Context<'_>, id: ID) -> AppResult<Invitation> {
        let resent = invitations::resend(ctx.core(), &ctx.actor()?, parse(&id)?).await?;
        Ok(Invitation(resent))
    }

    #[graphql(guard = "SignedIn")]
    async fn revoke_invitation(&self, ctx: &Context<'_>, id: ID) -> AppResult<Invitation> {
        let revoked = invitations::revoke(ctx.core(), &ctx.actor()?, parse(&id)?).await?;
        Ok(Invitation(revoked))
    }

    #[graphql(guard = "SignedIn")]
    async fn accept_invitation(&self, ctx: &Context<'_>, token: String) -> AppResult<Membership> {
        let viewer = ctx.viewer()?;
        let member = invitations::accept(ctx.core(), &ctx.actor()?, &viewer.user, &token).await?;
        Ok(member.into())
    }

    async fn decline_invitation(&self, ctx: &Context<'_>, token: String) -> AppResult<bool> {
        let actor = match ctx.request().viewer.as_ref() {
            Some(_) => ctx.actor()?,
            None => Actor::anonymous(ctx.meta()),
        };
        invitations::decline(ctx.core(), &actor, &token).await
    }

    #[graphql(guard = "SignedIn")]
    async fn update_member_role(
        &self,
        ctx: &Context<'_>,
        membership_id: ID,
        role: enums::Role,
    ) -> AppResult<Membership> {
        let updated = members::update_member_role(
            ctx.core(),
            &ctx.actor()?,
            parse(&membership_id)?,
            role.into(),
        )
        .await?;
        Ok(updated.into())
    }

    #[graphql(guard = "SignedIn")]
    async fn remove_member(&self, ctx: &Context<'_>, membership_id: ID) -> AppResult<bool> {
        members::remove_member(ctx.core(), &ctx.actor()?, parse(&membership_id)?).await
    }

    #[graphql(guard = "SignedIn")]
    async fn leave_organization(&self, ctx: &Context<'_>, organization_id: ID) -> AppResult<bool> {
        members::leave(ctx.core(), &ctx.actor()?, parse(&organization_id)?).await
    }

    #[graphql(guard = "SignedIn")]
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        to_user_id: ID,
    ) -> AppResult<Organization> {
        // A user id that cannot be one is a member that cannot be found.
        let to_user_id = parse::<UserId>(&to_user_id).map_err(|_| AppError::NotFound("Member"))?;
        let transferred = members::transfer_ownership(
            ctx.core(),
            &ctx.actor()?,
            parse(&organization_id)?,
            to_user_id,
        )
        .await?;
        Ok(organization(transferred, Role::Admin))
    }
}
