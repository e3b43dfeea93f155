//! The audit log as the schema shows it.

use async_graphql::{Context, ID, Json, Object};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity;
use crate::{
    Core,
    auth::graphql::{User, load_user},
    error::AppResult,
    graphql::pagination::{Page, PageArgs, page},
};

pub struct AuditEvent(pub entity::Model);

#[Object]
impl AuditEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Dotted verb, e.g. project.created, member.role_updated, subscription.updated.
    async fn action(&self) -> &str {
        &self.0.action
    }

    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        load_user(ctx, self.0.actor_id.as_deref()).await
    }

    async fn target_type(&self) -> Option<&str> {
        self.0.target_type.as_deref()
    }

    async fn target_id(&self) -> Option<ID> {
        self.0.target_id.clone().map(ID)
    }

    async fn metadata(&self) -> Option<Json<serde_json::Value>> {
        self.0.metadata.clone().map(Json)
    }

    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An organization's events, newest first.
pub async fn log_page(
    core: &Core,
    organization_id: &str,
    args: &PageArgs,
) -> AppResult<Page<AuditEvent>> {
    let base = entity::Entity::find().filter(entity::Column::OrganizationId.eq(organization_id));
    let total = base.clone().count(&core.db).await?;
    let mut query = base.order_by_desc(entity::Column::Id).limit(args.limit());
    if let Some(after) = &args.after {
        query = query.filter(entity::Column::Id.lt(after.as_str()));
    }
    let rows = query
        .all(&core.db)
        .await?
        .into_iter()
        .map(|e| (e.id.clone(), AuditEvent(e)))
        .collect();
    Ok(page(rows, args, total))
}
