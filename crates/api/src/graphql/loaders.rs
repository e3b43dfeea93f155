//! DataLoaders: nested fields load through these, so a page of N objects
//! costs one query per kind of object, not N. Created per request (they
//! cache), so nothing cached crosses users or tenants.

use std::{collections::HashMap, marker::PhantomData, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Iterable, ModelTrait,
    PrimaryKeyToColumn, QueryFilter, QueryOrder,
};

use crate::{
    Core, audit,
    auth::entity::{oauth_account, session, user},
    db::{placeholders, statement},
    error::AppError,
    orgs::entity::{invitation, membership, organization},
    projects::entity::project,
    slices::{
        audit::{AuditCountLoader, AuditPageLoader},
        billing::SubscriptionLoader,
        orgs::loaders::{
            MemberCountLoader, MemberPageLoader, OrganizationPageLoader,
            PendingInvitationCountLoader, PlanLoader,
        },
        projects::loaders::{ProjectCountLoader, ProjectPageLoader},
    },
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
    pub users: Cached<RowsById<user::Entity>>,
    pub organizations: Cached<RowsById<organization::Entity>>,
    pub membership_rows: Cached<RowsById<membership::Entity>>,
    pub invitation_rows: Cached<RowsById<invitation::Entity>>,
    pub project_rows: Cached<RowsById<project::Entity>>,
    pub audit_rows: Cached<RowsById<audit::entity::Entity>>,
    pub session_rows: Cached<RowsById<session::Entity>>,
    pub shares_organization: Cached<SharesOrganizationLoader>,
    /// By user id.
    pub sessions_of_user: Cached<RowsByColumn<session::Entity>>,
    /// By user id.
    pub accounts_of_user: Cached<RowsByColumn<oauth_account::Entity>>,
    /// By organization id.
    pub invitations_of_org: Cached<RowsByColumn<invitation::Entity>>,
    /// By invited email.
    pub invitations_to_email: Cached<RowsByColumn<invitation::Entity>>,
    /// Keyed by (user id, page): the viewer's organizations.
    pub organization_pages: Cached<OrganizationPageLoader>,
    pub subscriptions: Cached<SubscriptionLoader>,
    pub audit_pages: Cached<AuditPageLoader>,
    pub audit_counts: Cached<AuditCountLoader>,
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
            users: cached(RowsById::new(db.clone())),
            organizations: cached(RowsById::new(db.clone())),
            membership_rows: cached(RowsById::new(db.clone())),
            invitation_rows: cached(RowsById::new(db.clone())),
            project_rows: cached(RowsById::new(db.clone())),
            audit_rows: cached(RowsById::new(db.clone())),
            session_rows: cached(RowsById::new(db.clone())),
            shares_organization: cached(SharesOrganizationLoader(db.clone())),
            sessions_of_user: cached(RowsByColumn::new(db.clone(), session::Column::UserId)),
            accounts_of_user: cached(RowsByColumn::new(db.clone(), oauth_account::Column::UserId)),
            invitations_of_org: cached(RowsByColumn::new(
                db.clone(),
                invitation::Column::OrganizationId,
            )),
            invitations_to_email: cached(RowsByColumn::new(db.clone(), invitation::Column::Email)),
            organization_pages: cached(OrganizationPageLoader(core.clone())),
            subscriptions: cached(SubscriptionLoader(db.clone())),
            audit_pages: cached(AuditPageLoader(db.clone())),
            audit_counts: cached(AuditCountLoader(db.clone())),
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

/// Rows of one table by primary key: the loader behind every "load this
/// entity by id" in the schema (nested fields and `node`).
pub struct RowsById<E>(DatabaseConnection, PhantomData<fn() -> E>);

impl<E> RowsById<E> {
    pub fn new(db: DatabaseConnection) -> Self {
        Self(db, PhantomData)
    }
}

impl<E> Loader<String> for RowsById<E>
where
    E: EntityTrait,
    E::Model: Clone + Send + Sync,
{
    type Value = E::Model;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let Some(key) = E::PrimaryKey::iter().next() else {
            return Ok(HashMap::new());
        };
        let column = key.into_column();
        Ok(E::find()
            .filter(column.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await?
            .into_iter()
            .filter_map(|row| match row.get(column) {
                sea_orm::Value::String(Some(id)) => Some((id.to_string(), row)),
                _ => None,
            })
            .collect())
    }
}

/// Rows of one table by the value of one column, newest first (ids are
/// UUIDv7, so id order is creation order): every "list of X of this parent"
/// that is not paged.
pub struct RowsByColumn<E: EntityTrait>(DatabaseConnection, E::Column);

impl<E: EntityTrait> RowsByColumn<E> {
    pub fn new(db: DatabaseConnection, column: E::Column) -> Self {
        Self(db, column)
    }
}

impl<E> Loader<String> for RowsByColumn<E>
where
    E: EntityTrait,
    E::Model: Clone + Send + Sync,
    E::Column: Send + Sync,
{
    type Value = Vec<E::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let mut query = E::find().filter(self.1.is_in(keys.iter().cloned()));
        if let Some(key) = E::PrimaryKey::iter().next() {
            query = query.order_by_desc(key.into_column());
        }
        let mut out: HashMap<String, Self::Value> = HashMap::new();
        for row in query.all(&self.0).await? {
            if let sea_orm::Value::String(Some(parent)) = row.get(self.1) {
                out.entry(parent.to_string()).or_default().push(row);
            }
        }
        Ok(out)
    }
}

/// Whether a user shares an organization with another, keyed by (viewer,
/// user): who may see whose profile.
pub struct SharesOrganizationLoader(DatabaseConnection);

impl Loader<(String, String)> for SharesOrganizationLoader {
    type Value = bool;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), bool>, Self::Error> {
        let mut by_viewer: HashMap<&str, Vec<String>> = HashMap::new();
        for (viewer, user) in keys {
            by_viewer.entry(viewer).or_default().push(user.clone());
        }
        let mut out = HashMap::new();
        for (viewer, users) in by_viewer {
            let mut values: Vec<sea_orm::Value> = vec![viewer.to_owned().into()];
            values.extend(users.iter().map(|u| sea_orm::Value::from(u.clone())));
            let sql = format!(
                "SELECT DISTINCT b.user_id FROM memberships a \
                 JOIN memberships b ON b.organization_id = a.organization_id \
                 WHERE a.user_id = $1 AND b.user_id IN ({})",
                placeholders(2, users.len())
            );
            let shared: Vec<String> = self
                .0
                .query_all_raw(statement(self.0.get_database_backend(), &sql, values))
                .await?
                .into_iter()
                .map(|row| row.try_get::<String>("", "user_id"))
                .collect::<Result<_, _>>()?;
            for user in users {
                let yes = shared.contains(&user);
                out.insert((viewer.to_owned(), user), yes);
            }
        }
        Ok(out)
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
