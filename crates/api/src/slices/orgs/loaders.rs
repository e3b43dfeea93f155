//! Batched reads for nested organization fields: member pages (with their
//! users), member and pending-invitation counts, effective plans.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::{ConnectionTrait, FromQueryResult};

use crate::{
    Core,
    auth::entity::user,
    billing::entitlements,
    db::{TopPerOrganization, chunked_groups, statement},
    error::AppError,
    orgs::entity::{membership, organization},
    page::PageArgs,
};

pub type MemberRow = (membership::Model, user::Model);

pub struct MemberPageLoader(pub Arc<Core>);

impl Loader<(String, PageArgs)> for MemberPageLoader {
    type Value = Vec<MemberRow>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(String, PageArgs)],
    ) -> Result<HashMap<(String, PageArgs), Self::Value>, Self::Error> {
        let db = &self.0.db;
        let mut out = HashMap::new();
        for (args, orgs) in chunked_groups(keys.iter().map(|(org, args)| (org.clone(), args))) {
            let (parts, values) = TopPerOrganization {
                table: "memberships m",
                alias: "m",
                newest_first: false,
                filter: Default::default(),
                after: args.after.as_deref(),
                limit: args.limit(),
            }
            .sql(&orgs);
            let sql = format!(
                "SELECT t.id, t.organization_id, t.user_id, t.role, t.created_at, t.updated_at, \
                 u.id AS u_id, u.email AS u_email, u.name AS u_name, u.avatar_url AS u_avatar_url, \
                 u.email_verified_at AS u_email_verified_at, CAST(NULL AS TEXT) AS u_password_hash, \
                 u.created_at AS u_created_at, u.updated_at AS u_updated_at FROM ({parts}) t \
                 JOIN users u ON u.id = t.user_id ORDER BY t.organization_id, t.id"
            );
            let rows = db
                .query_all_raw(statement(db.get_database_backend(), &sql, values))
                .await?;
            let mut by_org: HashMap<String, Vec<MemberRow>> = HashMap::new();
            for row in rows {
                let m = membership::Model::from_query_result(&row, "")?;
                let u = user::Model::from_query_result(&row, "u_")?;
                by_org
                    .entry(m.organization_id.clone())
                    .or_default()
                    .push((m, u));
            }
            for org in orgs {
                let rows = by_org.remove(&org).unwrap_or_default();
                out.insert((org, args.clone()), rows);
            }
        }
        Ok(out)
    }
}

/// The organizations a user belongs to, a page at a time, with the count.
/// Only the viewer's are ever listed, so keys share one user; the cache
/// makes every repetition of the same page in a document free.
pub struct OrganizationPageLoader(pub Arc<Core>);

pub type OrganizationRows = (Vec<(membership::Model, organization::Model)>, u64);

impl Loader<(String, PageArgs)> for OrganizationPageLoader {
    type Value = OrganizationRows;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(String, PageArgs)],
    ) -> Result<HashMap<(String, PageArgs), Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        for (user, args) in keys {
            let page = crate::orgs::service::list_for_user(&self.0, user, args).await?;
            out.insert((user.clone(), args.clone()), page);
        }
        Ok(out)
    }
}

pub struct MemberCountLoader(pub Arc<Core>);

impl Loader<String> for MemberCountLoader {
    type Value = u64;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, u64>, Self::Error> {
        let counts = entitlements::member_counts(&self.0.db, keys).await?;
        Ok(keys
            .iter()
            .map(|k| (k.clone(), counts.get(k).copied().unwrap_or(0)))
            .collect())
    }
}

pub struct PendingInvitationCountLoader(pub Arc<Core>);

impl Loader<String> for PendingInvitationCountLoader {
    type Value = u64;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, u64>, Self::Error> {
        let counts = entitlements::pending_invitation_counts(&self.0.db, keys).await?;
        Ok(keys
            .iter()
            .map(|k| (k.clone(), counts.get(k).copied().unwrap_or(0)))
            .collect())
    }
}

/// Organization id to the id of its effective plan.
pub struct PlanLoader(pub Arc<Core>);

impl Loader<String> for PlanLoader {
    type Value = String;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, String>, Self::Error> {
        entitlements::plan_ids(&self.0.db, &self.0, keys).await
    }
}
