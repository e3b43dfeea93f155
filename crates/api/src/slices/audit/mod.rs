//! The audit log as the schema shows it.

use std::collections::HashMap;

use async_graphql::{Context, ID, Json, Object, dataloader::Loader};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
};

use crate::{
    access::{Feature, Permission},
    audit::entity,
    db::{TopPerOrganization, chunked_groups, grouped_counts, statement},
    error::AppError,
    error::AppResult,
    graphql::context::ContextExt,
    graphql::node_id,
    graphql::pagination::{Page, page},
    ids::NodeType,
    page::PageArgs,
    slices::auth::{User, load_user},
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
    let Some(org) = crate::slices::orgs::load_for_viewer(ctx, &model.organization_id).await? else {
        return Ok(None);
    };
    if !org.role.can(Permission::AuditLogRead) {
        return Ok(None);
    }
    let plan = crate::slices::billing::plan_for(ctx, &model.organization_id).await?;
    Ok(plan.has(Feature::AuditLog).then_some(AuditEvent(model)))
}

/// Pages of organizations' logs, newest first: one statement for every
/// organization asking for the same page.
pub struct AuditPageLoader(pub DatabaseConnection);

impl Loader<(String, PageArgs)> for AuditPageLoader {
    type Value = Vec<entity::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(String, PageArgs)],
    ) -> Result<HashMap<(String, PageArgs), Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        for (args, chunk) in chunked_groups(keys.iter().map(|(org, args)| (org.clone(), args))) {
            let (sql, values) = TopPerOrganization {
                table: "audit_events a",
                alias: "a",
                newest_first: true,
                filter: Default::default(),
                after: args.after.as_deref(),
                limit: args.limit(),
            }
            .sql(&chunk);
            let rows = self
                .0
                .query_all_raw(statement(self.0.get_database_backend(), &sql, values))
                .await?;
            let mut by_org: HashMap<String, Vec<entity::Model>> = HashMap::new();
            for row in rows {
                let event = entity::Model::from_query_result(&row, "")?;
                by_org
                    .entry(event.organization_id.clone())
                    .or_default()
                    .push(event);
            }
            for org in chunk {
                let mut events = by_org.remove(&org).unwrap_or_default();
                events.sort_by(|a, b| b.id.cmp(&a.id));
                out.insert((org, args.clone()), events);
            }
        }
        Ok(out)
    }
}

/// How many events each organization's log holds.
pub struct AuditCountLoader(pub DatabaseConnection);

impl Loader<String> for AuditCountLoader {
    type Value = u64;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, u64>, Self::Error> {
        let query = entity::Entity::find()
            .filter(entity::Column::OrganizationId.is_in(keys.iter().cloned()));
        let counts = grouped_counts(&self.0, query, entity::Column::OrganizationId).await?;
        Ok(keys
            .iter()
            .map(|k| (k.clone(), counts.get(k).copied().unwrap_or(0)))
            .collect())
    }
}

/// An organization's events, newest first, through the request's loaders.
pub async fn log_page(
    ctx: &Context<'_>,
    organization_id: &str,
    args: &PageArgs,
) -> AppResult<Page<AuditEvent>> {
    let loaders = ctx.loaders()?;
    let (rows, total) = futures_util::try_join!(
        loaders
            .audit_pages
            .load_one((organization_id.to_owned(), args.clone())),
        loaders.audit_counts.load_one(organization_id.to_owned()),
    )?;
    let rows = rows
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.id.clone(), AuditEvent(e)))
        .collect();
    Ok(page(rows, args, total.unwrap_or(0)))
}
