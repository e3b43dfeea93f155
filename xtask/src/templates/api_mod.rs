//! The __words_plural__ slice of the schema, made from the Projects
//! template. Resolvers read arguments, call one service function, and map
//! the result; lists go through the slice's loaders (`loaders.rs`).

pub mod loaders;

use async_graphql::{Context, Enum, ID, InputObject, Object, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use self::loaders::__Name__Pages;
use crate::{
    __names__::{
        __NAMES__, __Name__EventKind,
        entity::{__Name__Id, __name__},
        service,
    },
    auth::entity::user,
    error::AppResult,
    events::LiveEvent,
    graphql::{
        context::ContextExt,
        guards::SignedIn,
        ids::{gid, parse},
        live::{event_cursor, organization_events},
        loaders::{Counters, RowsById},
        node::NodeKind,
        pagination::{Page, page, page_cost},
    },
    ids::{OrganizationId, TypedId},
    page::PageArgs,
    slices::{
        Organization,
        auth::{User, load_user},
        orgs::{OrgView, require_for_viewer, view_for_viewer},
    },
};

#[derive(Clone)]
pub struct __Name__ {
    pub model: __name__::Model,
    /// The creator when read together with the __words__; loaded otherwise.
    pub creator: Option<Option<user::Model>>,
}

impl From<__name__::Model> for __Name__ {
    fn from(model: __name__::Model) -> Self {
        Self {
            model,
            creator: None,
        }
    }
}

#[Object]
impl __Name__ {
    pub async fn id(&self) -> ID {
        gid(self.model.id)
    }

    async fn name(&self) -> &str {
        &self.model.name
    }

    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }

    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        require_for_viewer(ctx, self.model.organization_id).await
    }

    /// Null when the creator's account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        if let Some(creator) = &self.creator {
            return Ok(creator.clone().map(User::from));
        }
        load_user(ctx, self.model.created_by).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
}

impl NodeKind for __Name__ {
    type Id = __Name__Id;

    /// Visible to its organization's members.
    async fn find(ctx: &Context<'_>, id: __Name__Id) -> AppResult<Option<Self>> {
        let rows = ctx.loader::<RowsById<__name__::Entity, __Name__Id>>()?;
        let Some(model) = rows.load_one(id).await? else {
            return Ok(None);
        };
        Ok(view_for_viewer(ctx, model.organization_id)
            .await?
            .map(|_| __Name__::from(model)))
    }
}

/// The __words_plural__ slice's fields of `Organization`.
#[derive(Clone)]
pub struct Organization__Names__(OrgView);

impl From<OrgView> for Organization__Names__ {
    fn from(view: OrgView) -> Self {
        Self(view)
    }
}

#[Object]
impl Organization__Names__ {
    /// __Names__, newest first.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn __names__(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Page<__Name__>> {
        __names___of(ctx, self.0.model.id, first, after).await
    }
}

