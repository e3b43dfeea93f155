//! The accounts slice of the schema: `viewer`, `User`, sessions, and the
//! sign-up / sign-in / password mutations.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

pub mod loaders;

use self::loaders::SharesOrganization;
use crate::{
    auth::{
        email_tokens,
        entity::{
            oauth_account,
            session::{self as session_row, SessionId},
            user,
        },
        service, session,
    },
    error::AppResult,
    graphql::{
        context::ContextExt,
        guards::SignedIn,
        ids::{gid, parse},
        loaders::{ByColumn, RowsByColumn, RowsById},
        node::NodeKind,
        pagination::{Page, list_cost, page, page_cost},
    },
    http::cookies,
    ids::UserId,
    orgs::{entity::invitation, invitations::InvitationStatus},
    page::PageArgs,
    slices::{
        Organization,
        orgs::{Invitation, OrgView, loaders::OrganizationPages},
    },
};

/// A user as others may see it. Built from the entity by hand, so a
/// password hash can never reach the schema by a derive.
#[derive(Clone)]
pub struct User {
    model: user::Model,
    /// Set when this user has just signed in on this request (the payload
    /// of signUp, signIn, resetPassword): the request carries no session yet,
    /// but the user is the viewer from now on.
    session_id: Option<SessionId>,
}

pub type UserRows = RowsById<user::Entity, UserId>;

/// A user by id through the request's loader; None without an id, or when
/// the account is gone.
pub async fn load_user(ctx: &Context<'_>, id: Option<UserId>) -> AppResult<Option<User>> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(ctx
        .loader::<UserRows>()?
        .load_one(id)
        .await?
        .map(User::from))
}

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        Self {
            model,
            session_id: None,
        }
    }
}

impl User {
    /// The id of the viewer's current session, when this user is the viewer.
    fn viewer_session(&self, ctx: &Context<'_>) -> Option<SessionId> {
        if let Some(id) = self.session_id {
            return Some(id);
        }
        ctx.request()
            .viewer
            .as_ref()
            .filter(|v| v.user.id == self.model.id)
            .map(|v| v.session_id)
    }

    fn is_viewer(&self, ctx: &Context<'_>) -> bool {
        self.viewer_session(ctx).is_some()
    }
}

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        gid(self.model.id)
    }

    async fn email(&self) -> &str {
        self.model.email.as_str()
    }

    async fn name(&self) -> &str {
        &self.model.name
    }

    async fn avatar_url(&self) -> Option<&str> {
        self.model.avatar_url.as_deref()
    }

    async fn email_verified(&self) -> bool {
        self.model.email_verified_at.is_some()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// The organizations the user belongs to, in joining order; only the
    /// viewer's own are listed, for any other user the list is empty.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Page<Organization>> {
        let args = PageArgs::parse(first, after)?;
        if !self.is_viewer(ctx) {
            return Ok(page(Vec::new(), &args, 0));
        }
        let key = (self.model.id, args.clone());
        let (rows, total) = ctx
            .loader::<OrganizationPages>()?
            .load_one(key)
            .await?
            .unwrap_or_default();
        let nodes = rows
            .into_iter()
            .map(|(membership, model)| {
                let org = Organization::from(OrgView::new(model, membership.role));
                (membership.id.0, org)
            })
            .collect();
        Ok(page(nodes, &args, total))
    }

    /// Invitations waiting for the viewer's verified email; empty for any other user.
    #[graphql(complexity = "list_cost(child_complexity)")]
    async fn pending_invitations(&self, ctx: &Context<'_>) -> AppResult<Vec<Invitation>> {
        if !self.is_viewer(ctx) {
            return Ok(Vec::new());
        }
        if self.model.email_verified_at.is_none() {
            return Ok(Vec::new());
        }
        let sent = ctx
            .loader::<RowsByColumn<InvitationsTo>>()?
            .load_one(self.model.email.clone())
            .await?
            .unwrap_or_default();
        let now = Utc::now();
        Ok(sent
            .into_iter()
            .filter(|i| InvitationStatus::of(i, now) == InvitationStatus::Pending)
            .map(Invitation)
            .collect())
    }

    /// The viewer's own sessions; empty for any other user.
    #[graphql(complexity = "list_cost(child_complexity)")]
    async fn sessions(&self, ctx: &Context<'_>) -> AppResult<Vec<Session>> {
        let Some(current) = self.viewer_session(ctx) else {
            return Ok(Vec::new());
        };
        let core = ctx.core();
        let all = ctx
            .loader::<RowsByColumn<SessionsOf>>()?
            .load_one(self.model.id)
            .await?
            .unwrap_or_default();
        let now = Utc::now();
        Ok(all
            .into_iter()
            .filter(|s| session::is_live(s, &core.config, now))
            .map(|s| Session::new(s, current, core.config.session_idle_timeout))
            .collect())
    }

    /// The sign-in providers linked to the viewer's account; empty for any other user.
    #[graphql(complexity = "list_cost(child_complexity)")]
    async fn linked_accounts(&self, ctx: &Context<'_>) -> AppResult<Vec<LinkedAccount>> {
        if !self.is_viewer(ctx) {
            return Ok(Vec::new());
        }
        Ok(ctx
            .loader::<RowsByColumn<AccountsOf>>()?
            .load_one(self.model.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|a| LinkedAccount {
                provider: a.provider,
                created_at: a.created_at,
            })
            .collect())
    }
}

