//! The organizations slice of the schema.

pub mod loaders;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::{
    access::{Feature, Permission, Role},
    auth::entity::user,
    billing::entitlements::require_feature,
    error::{AppError, AppResult},
    graphql::enums,
    graphql::guards::{OrgPermission, SignedIn},
    graphql::node_id,
    graphql::{
        context::ContextExt,
        pagination::{Page, list_cost, page, page_cost},
    },
    ids::NodeType,
    orgs::{
        entity::{invitation, membership, organization},
        invitations::{self, InvitationStatus},
        members, service,
    },
    page::PageArgs,
    slices::audit::{AuditEvent, log_page as audit_log_page},
    slices::{
        auth::{User, load_user},
        billing::{BillingSubscription, Entitlements, plan_for},
        projects::{Project, ProjectFilter, loaders::ProjectFilterKey, projects_of},
    },
};

/// An organization as seen by one of its members: every field knows the
/// viewer's role, so permission checks need no further lookup.
#[derive(Clone)]
pub struct Organization {
    pub model: organization::Model,
    pub role: Role,
}

/// The organization as the viewer sees it, through the request's loaders;
/// `None` when the viewer is not a member (or it does not exist).
pub async fn load_for_viewer(
    ctx: &Context<'_>,
    organization_id: &str,
) -> AppResult<Option<Organization>> {
    let Some(viewer) = ctx.request().viewer.as_ref() else {
        return Ok(None);
    };
    let loaders = ctx.loaders()?;
    let key = (viewer.user.id.clone(), organization_id.to_owned());
    let Some(membership) = loaders.memberships.load_one(key).await? else {
        return Ok(None);
    };
    let Some(model) = loaders
        .organizations
        .load_one(organization_id.to_owned())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Organization {
        model,
        role: membership.role()?,
    }))
}

/// Like `load_for_viewer`, for fields that cannot be null.
pub async fn require_for_viewer(
    ctx: &Context<'_>,
    organization_id: &str,
) -> AppResult<Organization> {
    load_for_viewer(ctx, organization_id)
        .await?
        .ok_or(AppError::NotFound("Organization"))
}

/// `node(id:)` for a membership: visible to the organization's members.
pub async fn membership_node(ctx: &Context<'_>, id: &str) -> AppResult<Option<Membership>> {
    let Some(model) = ctx
        .loaders()?
        .membership_rows
        .load_one(id.to_owned())
        .await?
    else {
        return Ok(None);
    };
    Ok(load_for_viewer(ctx, &model.organization_id)
        .await?
        .map(|_| Membership::from(model)))
}

/// `node(id:)` for an invitation: visible to members who may invite, and to
/// the invitee once the viewer's email is verified as the invited one.
pub async fn invitation_node(ctx: &Context<'_>, id: &str) -> AppResult<Option<Invitation>> {
    let Some(viewer) = ctx.request().viewer.as_ref() else {
        return Ok(None);
    };
    let Some(model) = ctx
        .loaders()?
        .invitation_rows
        .load_one(id.to_owned())
        .await?
    else {
        return Ok(None);
    };
    let invitee = viewer.user.email_verified_at.is_some()
        && viewer.user.email.eq_ignore_ascii_case(&model.email);
    let inviter = load_for_viewer(ctx, &model.organization_id)
        .await?
        .is_some_and(|org| org.role.can(Permission::MemberInvite));
    Ok((invitee || inviter).then_some(Invitation(model)))
}

#[Object]
impl Organization {
    pub async fn id(&self) -> ID {
        node_id(NodeType::Organization, &self.model.id)
    }

    async fn name(&self) -> &str {
        &self.model.name
    }

    async fn slug(&self) -> &str {
        &self.model.slug
    }

    async fn personal(&self) -> bool {
        self.model.personal
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    async fn viewer_role(&self) -> enums::Role {
        self.role.into()
    }

    /// What the viewer's role allows here.
    async fn viewer_permissions(&self) -> Vec<enums::Permission> {
        enums::all(&self.role.permissions())
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
        let loaders = ctx.loaders()?;
        let (rows, total) = futures_util::try_join!(
            loaders
                .member_pages
                .load_one((self.model.id.clone(), args.clone())),
            loaders.member_counts.load_one(self.model.id.clone()),
        )?;
        let rows = rows
            .unwrap_or_default()
            .into_iter()
            .map(|(m, user)| {
                (
                    m.id.clone(),
                    Membership {
                        model: m,
                        user: Some(user),
                    },
                )
            })
            .collect();
        Ok(page(rows, &args, total.unwrap_or(0)))
    }

    /// Projects, newest first; active ones unless the filter asks for archived.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ProjectFilter>,
    ) -> AppResult<Page<Project>> {
        projects_of(ctx, &self.model.id, first, after, filter).await
    }

