//! Batched reads for users.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};

use crate::{
    Core,
    db::{placeholders, statement},
    error::AppError,
    graphql::loaders::RequestLoader,
    ids::UserId,
};

/// Whether a user shares an organization with another, keyed by (viewer,
/// user): who may see whose profile.
pub struct SharesOrganization(DatabaseConnection);

impl RequestLoader for SharesOrganization {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

impl Loader<(UserId, UserId)> for SharesOrganization {
    type Value = bool;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(UserId, UserId)],
    ) -> Result<HashMap<(UserId, UserId), bool>, Self::Error> {
        let mut by_viewer: HashMap<UserId, Vec<UserId>> = HashMap::new();
        for (viewer, user) in keys {
            by_viewer.entry(*viewer).or_default().push(*user);
        }
        let mut out = HashMap::new();
        for (viewer, users) in by_viewer {
            let mut values: Vec<Value> = vec![viewer.into()];
            values.extend(users.iter().map(|u| Value::from(*u)));
            let sql = format!(
                "SELECT DISTINCT b.user_id FROM memberships a \
                 JOIN memberships b ON b.organization_id = a.organization_id \
                 WHERE a.user_id = $1 AND b.user_id IN ({})",
                placeholders(2, users.len())
            );
            let shared: Vec<UserId> = self
                .0
                .query_all_raw(statement(self.0.get_database_backend(), &sql, values))
                .await?
                .into_iter()
                .map(|row| row.try_get::<UserId>("", "user_id"))
                .collect::<Result<_, _>>()?;
            for user in users {
                out.insert((viewer, user), shared.contains(&user));
            }
        }
        Ok(out)
    }
}