#[derive(SimpleObject)]
pub struct Session {
    #[graphql(owned)]
    pub id: ID,
    current: bool,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    /// When the session ends unless used again: the sooner of the idle and
    /// the absolute expiry.
    expires_at: DateTime<Utc>,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl Session {
    fn new(s: session_row::Model, current: SessionId, idle_timeout: std::time::Duration) -> Self {
        Self {
            current: s.id == current,
            id: gid(s.id),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at.min(s.last_seen_at + idle_timeout),
            user_agent: s.user_agent,
            ip: s.ip,
        }
    }
}

impl NodeKind for User {
    type Id = UserId;

    /// The viewer, or someone sharing an organization with the viewer;
    /// nobody else's profile can be read.
    async fn find(ctx: &Context<'_>, id: UserId) -> AppResult<Option<Self>> {
        let Some(viewer) = ctx.request().viewer.as_ref() else {
            return Ok(None);
        };
        if viewer.user.id == id {
            return Ok(Some(User::from(viewer.user.clone())));
        }
        let shares = ctx.loader::<SharesOrganization>()?;
        if shares.load_one((viewer.user.id, id)).await? != Some(true) {
            return Ok(None);
        }
        load_user(ctx, Some(id)).await
    }
}

impl NodeKind for Session {
    type Id = SessionId;

    /// Only the viewer's own live sessions.
    async fn find(ctx: &Context<'_>, id: SessionId) -> AppResult<Option<Self>> {
        let Some(viewer) = ctx.request().viewer.as_ref() else {
            return Ok(None);
        };
        let core = ctx.core();
        let found = ctx
            .loader::<RowsById<session_row::Entity, SessionId>>()?
            .load_one(id)
            .await?;
        Ok(found
            .filter(|s| s.user_id == viewer.user.id)
            .filter(|s| session::is_live(s, &core.config, Utc::now()))
            .map(|s| Session::new(s, viewer.session_id, core.config.session_idle_timeout)))
    }
}

/// A user's sessions.
pub struct SessionsOf;

impl ByColumn for SessionsOf {
    type Entity = session_row::Entity;
    type Key = UserId;
    const COLUMN: session_row::Column = session_row::Column::UserId;
}

/// A user's linked provider accounts.
pub struct AccountsOf;

impl ByColumn for AccountsOf {
    type Entity = oauth_account::Entity;
    type Key = UserId;
    const COLUMN: oauth_account::Column = oauth_account::Column::UserId;
}

/// The invitations sent to an address.
pub struct InvitationsTo;

impl ByColumn for InvitationsTo {
    type Entity = invitation::Entity;
    type Key = crate::email::EmailAddress;
    const COLUMN: invitation::Column = invitation::Column::Email;
}

#[derive(SimpleObject)]
pub struct LinkedAccount {
    provider: String,
    created_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    user: User,
    /// The session token, for clients that send Authorization: Bearer instead of the cookie.
    token: String,
}

#[derive(InputObject)]
pub struct SignUpInput {
    email: String,
    password: String,
    name: String,
    /// Joins that organization on sign-up; the email must be the invited one.
    invitation_token: Option<String>,
}

#[derive(InputObject)]
pub struct SignInInput {
    email: String,
    password: String,
}

#[derive(InputObject)]
pub struct UpdateProfileInput {
    name: Option<String>,
    /// An http(s) URL; an empty string removes the avatar.
    avatar_url: Option<String>,
}

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in user, or null when the request carries no valid session.
    async fn viewer(&self, ctx: &Context<'_>) -> Option<User> {
        ctx.request()
            .viewer
            .as_ref()
            .map(|v| User::from(v.user.clone()))
    }
}

