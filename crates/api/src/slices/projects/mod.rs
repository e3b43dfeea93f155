//! The projects slice of the schema: the worked example every resource
//! follows. Resolvers read arguments, call one service function, and map
//! the result; lists go through the slice's loaders (`loaders.rs`).

pub mod loaders;

use async_graphql::{Context, ID, InputObject, Object, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use self::loaders::{ProjectFilterKey, ProjectPages, ProjectSearchCounts};
use crate::{
    auth::entity::user,
    error::AppResult,
    events::LiveEvent,
    graphql::{
        context::ContextExt,
        enums,
        guards::SignedIn,
        ids::{gid, parse},
        live::{event_cursor, organization_events},
        loaders::{Counters, RowsById},
        node::NodeKind,
        pagination::{Page, page, page_cost},
    },
    ids::{OrganizationId, TypedId},
    page::PageArgs,
    projects::{
        ARCHIVED_PROJECTS, PROJECTS, ProjectEventKind,
        entity::{ProjectId, project},
        service,
    },
    slices::{
        Organization,
        auth::{User, load_user},
        orgs::{OrgView, require_for_viewer, view_for_viewer},
    },
};

#[derive(Clone)]
pub struct Project {
    pub model: project::Model,
    /// The creator when read together with the project; loaded otherwise.
    pub creator: Option<Option<user::Model>>,
}

impl From<project::Model> for Project {
    fn from(model: project::Model) -> Self {
        Self {
            model,
            creator: None,
        }
    }
}

#[Object]
impl Project {
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

    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.model.archived_at
    }
}

impl NodeKind for Project {
    type Id = ProjectId;

    /// Visible to its organization's members.
    async fn find(ctx: &Context<'_>, id: ProjectId) -> AppResult<Option<Self>> {
        let rows = ctx.loader::<RowsById<project::Entity, ProjectId>>()?;
        let Some(model) = rows.load_one(id).await? else {
            return Ok(None);
        };
        Ok(view_for_viewer(ctx, model.organization_id)
            .await?
            .map(|_| Project::from(model)))
    }
}

#[derive(InputObject, Default)]
pub struct ProjectFilter {
    /// True lists archived projects only; absent or false, active ones.
    archived: Option<bool>,
    /// Only projects whose name contains this text, ignoring case.
    search: Option<String>,
}

impl ProjectFilter {
    fn key(self) -> AppResult<ProjectFilterKey> {
        Ok(ProjectFilterKey {
            archived: self.archived.unwrap_or(false),
            search: match &self.search {
                Some(search) => crate::text::search("search", search)?,
                None => None,
            },
        })
    }
}

/// The projects slice's fields of `Organization`.
#[derive(Clone)]
pub struct OrganizationProjects(OrgView);

impl From<OrgView> for OrganizationProjects {
    fn from(view: OrgView) -> Self {
        Self(view)
    }
}

#[Object]
impl OrganizationProjects {
    /// Projects, newest first; active ones unless the filter asks for archived.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ProjectFilter>,
    ) -> AppResult<Page<Project>> {
        projects_of(ctx, self.0.model.id, first, after, filter).await
    }
}

/// An organization's projects, newest first, through the request's loaders.
async fn projects_of(
    ctx: &Context<'_>,
    organization_id: OrganizationId,
    first: Option<i32>,
    after: Option<String>,
    filter: Option<ProjectFilter>,
) -> AppResult<Page<Project>> {
    let args = PageArgs::parse(first, after)?;
    let filter = filter.unwrap_or_default().key()?;
    let pages = ctx.loader::<ProjectPages>()?;
    let total = async {
        // Without a search, the count is the organization's counter.
        match filter.search {
            None => {
                let counter = if filter.archived {
                    ARCHIVED_PROJECTS
                } else {
                    PROJECTS.counter()
                };
                ctx.loader::<Counters>()?
                    .load_one((organization_id, counter))
                    .await
            }
            Some(_) => {
                ctx.loader::<ProjectSearchCounts>()?
                    .load_one((organization_id, filter.clone()))
                    .await
            }
        }
    };
    let (rows, total) = futures_util::try_join!(
        pages.load_one((organization_id, filter.clone(), args.clone())),
        total,
    )?;
    let rows = rows
        .unwrap_or_default()
        .into_iter()
        .map(|(model, creator)| {
            let key = model.id.0;
            let project = Project {
                model,
                creator: Some(creator),
            };
            (key, project)
        })
        .collect();
    Ok(page(rows, &args, total.unwrap_or(0)))
}