/// An organization's __words_plural__, newest first, through the request's
/// loaders.
async fn __names___of(
    ctx: &Context<'_>,
    organization_id: OrganizationId,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<Page<__Name__>> {
    let args = PageArgs::parse(first, after)?;
    let (pages, counts) = (ctx.loader::<__Name__Pages>()?, ctx.loader::<Counters>()?);
    let (rows, total) = futures_util::try_join!(
        pages.load_one((organization_id, args.clone())),
        counts.load_one((organization_id, __NAMES__.counter())),
    )?;
    let rows = rows
        .unwrap_or_default()
        .into_iter()
        .map(|(model, creator)| {
            let key = model.id.0;
            let row = __Name__ {
                model,
                creator: Some(creator),
            };
            (key, row)
        })
        .collect();
    Ok(page(rows, &args, total.unwrap_or(0)))
}

#[derive(InputObject)]
pub struct Create__Name__Input {
    organization_id: ID,
    name: String,
    description: Option<String>,
}

#[derive(InputObject)]
pub struct Update__Name__Input {
    name: Option<String>,
    /// An empty string removes the description.
    description: Option<String>,
}

#[derive(Default)]
pub struct __Name__Query;

#[Object]
impl __Name__Query {
    /// A __words__ of an organization the viewer belongs to.
    #[graphql(guard = "SignedIn")]
    async fn __name__(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<__Name__>> {
        let viewer = ctx.viewer()?;
        let Ok(id) = parse(&id) else {
            return Ok(None);
        };
        Ok(service::find_for(ctx.core(), viewer.user.id, id)
            .await?
            .map(__Name__::from))
    }
}

#[derive(Default)]
pub struct __Name__Mutation;

#[Object]
impl __Name__Mutation {
    #[graphql(guard = "SignedIn")]
    async fn create___name__(
        &self,
        ctx: &Context<'_>,
        input: Create__Name__Input,
    ) -> AppResult<__Name__> {
        let created = service::create(
            ctx.core(),
            &ctx.actor()?,
            parse(&input.organization_id)?,
            &input.name,
            input.description.as_deref(),
        )
        .await?;
        Ok(created.into())
    }

    #[graphql(guard = "SignedIn")]
    async fn update___name__(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: Update__Name__Input,
    ) -> AppResult<__Name__> {
        let updated = service::update(
            ctx.core(),
            &ctx.actor()?,
            parse(&id)?,
            input.name.as_deref(),
            input.description.as_deref(),
        )
        .await?;
        Ok(updated.into())
    }

    #[graphql(guard = "SignedIn")]
    async fn delete___name__(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        service::delete(ctx.core(), &ctx.actor()?, parse(&id)?).await
    }
}

/// What happened to a __words__.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "__Name__EventKind", remote = "crate::__names__::__Name__EventKind")]
pub enum __Name__EventKindValue {
    Created,
    Updated,
    Deleted,
}

pub struct __Name__Event {
    kind: __Name__EventKind,
    id: __Name__Id,
    position: i64,
}

impl __Name__Event {
    fn of(event: &LiveEvent) -> Option<Self> {
        Some(Self {
            kind: __Name__EventKind::parse(&event.kind)?,
            id: __Name__Id::from_uuid(event.subject),
            position: event.position,
        })
    }
}

#[Object]
impl __Name__Event {
    async fn kind(&self) -> __Name__EventKindValue {
        self.kind.into()
    }

    /// Where this event is in the stream: pass it as `after` when
    /// subscribing again to receive what came since.
    async fn cursor(&self) -> String {
        event_cursor(self.position)
    }

    async fn __name___id(&self) -> ID {
        gid(self.id)
    }

    /// Null after DELETED.
    async fn __name__(&self, ctx: &Context<'_>) -> AppResult<Option<__Name__>> {
        if self.kind == __Name__EventKind::Deleted {
            return Ok(None);
        }
        let viewer = ctx.viewer()?;
        Ok(service::find_for(ctx.core(), viewer.user.id, self.id)
            .await?
            .map(__Name__::from))
    }
}

#[derive(Default)]
pub struct __Name__Subscription;

#[Subscription]
impl __Name__Subscription {
    /// __Name__ changes in one organization, for members of it.
    #[graphql(guard = "SignedIn")]
    async fn __name___events(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        #[graphql(
            desc = "Resume after this event's `cursor`: the events since come first. Past the retention window the answer is CURSOR_EXPIRED: refetch, then subscribe without it."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<__Name__Event>> + use<>>
    {
        let events = organization_events(
            ctx,
            parse(&organization_id)?,
            __Name__Id::TYPE_NAME,
            after.as_deref(),
        )
            .await?
            .filter_map(|event| {
                std::future::ready(match event {
                    Ok(event) => __Name__Event::of(&event).map(Ok),
                    Err(error) => Some(Err(error)),
                })
            });
        Ok(events)
    }
}
