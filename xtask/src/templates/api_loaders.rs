//! Batched reads of __words_plural__: a page of many organizations' lists
//! in one statement (one limited, indexed part per organization). Their
//! counts are the organizations' counters (`graphql::loaders::Counters`).

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};

use crate::{
    Core,
    __names__::entity::__name__,
    auth::entity::user,
    db::{TopPerOrganization, chunked_groups, statement},
    error::AppError,
    graphql::loaders::RequestLoader,
    ids::{OrganizationId, UserId},
    page::PageArgs,
};

/// A __words__ with its creator, read together.
pub type __Name__Row = (__name__::Model, Option<user::Model>);

const CREATOR_COLUMNS: &str = "u.id AS u_id, u.email AS u_email, u.name AS u_name, \
    u.avatar_url AS u_avatar_url, u.email_verified_at AS u_email_verified_at, \
    CAST(NULL AS TEXT) AS u_password_hash, u.created_at AS u_created_at, u.updated_at AS u_updated_at";

pub struct __Name__Pages(DatabaseConnection);

impl RequestLoader for __Name__Pages {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

type PageKey = (OrganizationId, PageArgs);

impl Loader<PageKey> for __Name__Pages {
    type Value = Vec<__Name__Row>;
    type Error = AppError;

    async fn load(&self, keys: &[PageKey]) -> Result<HashMap<PageKey, Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        for (args, orgs) in chunked_groups(keys.iter().map(|(org, args)| (*org, args))) {
            let (parts, values) = TopPerOrganization {
                table: "__names__ r",
                alias: "r",
                newest_first: true,
                filter: Default::default(),
                after: args.after,
                limit: args.limit(),
            }
            .sql(&orgs);
            let sql = format!(
                "SELECT t.id, t.organization_id, t.name, t.description, t.created_by, t.created_at, \
                 t.updated_at, {CREATOR_COLUMNS} FROM ({parts}) t \
                 LEFT JOIN users u ON u.id = t.created_by ORDER BY t.organization_id, t.id DESC"
            );
            let rows = self
                .0
                .query_all_raw(statement(self.0.get_database_backend(), &sql, values))
                .await?;
            let mut by_org: HashMap<OrganizationId, Vec<__Name__Row>> = HashMap::new();
            for row in rows {
                let model = __name__::Model::from_query_result(&row, "")?;
                let creator = match row.try_get::<Option<UserId>>("", "u_id")? {
                    Some(_) => Some(user::Model::from_query_result(&row, "u_")?),
                    None => None,
                };
                by_org
                    .entry(model.organization_id)
                    .or_default()
                    .push((model, creator));
            }
            for org in orgs {
                let rows = by_org.remove(&org).unwrap_or_default();
                out.insert((org, args.clone()), rows);
            }
        }
        Ok(out)
    }
}
