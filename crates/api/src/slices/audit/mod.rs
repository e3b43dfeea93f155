//! The audit log as the schema shows it.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, ID, Json, Object, dataloader::Loader};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};

use crate::{
    Core,
    access::{Feature, Permission},
    audit::entity::{self, AuditEventId},
    billing::entitlements::require_feature,
    counters,
    db::{TopPerOrganization, chunked_groups, statement},
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        guards::OrgPermission,
        ids::gid,
        loaders::{RequestLoader, RowsById},
        node::NodeKind,
        pagination::{Page, page, page_cost},
    },
    ids::{OrganizationId, encode},
    page::PageArgs,
    slices::{
        auth::{User, load_user},
        billing::plan_for,
        is_node_type,
        orgs::{OrgView, view_for_viewer},
    },
};

pub struct AuditEvent(pub entity::Model);

#[Object]
impl AuditEvent {
    pub async fn id(&self) -> ID {
        gid(self.0.id)
    }

    /// Dotted verb, e.g. project.created, member.role_updated, subscription.updated.
    async fn action(&self) -> &str {
        &self.0.action
    }

    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }

    async fn target_type(&self) -> Option<&str> {
        self.0.target_type.as_deref()
    }

    /// A global id when the target is one of this API's entities; an
    /// outside system's own id (a Stripe subscription, an invoice) otherwise.
    async fn target_id(&self) -> Option<ID> {
        let raw = self.0.target_id.as_deref()?;
        let ours = self
            .0
            .target_type
            .as_deref()
            .and_then(node_type_of)
            .zip(uuid::Uuid::try_parse(raw).ok());
        Some(match ours {
            Some((type_name, uuid)) => ID(encode(&type_name, uuid)),
            None => ID(raw.to_owned()),
        })
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

/// The node type an audit target names, when it is one of ours: targets
/// are recorded by the lower-case name of their type (`project`).
fn node_type_of(target_type: &str) -> Option<String> {
    let mut chars = target_type.chars();
    let first = chars.next()?;
    let name: String = first.to_uppercase().chain(chars).collect();
    is_node_type(&name).then_some(name)
}

impl NodeKind for AuditEvent {
    type Id = AuditEventId;

    /// Visible where the log itself is: to roles with AUDIT_LOG_READ on a
    /// plan with AUDIT_LOG.
    async fn find(ctx: &Context<'_>, id: AuditEventId) -> AppResult<Option<Self>> {
        let rows = ctx.loader::<RowsById<entity::Entity, AuditEventId>>()?;
        let Some(model) = rows.load_one(id).await? else {
            return Ok(None);
        };
        let Some(org) = view_for_viewer(ctx, model.organization_id).await? else {
            return Ok(None);
        };
        if !org.role.can(Permission::AuditLogRead) {
            return Ok(None);
        }
        let plan = plan_for(ctx, model.organization_id).await?;
        Ok(plan.has(Feature::AuditLog).then_some(AuditEvent(model)))
    }
}

/// The audit slice's field of `Organization`.
#[derive(Clone)]
pub struct OrganizationAudit(OrgView);

impl From<OrgView> for OrganizationAudit {
    fn from(view: OrgView) -> Self {
        Self(view)
    }
}

#[Object]
impl OrganizationAudit {
    /// Newest first; needs AUDIT_LOG_READ and a plan with AUDIT_LOG.
    #[graphql(
        guard = "OrgPermission(self.0.role, Permission::AuditLogRead)",
        complexity = "page_cost(first, child_complexity)"
    )]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Page<AuditEvent>> {
        let args = PageArgs::parse(first, after)?;
        let id = self.0.model.id;
        require_feature(&*plan_for(ctx, id).await?, Feature::AuditLog)?;
        let (pages, counts) = (ctx.loader::<AuditPages>()?, ctx.loader::<AuditCounts>()?);
        let (rows, total) =
            futures_util::try_join!(pages.load_one((id, args.clone())), counts.load_one(id))?;
        let rows = rows
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.id.0, AuditEvent(e)))
            .collect();
        Ok(page(rows, &args, total.unwrap_or(0)))
    }
}

/// Pages of organizations' logs, newest first: one statement for every
/// organization asking for the same page.
pub struct AuditPages(DatabaseConnection);

impl RequestLoader for AuditPages {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

impl Loader<(OrganizationId, PageArgs)> for AuditPages {
    type Value = Vec<entity::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(OrganizationId, PageArgs)],
    ) -> Result<HashMap<(OrganizationId, PageArgs), Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        for (args, chunk) in chunked_groups(keys.iter().map(|(org, args)| (*org, args))) {
            let (sql, values) = TopPerOrganization {
                table: "audit_events a",
                alias: "a",
                newest_first: true,
                filter: Default::default(),
                after: args.after,
                limit: args.limit(),
            }
            .sql(&chunk);
            let rows = self
                .0
                .query_all_raw(statement(self.0.get_database_backend(), &sql, values))
                .await?;
            let mut by_org: HashMap<OrganizationId, Vec<entity::Model>> = HashMap::new();
            for row in rows {
                let event = entity::Model::from_query_result(&row, "")?;
                by_org.entry(event.organization_id).or_default().push(event);
            }
            for org in chunk {
                let mut events = by_org.remove(&org).unwrap_or_default();
                events.sort_by_key(|e| std::cmp::Reverse(e.id));
                out.insert((org, args.clone()), events);
            }
        }
        Ok(out)
    }
}

/// How many events each organization's log holds, from its counter.
pub struct AuditCounts(DatabaseConnection);

impl RequestLoader for AuditCounts {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

impl Loader<OrganizationId> for AuditCounts {
    type Value = u64;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[OrganizationId],
    ) -> Result<HashMap<OrganizationId, u64>, Self::Error> {
        let counts = counters::read(&self.0, keys, &[counters::AUDIT_EVENTS]).await?;
        Ok(counts.into_iter().map(|((org, _), n)| (org, n)).collect())
    }
}
