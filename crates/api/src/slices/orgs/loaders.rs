//! Batched reads for organizations: memberships (the per-request cache
//! guards read), member pages with their users, the viewer's organizations,
//! member and pending-invitation counts.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
};

use crate::{
    Core,
    auth::entity::user,
    billing::entitlements,
    db::{TopPerOrganization, chunked_groups, statement},
    error::AppError,
    graphql::loaders::{RequestLoader, RowsById},
    ids::{OrganizationId, UserId},
    orgs::entity::{membership, organization},
    page::PageArgs,
};

/// Organizations by id.
pub type OrganizationRows = RowsById<organization::Entity, OrganizationId>;

/// A user's membership of an organization, keyed by (user, organization):
/// the per-request membership cache that guards and `Organization` read,
/// so each membership is loaded at most once.
pub struct MembershipOf(DatabaseConnection);

impl RequestLoader for MembershipOf {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

impl Loader<(UserId, OrganizationId)> for MembershipOf {
    type Value = membership::Model;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(UserId, OrganizationId)],
    ) -> Result<HashMap<(UserId, OrganizationId), Self::Value>, Self::Error> {
        let users = keys.iter().map(|(u, _)| *u);
        let orgs = keys.iter().map(|(_, o)| *o);
        Ok(membership::Entity::find()
            .filter(membership::Column::UserId.is_in(users))
            .filter(membership::Column::OrganizationId.is_in(orgs))
            .all(&self.0)
            .await?
            .into_iter()
            .map(|m| ((m.user_id, m.organization_id), m))
            .filter(|(k, _)| keys.contains(k))
            .collect())
    }
}

pub type MemberRow = (membership::Model, user::Model);

/// Pages of organizations' members with their users, in joining order.
pub struct MemberPages(DatabaseConnection);

impl RequestLoader for MemberPages {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

impl Loader<(OrganizationId, PageArgs)> for MemberPages {
    type Value = Vec<MemberRow>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(OrganizationId, PageArgs)],
    ) -> Result<HashMap<(OrganizationId, PageArgs), Self::Value>, Self::Error> {
        let db = &self.0;
        let mut out = HashMap::new();
        for (args, orgs) in chunked_groups(keys.iter().map(|(org, args)| (*org, args))) {
            let (parts, values) = TopPerOrganization {
                table: "memberships m",
                alias: "m",
                newest_first: false,
                filter: Default::default(),
                after: args.after,
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
            let mut by_org: HashMap<OrganizationId, Vec<MemberRow>> = HashMap::new();
            for row in rows {
                let m = membership::Model::from_query_result(&row, "")?;
                let u = user::Model::from_query_result(&row, "u_")?;
                by_org.entry(m.organization_id).or_default().push((m, u));
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
pub struct OrganizationPages(Arc<Core>);

impl RequestLoader for OrganizationPages {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.clone())
    }
}

pub type OrganizationPage = (Vec<(membership::Model, organization::Model)>, u64);

impl Loader<(UserId, PageArgs)> for OrganizationPages {
    type Value = OrganizationPage;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(UserId, PageArgs)],
    ) -> Result<HashMap<(UserId, PageArgs), Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        for (user, args) in keys {
            let page = crate::orgs::service::list_for_user(&self.0, *user, args).await?;
            out.insert((*user, args.clone()), page);
        }
        Ok(out)
    }
}

/// Pending, unexpired invitations of each organization.
pub struct PendingInvitationCounts(DatabaseConnection);

impl RequestLoader for PendingInvitationCounts {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

impl Loader<OrganizationId> for PendingInvitationCounts {
    type Value = u64;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[OrganizationId],
    ) -> Result<HashMap<OrganizationId, u64>, Self::Error> {
        let counts = entitlements::pending_invitation_counts(&self.0, keys).await?;
        Ok(keys
            .iter()
            .map(|k| (*k, counts.get(k).copied().unwrap_or(0)))
            .collect())
    }
}