    /// The effective plan, and how much of its limits is used.
    async fn entitlements(&self, ctx: &Context<'_>) -> AppResult<Entitlements> {
        let loaders = ctx.loaders()?;
        let id = self.model.id.clone();
        let active = (id.clone(), ProjectFilterKey::default());
        let (plan, projects, members, pending) = futures_util::try_join!(
            plan_for(ctx, &id),
            loaders.project_counts.load_one(active),
            loaders.member_counts.load_one(id.clone()),
            loaders.pending_invitation_counts.load_one(id.clone()),
        )?;
        Ok(Entitlements {
            plan,
            projects_used: projects.unwrap_or(0),
            members_used: members.unwrap_or(0) + pending.unwrap_or(0),
        })
    }

    /// The Stripe subscription, for those who may read billing.
    #[graphql(guard = "OrgPermission(self.role, Permission::BillingRead)")]
    async fn subscription(&self, ctx: &Context<'_>) -> AppResult<Option<BillingSubscription>> {
        Ok(ctx
            .loaders()?
            .subscriptions
            .load_one(self.model.id.clone())
            .await?
            .map(BillingSubscription))
    }

    /// Newest first; needs AUDIT_LOG_READ and a plan with AUDIT_LOG.
    #[graphql(
        guard = "OrgPermission(self.role, Permission::AuditLogRead)",
        complexity = "page_cost(first, child_complexity)"
    )]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Page<AuditEvent>> {
        let args = PageArgs::parse(first, after)?;
        let plan = plan_for(ctx, &self.model.id).await?;
        require_feature(&plan, Feature::AuditLog)?;
        audit_log_page(ctx, &self.model.id, &args).await
    }

    /// Invitations, newest first; for those who may invite.
    #[graphql(
        guard = "OrgPermission(self.role, Permission::MemberInvite)",
        complexity = "list_cost(child_complexity)"
    )]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        status: Option<enums::InvitationStatus>,
    ) -> AppResult<Vec<Invitation>> {
        let status = status.map(InvitationStatus::from);
        let all = ctx
            .loaders()?
            .invitations_of_org
            .load_one(self.model.id.clone())
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

#[derive(Clone)]
pub struct Membership {
    pub model: membership::Model,
    /// The member when read together with the membership; loaded otherwise.
    pub user: Option<user::Model>,
}

impl From<membership::Model> for Membership {
    fn from(model: membership::Model) -> Self {
        Self { model, user: None }
    }
}

#[Object]
impl Membership {
    pub async fn id(&self) -> ID {
        node_id(NodeType::Membership, &self.model.id)
    }

    async fn role(&self) -> AppResult<enums::Role> {
        Ok(self.model.role()?.into())
    }

    async fn user(&self, ctx: &Context<'_>) -> AppResult<User> {
        if let Some(user) = &self.user {
            return Ok(User::from(user.clone()));
        }
        load_user(ctx, Some(&self.model.user_id))
            .await?
            .ok_or(AppError::NotFound("User"))
    }

    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        require_for_viewer(ctx, &self.model.organization_id).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}

#[derive(Clone)]
pub struct Invitation(pub invitation::Model);

#[Object]
impl Invitation {
    pub async fn id(&self) -> ID {
        node_id(NodeType::Invitation, &self.0.id)
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn role(&self) -> AppResult<enums::Role> {
        Ok(self.0.role.parse::<Role>()?.into())
    }

    async fn status(&self) -> enums::InvitationStatus {
        InvitationStatus::of(&self.0, Utc::now()).into()
    }

    /// For members; the invitee, not yet one, reads `organizationName`.
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        require_for_viewer(ctx, &self.0.organization_id).await
    }

    /// The inviting organization's name, readable by the invitee too.
    async fn organization_name(&self, ctx: &Context<'_>) -> AppResult<String> {
        ctx.loaders()?
            .organizations
            .load_one(self.0.organization_id.clone())
            .await?
            .map(|o| o.name)
            .ok_or(AppError::NotFound("Organization"))
    }

    async fn invited_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        load_user(ctx, self.0.invited_by.as_deref()).await
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
        &self.invitation.email
    }

    async fn role(&self) -> AppResult<enums::Role> {
        Ok(self.invitation.role.parse::<Role>()?.into())
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
        ctx.viewer()?;
        let id = match (id, slug) {
            (Some(id), _) => match NodeType::Organization.parse(&id) {
                Ok(id) => id,
                Err(_) => return Ok(None),
            },
            (None, Some(slug)) => match service::id_for_slug(ctx.core(), &slug).await? {
                Some(id) => id,
                None => return Ok(None),
            },
            (None, None) => return Err(AppError::bad_input("id", "Give an id or a slug.")),
        };
        load_for_viewer(ctx, &id).await
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

fn org(model: organization::Model, role: Role) -> Organization {
    Organization { model, role }
}

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
        Ok(org(created, Role::Owner))
    }

    #[graphql(guard = "SignedIn")]
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateOrganizationInput,
    ) -> AppResult<Organization> {
        let actor = ctx.actor()?;
        let id = NodeType::Organization.parse(&id)?;
        let updated = service::update(
            ctx.core(),
            &actor,
            &id,
            input.name.as_deref(),
            input.slug.as_deref(),
        )
        .await?;
        let role = service::role_in(&ctx.core().db, &id, &actor).await?;
        Ok(org(updated, role))
    }

    #[graphql(guard = "SignedIn")]
    async fn delete_organization(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        service::delete(
            ctx.core(),
            &ctx.actor()?,
            &NodeType::Organization.parse(&id)?,
        )
        .await
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
            &NodeType::Organization.parse(&input.organization_id)?,
            &input.email,
            input.role.into(),
        )
        .await?;
        Ok(Invitation(invitation))
    }

    #[graphql(guard = "SignedIn")]
    async fn resend_invitation(&self, ctx: &Context<'_>, id: ID) -> AppResult<Invitation> {
        Ok(Invitation(
            invitations::resend(ctx.core(), &ctx.actor()?, &NodeType::Invitation.parse(&id)?)
                .await?,
        ))
    }

    #[graphql(guard = "SignedIn")]
    async fn revoke_invitation(&self, ctx: &Context<'_>, id: ID) -> AppResult<Invitation> {
        Ok(Invitation(
            invitations::revoke(ctx.core(), &ctx.actor()?, &NodeType::Invitation.parse(&id)?)
                .await?,
        ))
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
            None => crate::audit::Actor {
                user_id: None,
                meta: ctx.meta().clone(),
            },
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
        let membership_id = NodeType::Membership.parse(&membership_id)?;
        let updated =
            members::update_member_role(ctx.core(), &ctx.actor()?, &membership_id, role.into())
                .await?;
        Ok(updated.into())
    }

    #[graphql(guard = "SignedIn")]
    async fn remove_member(&self, ctx: &Context<'_>, membership_id: ID) -> AppResult<bool> {
        let membership_id = NodeType::Membership.parse(&membership_id)?;
        members::remove_member(ctx.core(), &ctx.actor()?, &membership_id).await
    }

    #[graphql(guard = "SignedIn")]
    async fn leave_organization(&self, ctx: &Context<'_>, organization_id: ID) -> AppResult<bool> {
        let organization_id = NodeType::Organization.parse(&organization_id)?;
        members::leave(ctx.core(), &ctx.actor()?, &organization_id).await
    }

    #[graphql(guard = "SignedIn")]
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        to_user_id: ID,
    ) -> AppResult<Organization> {
        let organization_id = NodeType::Organization.parse(&organization_id)?;
        // A user id that cannot be one is a member that cannot be found.
        let to_user_id = NodeType::User
            .parse(&to_user_id)
            .map_err(|_| AppError::NotFound("Member"))?;
        let transferred =
            members::transfer_ownership(ctx.core(), &ctx.actor()?, &organization_id, &to_user_id)
                .await?;
        Ok(org(transferred, Role::Admin))
    }
}
