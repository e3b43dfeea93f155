//! What an organization's effective plan allows, and the checks that hold
//! it to that: features (`PLAN_REQUIRED`) and limits (`PLAN_LIMIT_REACHED`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::OnConflict,
};
use serde_json::json;

use super::{GrantState, PaidState, effective_plan_id, plans::Plan};
use crate::{
    Core,
    access::Feature,
    audit::{self, Actor, Event},
    db::grouped_counts,
    error::{AppError, AppResult},
    orgs::entity::{invitation, membership},
    projects::entity::project,
};

pub mod grant {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plan_grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        pub plan_id: String,
        pub until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The effective plan id of each organization, with the catalog's free plan
/// for those without a live grant or subscription.
pub async fn plan_ids(
    conn: &impl ConnectionTrait,
    core: &Core,
    organization_ids: &[String],
) -> AppResult<HashMap<String, String>> {
    let grants: HashMap<String, grant::Model> = grant::Entity::find()
        .filter(grant::Column::OrganizationId.is_in(organization_ids.iter().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .map(|g| (g.organization_id.clone(), g))
        .collect();
    let subscriptions = super::subscriptions::by_organization(conn, organization_ids).await?;
    let now = Utc::now();
    let grace = chrono::Duration::from_std(core.config.billing_grace_period).unwrap_or_default();
    Ok(organization_ids
        .iter()
        .map(|id| {
            let grant = grants.get(id).map(|g| GrantState {
                plan_id: &g.plan_id,
                until: g.until,
            });
            let paid = subscriptions.get(id).map(|s| PaidState {
                plan_id: &s.plan_id,
                status: s.status(),
                past_due_since: s.past_due_since,
            });
            let chosen = effective_plan_id(paid.as_ref(), grant.as_ref(), now, grace)
                .filter(|plan| core.plans.get(plan).is_some())
                .unwrap_or(&core.plans.free_plan);
            (id.clone(), chosen.to_owned())
        })
        .collect())
}

/// The organization's effective plan.
pub async fn plan_of<'a>(
    conn: &impl ConnectionTrait,
    core: &'a Core,
    organization_id: &str,
) -> AppResult<&'a Plan> {
    let ids = plan_ids(conn, core, &[organization_id.to_owned()]).await?;
    Ok(ids
        .get(organization_id)
        .and_then(|id| core.plans.get(id))
        .unwrap_or_else(|| core.plans.free()))
}

/// `PLAN_REQUIRED` unless the plan has the feature.
pub fn require_feature(plan: &Plan, feature: Feature) -> AppResult<()> {
    if plan.has(feature) {
        Ok(())
    } else {
        Err(AppError::PlanRequired {
            feature: feature.as_str().to_owned(),
        })
    }
}

fn check_limit(resource: &'static str, limit: Option<u32>, used: u64) -> AppResult<()> {
    match limit {
        Some(limit) if used >= u64::from(limit) => Err(AppError::PlanLimitReached {
            resource,
            limit: u64::from(limit),
            used,
        }),
        _ => Ok(()),
    }
}

/// Room for one more active project. The caller holds the organization's
/// lock, so concurrent creations are counted one after another.
pub async fn ensure_project_capacity(
    conn: &impl ConnectionTrait,
    core: &Core,
    organization_id: &str,
) -> AppResult<()> {
    let plan = plan_of(conn, core, organization_id).await?;
    let used = project::Entity::find()
        .filter(project::Column::OrganizationId.eq(organization_id))
        .filter(project::Column::ArchivedAt.is_null())
        .count(conn)
        .await?;
    check_limit("projects", plan.max_projects, used)
}

/// Room for one more member or pending invitation; the caller holds the
/// organization's lock.
pub async fn ensure_member_capacity(
    conn: &impl ConnectionTrait,
    core: &Core,
    organization_id: &str,
) -> AppResult<()> {
    let plan = plan_of(conn, core, organization_id).await?;
    let ids = [organization_id.to_owned()];
    let members = member_counts(conn, &ids).await?;
    let pending = pending_invitation_counts(conn, &ids).await?;
    let used = members.get(organization_id).copied().unwrap_or(0)
        + pending.get(organization_id).copied().unwrap_or(0);
    check_limit("members", plan.max_members, used)
}

pub async fn member_counts(
    conn: &impl ConnectionTrait,
    organization_ids: &[String],
) -> AppResult<HashMap<String, u64>> {
    let query = membership::Entity::find()
        .filter(membership::Column::OrganizationId.is_in(organization_ids.iter().cloned()));
    Ok(grouped_counts(conn, query, membership::Column::OrganizationId).await?)
}

pub async fn pending_invitation_counts(
    conn: &impl ConnectionTrait,
    organization_ids: &[String],
) -> AppResult<HashMap<String, u64>> {
    let query = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.is_in(organization_ids.iter().cloned()))
        .filter(invitation::Column::Status.eq("PENDING"))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()));
    Ok(grouped_counts(conn, query, invitation::Column::OrganizationId).await?)
}

/// Gives an organization a plan by hand, until a time or for good.
pub async fn grant(
    conn: &impl ConnectionTrait,
    core: &Core,
    organization_id: &str,
    plan_id: &str,
    until: Option<DateTime<Utc>>,
) -> AppResult<()> {
    if core.plans.get(plan_id).is_none() {
        return Err(AppError::bad_input(
            "plan",
            format!("There is no plan {plan_id:?}."),
        ));
    }
    grant::Entity::insert(grant::ActiveModel {
        organization_id: Set(organization_id.to_owned()),
        plan_id: Set(plan_id.to_owned()),
        until: Set(until),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(grant::Column::OrganizationId)
            .update_columns([
                grant::Column::PlanId,
                grant::Column::Until,
                grant::Column::CreatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    audit::record(
        conn,
        organization_id,
        &Actor::system(),
        Event {
            action: "plan.granted",
            target_type: "organization",
            target_id: organization_id,
            metadata: json!({ "plan": plan_id, "until": until }),
        },
    )
    .await
}

/// Ends a manual grant; returns whether there was one.
pub async fn revoke(conn: &impl ConnectionTrait, organization_id: &str) -> AppResult<bool> {
    let removed = grant::Entity::delete_by_id(organization_id)
        .exec(conn)
        .await?;
    if removed.rows_affected > 0 {
        audit::record(
            conn,
            organization_id,
            &Actor::system(),
            Event {
                action: "plan.revoked",
                target_type: "organization",
                target_id: organization_id,
                metadata: serde_json::Value::Null,
            },
        )
        .await?;
    }
    Ok(removed.rows_affected > 0)
}
