//! The projects slice of the schema: resolvers read arguments, call one
//! service function, and map the result.

pub mod loaders;

use async_graphql::{Context, ID, InputObject, Object, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::{
    auth::entity::user,
    error::{AppError, AppResult},
    events::ProjectEventKind,
    graphql::guards::SignedIn,
    graphql::node_id,
    graphql::{
        context::ContextExt,
        pagination::{Page, page},
    },
    ids::NodeType,
    page::PageArgs,
    projects::{entity::project, service},
    slices::{
        auth::{User, load_user},
        orgs::{Organization, require_for_viewer},
    },
};
use loaders::ProjectFilterKey;

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
        node_id(NodeType::Project, &self.model.id)
    }

    async fn name(&self) -> &str {
        &self.model.name
    }

    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }

    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Organization> {
        require_for_viewer(ctx, &self.model.organization_id).await
    }

    /// Null when the creator's account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        if let Some(creator) = &self.creator {
            return Ok(creator.clone().map(User::from));
        }
        load_user(ctx, self.model.created_by.as_deref()).await
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

/// `node(id:)` for a project: visible to its organization's members.
pub async fn project_node(ctx: &Context<'_>, id: &str) -> AppResult<Option<Project>> {
    let Some(model) = ctx.loaders()?.project_rows.load_one(id.to_owned()).await? else {
        return Ok(None);
    };
    Ok(
        crate::slices::orgs::load_for_viewer(ctx, &model.organization_id)
            .await?
            .map(|_| Project::from(model)),
    )
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

/// An organization's projects, newest first, through the request's loaders.
pub async fn projects_of(
    ctx: &Context<'_>,
    organization_id: &str,
    first: Option<i32>,
    after: Option<String>,
    filter: Option<ProjectFilter>,
) -> AppResult<Page<Project>> {
    let args = PageArgs::parse(first, after)?;
    let filter = filter.unwrap_or_default().key()?;
    let loaders = ctx.loaders()?;
    let org = organization_id.to_owned();
    let (rows, total) = futures_util::try_join!(
        loaders
            .project_pages
            .load_one((org.clone(), filter.clone(), args.clone())),
        loaders
            .project_counts
            .load_one((org.clone(), filter.clone())),
    )?;
    let rows = rows
        .unwrap_or_default()
        .into_iter()
        .map(|(model, creator)| {
            let key = model.id.clone();
            (
                key,
                Project {
                    model,
                    creator: Some(creator),
                },
            )
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
        let Ok(id) = NodeType::Project.parse(&id) else {
            return Ok(None);
        };
        Ok(service::find_for(ctx.core(), &viewer.user.id, &id)
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
            &NodeType::Organization.parse(&input.organization_id)?,
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
            &NodeType::Project.parse(&id)?,
            input.name.as_deref(),
            input.description.as_deref(),
        )
        .await?;
        Ok(updated.into())
    }

    #[graphql(guard = "SignedIn")]
    async fn archive_project(&self, ctx: &Context<'_>, id: ID) -> AppResult<Project> {
        Ok(service::set_archived(
            ctx.core(),
            &ctx.actor()?,
            &NodeType::Project.parse(&id)?,
            true,
        )
        .await?
        .into())
    }

    #[graphql(guard = "SignedIn")]
    async fn restore_project(&self, ctx: &Context<'_>, id: ID) -> AppResult<Project> {
        Ok(service::set_archived(
            ctx.core(),
            &ctx.actor()?,
            &NodeType::Project.parse(&id)?,
            false,
        )
        .await?
        .into())
    }

    #[graphql(guard = "SignedIn")]
    async fn delete_project(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        service::delete(ctx.core(), &ctx.actor()?, &NodeType::Project.parse(&id)?).await
    }
}

pub struct ProjectEvent {
    kind: ProjectEventKind,
    project_id: String,
}

#[Object]
impl ProjectEvent {
    async fn kind(&self) -> crate::graphql::enums::ProjectEventKind {
        self.kind.into()
    }

    async fn project_id(&self) -> ID {
        node_id(NodeType::Project, &self.project_id)
    }

    /// Null after DELETED.
    async fn project(&self, ctx: &Context<'_>) -> AppResult<Option<Project>> {
        if self.kind == ProjectEventKind::Deleted {
            return Ok(None);
        }
        let viewer = ctx.viewer()?;
        Ok(
            service::find_for(ctx.core(), &viewer.user.id, &self.project_id)
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
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ProjectEvent>> + use<>>
    {
        let viewer = ctx.viewer()?.user.id.clone();
        let core = ctx.core().clone();
        let org = NodeType::Organization.parse(&organization_id)?;
        if crate::orgs::service::membership_of(&core.db, &org, &viewer)
            .await?
            .is_none()
        {
            return Err(AppError::NotFound("Organization").into());
        }
        let receiver = core.events.subscribe();
        let changes = tokio_stream_from(receiver);
        let events = changes
            .filter(move |change| std::future::ready(change.organization_id == org))
            // Membership is checked again at every event: a member removed
            // meanwhile stops receiving at once, told NOT_FOUND. A check that
            // fails is retried, since a blip of the database must not end
            // the stream; one that keeps failing ends it with INTERNAL.
            .then(move |change| {
                let (core, viewer) = (core.clone(), viewer.clone());
                async move {
                    let checks = &core.config;
                    let member = crate::db::retry(
                        checks.live_checks.retry_limit,
                        checks.database_timeouts.statement,
                        || {
                            let (core, viewer) = (core.clone(), viewer.clone());
                            let org = change.organization_id.clone();
                            async move {
                                crate::orgs::service::membership_of(&core.db, &org, &viewer).await
                            }
                        },
                    )
                    .await?;
                    match member {
                        Some(_) => Ok(ProjectEvent {
                            kind: change.kind,
                            project_id: change.project_id,
                        }),
                        None => Err(AppError::NotFound("Organization").into()),
                    }
                }
            });
        Ok(crate::graphql::live::until_error(events))
    }
}

/// The broadcast receiver as a stream; a subscriber that falls too far
/// behind skips what it missed rather than ending.
fn tokio_stream_from(
    receiver: tokio::sync::broadcast::Receiver<crate::events::ProjectChange>,
) -> impl Stream<Item = crate::events::ProjectChange> {
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(change) => return Some((change, receiver)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a project event subscriber fell behind");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}
