//! DataLoaders: nested fields load through these, so a page of N objects
//! costs one query per kind of object, not N. Created per request (they
//! cache), so nothing cached crosses users or tenants.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    Core,
    auth::entity::user,
    error::AppError,
    orgs::{
        entity::{membership, organization},
        loaders::{MemberCountLoader, MemberPageLoader, PendingInvitationCountLoader, PlanLoader},
    },
    projects::loaders::{ProjectCountLoader, ProjectPageLoader},
};

pub type Cached<L> = DataLoader<L, HashMapCache>;

fn cached<L: Send + Sync + 'static>(loader: L) -> Cached<L> {
    DataLoader::with_cache(
        loader,
        crate::db::spawn_in_operation,
        HashMapCache::default(),
    )
}

/// The loaders of one request.
pub struct Loaders {
    pub users: Cached<UserLoader>,
    pub organizations: Cached<OrganizationLoader>,
    /// Keyed by (user id, organization id): the per-request membership cache
    /// that guards read, so each membership is loaded at most once.
    pub memberships: Cached<MembershipLoader>,
    pub member_pages: Cached<MemberPageLoader>,
    pub member_counts: Cached<MemberCountLoader>,
    pub pending_invitation_counts: Cached<PendingInvitationCountLoader>,
    pub plans: Cached<PlanLoader>,
    pub project_pages: Cached<ProjectPageLoader>,
    pub project_counts: Cached<ProjectCountLoader>,
}

impl Loaders {
    pub fn new(core: &Arc<Core>) -> Arc<Self> {
        let db = &core.db;
        Arc::new(Self {
            users: cached(UserLoader(db.clone())),
            organizations: cached(OrganizationLoader(db.clone())),
            memberships: cached(MembershipLoader(db.clone())),
            member_pages: cached(MemberPageLoader(core.clone())),
            member_counts: cached(MemberCountLoader(core.clone())),
            pending_invitation_counts: cached(PendingInvitationCountLoader(core.clone())),
            plans: cached(PlanLoader(core.clone())),
            project_pages: cached(ProjectPageLoader(db.clone())),
            project_counts: cached(ProjectCountLoader(db.clone())),
        })
    }
}

pub struct UserLoader(DatabaseConnection);

impl Loader<String> for UserLoader {
    type Value = user::Model;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        Ok(user::Entity::find()
            .filter(user::Column::Id.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect())
    }
}

pub struct OrganizationLoader(DatabaseConnection);

impl Loader<String> for OrganizationLoader {
    type Value = organization::Model;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        Ok(organization::Entity::find()
            .filter(organization::Column::Id.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect())
    }
}

pub struct MembershipLoader(DatabaseConnection);

impl Loader<(String, String)> for MembershipLoader {
    type Value = membership::Model;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), Self::Value>, Self::Error> {
        let users: Vec<&String> = keys.iter().map(|(u, _)| u).collect();
        let orgs: Vec<&String> = keys.iter().map(|(_, o)| o).collect();
        Ok(membership::Entity::find()
            .filter(membership::Column::UserId.is_in(users.into_iter().cloned()))
            .filter(membership::Column::OrganizationId.is_in(orgs.into_iter().cloned()))
            .all(&self.0)
            .await?
            .into_iter()
            .map(|m| ((m.user_id.clone(), m.organization_id.clone()), m))
            .filter(|(k, _)| keys.contains(k))
            .collect())
    }
}