#[derive(Default)]
pub struct AuthMutation;

/// The session the request presented, which signing in ends.
fn presented_session(ctx: &Context<'_>) -> Option<SessionId> {
    ctx.request().viewer.as_ref().map(|v| v.session_id)
}

/// Sets the session cookie and hands the token over.
fn signed_in(ctx: &Context<'_>, signed_in: service::SignedIn) -> AuthPayload {
    ctx.set_cookie(cookies::session_issued(
        &ctx.core().config,
        &signed_in.token,
    ));
    AuthPayload {
        user: User {
            model: signed_in.user,
            session_id: Some(signed_in.session_id),
        },
        token: signed_in.token,
    }
}

#[Object]
impl AuthMutation {
    /// Creates the account and signs in; a session the request presented ends.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> AppResult<AuthPayload> {
        let done = service::sign_up(
            ctx.core(),
            service::SignUp {
                email: input.email,
                password: input.password,
                name: input.name,
                invitation_token: input.invitation_token,
            },
            ctx.meta(),
            presented_session(ctx),
        )
        .await?;
        Ok(signed_in(ctx, done))
    }

    /// Starts a new session; a session the request presented ends.
    async fn sign_in(&self, ctx: &Context<'_>, input: SignInInput) -> AppResult<AuthPayload> {
        let done = service::sign_in(
            ctx.core(),
            &input.email,
            &input.password,
            ctx.meta(),
            presented_session(ctx),
        )
        .await?;
        Ok(signed_in(ctx, done))
    }

    /// Ends the current session.
    async fn sign_out(&self, ctx: &Context<'_>) -> AppResult<bool> {
        ctx.set_cookie(cookies::session_cleared(&ctx.core().config));
        match ctx.request().viewer.as_ref() {
            Some(viewer) => service::sign_out(ctx.core(), viewer).await,
            None => Ok(false),
        }
    }

    /// Ends every session of the viewer except the current one; returns how many.
    #[graphql(guard = "SignedIn")]
    async fn revoke_other_sessions(&self, ctx: &Context<'_>) -> AppResult<i32> {
        let count = service::revoke_other_sessions(ctx.core(), ctx.viewer()?).await?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    #[graphql(guard = "SignedIn")]
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        service::revoke_session(ctx.core(), ctx.viewer()?, parse(&id)?).await
    }

    #[graphql(guard = "SignedIn")]
    async fn request_email_verification(&self, ctx: &Context<'_>) -> AppResult<bool> {
        email_tokens::request_email_verification(ctx.core(), ctx.viewer()?).await
    }

    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> AppResult<User> {
        Ok(email_tokens::verify_email(ctx.core(), &token).await?.into())
    }

    /// Always true, whether or not the email belongs to an account.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> AppResult<bool> {
        email_tokens::request_password_reset(ctx.core(), &email, ctx.meta()).await
    }

    /// Sets the password, ends every session (and one the request presented),
    /// and signs in afresh.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> AppResult<AuthPayload> {
        let done = email_tokens::reset_password(
            ctx.core(),
            &token,
            &new_password,
            ctx.meta(),
            presented_session(ctx),
        )
        .await?;
        Ok(signed_in(ctx, done))
    }

    #[graphql(guard = "SignedIn")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> AppResult<bool> {
        service::change_password(
            ctx.core(),
            ctx.viewer()?,
            &current_password,
            &new_password,
            ctx.meta(),
        )
        .await
    }

    #[graphql(guard = "SignedIn")]
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> AppResult<User> {
        let user = service::update_profile(
            ctx.core(),
            ctx.viewer()?,
            input.name.as_deref(),
            input.avatar_url.as_deref(),
        )
        .await?;
        Ok(user.into())
    }

    #[graphql(guard = "SignedIn")]
    async fn unlink_account(&self, ctx: &Context<'_>, provider: String) -> AppResult<User> {
        Ok(
            service::unlink_account(ctx.core(), ctx.viewer()?, &provider)
                .await?
                .into(),
        )
    }

    #[graphql(guard = "SignedIn")]
    async fn delete_account(&self, ctx: &Context<'_>, password: Option<String>) -> AppResult<bool> {
        let deleted =
            service::delete_account(ctx.core(), ctx.viewer()?, password.as_deref(), ctx.meta())
                .await?;
        ctx.set_cookie(cookies::session_cleared(&ctx.core().config));
        Ok(deleted)
    }
}
