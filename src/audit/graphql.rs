//! The audit log as the schema shows it.

use async_graphql::{Context, ID, Json, Object};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity;
use crate::{
    Core,
    access::{Feature, Permission},
    auth::graphql::{User, load_user},
    error::AppResult,
    graphql::context::ContextExt,
    graphql::node_id,
    graphql::pagination::{Page, PageArgs, page},
    ids::NodeType,
};

pub struct AuditEvent(pub entity::Model);

#[Object]
impl AuditEvent {
    pub async fn id(&self) -> ID {
        node_id(NodeType::AuditEvent, &self.0.id)
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

    /// A global id when the target is one of this API's entities; an
    /// outside system's own id (a Stripe subscription, an invoice) otherwise.
    async fn target_id(&self) -> Option<ID> {
        let raw = self.0.target_id.as_deref()?;
        match self
            .0
            .target_type
            .as_deref()
            .and_then(NodeType::from_audit_target)
        {
            Some(ty) => Some(node_id(ty, raw)),
            None => Some(ID(raw.to_owned())),
        }
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

/// `node(id:)` for an audit event: visible where the log itself is, to
/// roles with AUDIT_LOG_READ on a plan with AUDIT_LOG.
pub async fn audit_event_node(ctx: &Context<'_>, id: &str) -> AppResult<Option<AuditEvent>> {
    let Some(model) = ctx.loaders()?.audit_rows.load_one(id.to_owned()).await? else {
        return Ok(None);
    };
    let Some(org) = crate::orgs::graphql::load_for_viewer(ctx, &model.organization_id).await?
    else {
        return Ok(None);
    };
    if !org.role.can(Permission::AuditLogRead) {
        return Ok(None);
    }
    let plan = crate::billing::graphql::plan_for(ctx, &model.organization_id).await?;
    Ok(plan.has(Feature::AuditLog).then_some(AuditEvent(model)))
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
