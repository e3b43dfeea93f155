//! DataLoaders: nested fields load through these, so a page of N objects
//! costs one query per kind of object, not N. Created per request (they
//! cache), so nothing cached crosses users or tenants.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    auth::entity::user,
    error::AppError,
    orgs::entity::{membership, organization},
};

pub type Cached<L> = DataLoader<L, HashMapCache>;

/// The loaders of one request.
pub struct Loaders {
    pub users: Cached<UserLoader>,
    pub organizations: Cached<OrganizationLoader>,
    /// Keyed by (user id, organization id): the per-request membership cache
    /// that guards read, so each membership is loaded at most once.
    pub memberships: Cached<MembershipLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Arc<Self> {
        Arc::new(Self {
            users: DataLoader::with_cache(
                UserLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            organizations: DataLoader::with_cache(
                OrganizationLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            memberships: DataLoader::with_cache(
                MembershipLoader(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
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
