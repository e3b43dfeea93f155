//! Batched reads of projects: a page of many organizations' project lists
//! in one statement (one limited, indexed part per organization), and the
//! counts of searching lists (other counts are the organizations' counters).

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Value};

use crate::{
    Core,
    auth::entity::user,
    db::{
        TopPerOrganization, chunked_groups, contains_pattern, placeholders,
        query_all_planned_per_values, statement,
    },
    error::AppError,
    graphql::loaders::RequestLoader,
    ids::{OrganizationId, UserId},
    page::PageArgs,
    projects::entity::project,
    text,
};

/// Which projects a list shows: active or archived ones, optionally those
/// whose name contains a text (case-insensitively).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProjectFilterKey {
    pub archived: bool,
    pub search: Option<String>,
}

/// The conditions of `filter`, each starting with ` AND `, and their values
/// (placeholders from `$1`).
///
/// A search compares the folded name on both databases, so both find the
/// same projects; what differs is the index that narrows it: PostgreSQL's
/// trigram index serves the LIKE itself, SQLite's FTS5 trigram table is
/// asked first (it only knows needles of three characters or more, so a
/// shorter one reads the organization's projects).
fn filter_condition(backend: DbBackend, filter: &ProjectFilterKey) -> (String, Vec<Value>) {
    let mut values = Vec::new();
    let mut sql = format!(
        " AND p.archived_at IS {}NULL",
        if filter.archived { "NOT " } else { "" }
    );
    if let Some(search) = &filter.search {
        let folded = text::folded(search);
        if backend == DbBackend::Sqlite && folded.chars().count() >= 3 {
            values.push(fts_phrase(&folded).into());
            sql.push_str(&format!(
                " AND p.search_rowid IN (SELECT rowid FROM projects_search WHERE projects_search MATCH ${})",
                values.len()
            ));
        }
        values.push(contains_pattern(search).into());
        sql.push_str(&format!(
            " AND p.name_folded LIKE ${} ESCAPE '\\'",
            values.len()
        ));
    }
    (sql, values)
}

/// An FTS5 query of `text` as one phrase: with the trigram tokenizer, the
/// rows that contain it.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A project with its creator, read together.
pub type ProjectRow = (project::Model, Option<user::Model>);

const CREATOR_COLUMNS: &str = "u.id AS u_id, u.email AS u_email, u.name AS u_name, \
    u.avatar_url AS u_avatar_url, u.email_verified_at AS u_email_verified_at, \
    CAST(NULL AS TEXT) AS u_password_hash, u.created_at AS u_created_at, u.updated_at AS u_updated_at";

pub struct ProjectPages(DatabaseConnection);

impl RequestLoader for ProjectPages {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

type PageKey = (OrganizationId, ProjectFilterKey, PageArgs);

impl Loader<PageKey> for ProjectPages {
    type Value = Vec<ProjectRow>;
    type Error = AppError;

    async fn load(&self, keys: &[PageKey]) -> Result<HashMap<PageKey, Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        let chunks = chunked_groups(
            keys.iter()
                .map(|(org, filter, args)| (*org, (filter, args))),
        );
        for ((filter, args), orgs) in chunks {
            let (parts, values) = TopPerOrganization {
                table: "projects p",
                alias: "p",
                newest_first: true,
                filter: filter_condition(self.0.get_database_backend(), filter),
                after: args.after,
                limit: args.limit(),
            }
            .sql(&orgs);
            let sql = format!(
                "SELECT t.id, t.organization_id, t.name, t.name_folded, t.description, t.created_by, t.created_at, \
                 t.updated_at, t.archived_at, {CREATOR_COLUMNS} FROM ({parts}) t \
                 LEFT JOIN users u ON u.id = t.created_by ORDER BY t.organization_id, t.id DESC"
            );
            let statement = statement(self.0.get_database_backend(), &sql, values);
            let rows = match filter.search {
                Some(_) => query_all_planned_per_values(&self.0, statement).await?,
                None => self.0.query_all_raw(statement).await?,
            };
            let mut by_org: HashMap<OrganizationId, Vec<ProjectRow>> = HashMap::new();
            for row in rows {
                let p = project::Model::from_query_result(&row, "")?;
                let creator = match row.try_get::<Option<UserId>>("", "u_id")? {
                    Some(_) => Some(user::Model::from_query_result(&row, "u_")?),
                    None => None,
                };
                by_org
                    .entry(p.organization_id)
                    .or_default()
                    .push((p, creator));
            }
            for org in orgs {
                let rows = by_org.remove(&org).unwrap_or_default();
                out.insert((org, filter.clone(), args.clone()), rows);
            }
        }
        Ok(out)
    }
}

/// How many projects a searching list holds, counted (without a search,
/// the count is a counter: see `graphql::loaders::Counters`).
pub struct ProjectSearchCounts(DatabaseConnection);

impl RequestLoader for ProjectSearchCounts {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

type CountKey = (OrganizationId, ProjectFilterKey);

impl Loader<CountKey> for ProjectSearchCounts {
    type Value = u64;
    type Error = AppError;

    async fn load(&self, keys: &[CountKey]) -> Result<HashMap<CountKey, u64>, Self::Error> {
        let mut groups: HashMap<&ProjectFilterKey, Vec<OrganizationId>> = HashMap::new();
        for (org, filter) in keys {
            groups.entry(filter).or_default().push(*org);
        }
        let mut out = HashMap::new();
        for (filter, orgs) in groups {
            let counts = self.matching(filter, &orgs).await?;
            for org in orgs {
                let n = counts.get(&org).copied().unwrap_or(0);
                out.insert((org, filter.clone()), n);
            }
        }
        Ok(out)
    }
}

impl ProjectSearchCounts {
    /// The projects of each organization that a searching filter matches.
    async fn matching(
        &self,
        filter: &ProjectFilterKey,
        orgs: &[OrganizationId],
    ) -> Result<HashMap<OrganizationId, u64>, AppError> {
        let (condition, mut values) = filter_condition(self.0.get_database_backend(), filter);
        let in_list = placeholders(values.len() + 1, orgs.len());
        values.extend(orgs.iter().map(|o| Value::from(*o)));
        let sql = format!(
            "SELECT p.organization_id AS organization_id, COUNT(*) AS n FROM projects p \
             WHERE p.organization_id IN ({in_list}){condition} GROUP BY p.organization_id"
        );
        let statement = statement(self.0.get_database_backend(), &sql, values);
        let rows = query_all_planned_per_values(&self.0, statement).await?;
        let mut counts = HashMap::new();
        for row in rows {
            let org: OrganizationId = row.try_get("", "organization_id")?;
            let n: i64 = row.try_get("", "n")?;
            counts.insert(org, n.max(0) as u64);
        }
        Ok(counts)
    }
}
