//! What an organization's effective plan allows, and the checks that hold
//! it to that: features (`PLAN_REQUIRED`) and limits (`PLAN_LIMIT_REACHED`).

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};
use serde_json::json;

use super::{
    GrantState, PaidState, effective_plan_id,
    plans::{Metered, Plan},
};
use crate::{
    Core,
    access::Feature,
    audit::{self, Actor, Event},
    counters,
    db::grouped_counts,
    error::{AppError, AppResult},
    ids::OrganizationId,
    orgs::{
        self,
        entity::{InvitationState, invitation},
    },
};

pub mod grant {
    use groundwork_kernel::ids::OrganizationId;
    use sea_orm::entity::prelude::*;

    use crate::billing::plans::PlanId;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plan_grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: OrganizationId,
        pub plan_id: PlanId,
        pub until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The effective plan of each organization: a live grant's, a paying
/// subscription's, or the catalog's free plan.
pub async fn plans_of<'a>(
    conn: &impl ConnectionTrait,
    core: &'a Core,
    organization_ids: &[OrganizationId],
) -> AppResult<HashMap<OrganizationId, &'a Arc<Plan>>> {
    let grants: HashMap<OrganizationId, grant::Model> = grant::Entity::find()
        .filter(grant::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|g| (g.organization_id, g))
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
                status: s.status,
                past_due_since: s.past_due_since,
            });
            let plan = match effective_plan_id(paid.as_ref(), grant.as_ref(), now, grace) {
                Some(plan) => core.plans.resolve(plan),
                None => core.plans.free(),
            };
            (*id, plan)
        })
        .collect())
}

/// The organization's effective plan.
pub async fn plan_of<'a>(
    conn: &impl ConnectionTrait,
    core: &'a Core,
    organization_id: OrganizationId,
) -> AppResult<&'a Arc<Plan>> {
    let plans = plans_of(conn, core, &[organization_id]).await?;
    Ok(plans
        .get(&organization_id)
        .copied()
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

/// How much of `metered` an organization uses, from its counter and its
/// pending invitations, which hold a member's seat until they are answered
/// or expire.
pub fn used(metered: Metered, counted: u64, pending_invitations: u64) -> u64 {
    if metered == orgs::MEMBERS {
        counted + pending_invitations
    } else {
        counted
    }
}

/// How much of each metered resource the organizations use: their counters,
/// and for members the pending invitations too, which hold a seat until
/// they are answered or expire.
pub async fn usage(
    conn: &impl ConnectionTrait,
    organization_ids: &[OrganizationId],
    metered: &[Metered],
) -> AppResult<HashMap<(OrganizationId, Metered), u64>> {
    let names: Vec<counters::Counter> = metered.iter().map(|m| m.counter()).collect();
    let values = counters::read(conn, organization_ids, &names).await?;
    let pending = if metered.contains(&orgs::MEMBERS) {
        pending_invitation_counts(conn, organization_ids).await?
    } else {
        HashMap::new()
    };
    let mut out = HashMap::with_capacity(values.len());
    for org in organization_ids {
        for m in metered {
            let counted = values.get(&(*org, m.counter())).copied().unwrap_or(0);
            let used = used(*m, counted, pending.get(org).copied().unwrap_or(0));
            out.insert((*org, *m), used);
        }
    }
    Ok(out)
}

/// Room for one more of `metered` under the organization's plan; the
/// caller holds the organization's lock, so concurrent changes are counted
/// one after another.
pub async fn ensure_capacity(
    conn: &impl ConnectionTrait,
    core: &Core,
    organization_id: OrganizationId,
    metered: Metered,
) -> AppResult<()> {
    let plan = plan_of(conn, core, organization_id).await?;
    let Some(limit) = plan.limit(metered) else {
        return Ok(());
    };
    let used = usage(conn, &[organization_id], &[metered])
        .await?
        .get(&(organization_id, metered))
        .copied()
        .unwrap_or(0);
    if used >= limit {
        return Err(AppError::PlanLimitReached {
            resource: metered.key(),
            limit,
            used,
        });
    }
    Ok(())
}

/// Members of each organization, from their counters.
pub async fn member_counts(
    conn: &impl ConnectionTrait,
    organization_ids: &[OrganizationId],
) -> AppResult<HashMap<OrganizationId, u64>> {
    let values = counters::read(conn, organization_ids, &[counters::MEMBERS]).await?;
    Ok(values.into_iter().map(|((org, _), n)| (org, n)).collect())
}

pub async fn pending_invitation_counts(
    conn: &impl ConnectionTrait,
    organization_ids: &[OrganizationId],
) -> AppResult<HashMap<OrganizationId, u64>> {
    let query = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .filter(invitation::Column::Status.eq(InvitationState::Pending))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()));
    Ok(grouped_counts(conn, query, invitation::Column::OrganizationId).await?)
}

/// Gives an organization a plan by hand, until a time or for good.
pub async fn grant(
    conn: &impl ConnectionTrait,
    core: &Core,
    organization_id: OrganizationId,
    plan_id: &str,
    until: Option<DateTime<Utc>>,
) -> AppResult<()> {
    let Some(plan) = core.plans.find(plan_id) else {
        return Err(AppError::bad_input(
            "plan",
            format!("There is no plan {plan_id:?}."),
        ));
    };
    grant::Entity::insert(grant::ActiveModel {
        organization_id: Set(organization_id),
        plan_id: Set(plan.id.clone()),
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
        Event::on(
            "plan.granted",
            organization_id,
            json!({ "plan": plan.id.as_str(), "until": until }),
        ),
    )
    .await
}

/// Ends a manual grant; returns whether there was one.
pub async fn revoke(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
) -> AppResult<bool> {
    let removed = grant::Entity::delete_by_id(organization_id)
        .exec(conn)
        .await?;
    if removed.rows_affected > 0 {
        audit::record(
            conn,
            organization_id,
            &Actor::system(),
            Event::on("plan.revoked", organization_id, serde_json::Value::Null),
        )
        .await?;
    }
    Ok(removed.rows_affected > 0)
}