#[derive(InputObject)]
pub struct CreateProjectInput {
    organization_id: ID,
    name: String,
    description: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateProjectInput {
    name: Option<String>,
    /// An empty string removes the description.
    description: Option<String>,
}

#[derive(Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    /// A project of an organization the viewer belongs to.
    #[graphql(guard = "SignedIn")]
    async fn project(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Project>> {
        let viewer = ctx.viewer()?;
        let Ok(id) = parse(&id) else {
            return Ok(None);
        };
        Ok(service::find_for(ctx.core(), viewer.user.id, id)
            .await?
            .map(Project::from))
    }
}

#[derive(Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    #[graphql(guard = "SignedIn")]
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> AppResult<Project> {
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
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProjectInput,
    ) -> AppResult<Project> {
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
    async fn archive_project(&self, ctx: &Context<'_>, id: ID) -> AppResult<Project> {
        let archived = service::set_archived(ctx.core(), &ctx.actor()?, parse(&id)?, true).await?;
        Ok(archived.into())
    }

    #[graphql(guard = "SignedIn")]
    async fn restore_project(&self, ctx: &Context<'_>, id: ID) -> AppResult<Project> {
        let restored = service::set_archived(ctx.core(), &ctx.actor()?, parse(&id)?, false).await?;
        Ok(restored.into())
    }

    #[graphql(guard = "SignedIn")]
    async fn delete_project(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        service::delete(ctx.core(), &ctx.actor()?, parse(&id)?).await
    }
}

pub struct ProjectEvent {
    kind: ProjectEventKind,
    project_id: ProjectId,
    position: i64,
}

impl ProjectEvent {
    fn of(event: &LiveEvent) -> Option<Self> {
        Some(Self {
            kind: ProjectEventKind::parse(&event.kind)?,
            project_id: ProjectId::from_uuid(event.subject),
            position: event.position,
        })
    }
}

#[Object]
impl ProjectEvent {
    async fn kind(&self) -> enums::ProjectEventKind {
        self.kind.into()
    }

    /// Where this event is in the stream: pass it as `after` when
    /// subscribing again to receive what came since.
    async fn cursor(&self) -> String {
        event_cursor(self.position)
    }

    async fn project_id(&self) -> ID {
        gid(self.project_id)
    }

    /// Null after DELETED.
    async fn project(&self, ctx: &Context<'_>) -> AppResult<Option<Project>> {
        if self.kind == ProjectEventKind::Deleted {
            return Ok(None);
        }
        let viewer = ctx.viewer()?;
        Ok(
            service::find_for(ctx.core(), viewer.user.id, self.project_id)
                .await?
                .map(Project::from),
        )
    }
}

#[derive(Default)]
pub struct ProjectSubscription;

#[Subscription]
impl ProjectSubscription {
    /// Project changes in one organization, for members of it.
    #[graphql(guard = "SignedIn")]
    async fn project_events(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        #[graphql(
            desc = "Resume after this event's `cursor`: the events since come first. Past the retention window the answer is CURSOR_EXPIRED: refetch, then subscribe without it."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ProjectEvent>> + use<>>
    {
        let events = organization_events(
            ctx,
            parse(&organization_id)?,
            ProjectId::TYPE_NAME,
            after.as_deref(),
        )
        .await?
        .filter_map(|event| {
            std::future::ready(match event {
                Ok(event) => ProjectEvent::of(&event).map(Ok),
                Err(error) => Some(Err(error)),
            })
        });
        Ok(events)
    }
}
