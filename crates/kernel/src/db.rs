//! Connecting to the database (SQLite by default, PostgreSQL in production)
//! and applying migrations.

mod deadline;
mod pool;

pub use deadline::{bounded, retry};
pub use pool::connect;

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QuerySelect, Statement, Value,
};
use tracing::Instrument;

use crate::{
    config::Config,
    ids::{OrganizationId, Uuid},
};

/// How many SQL statements a connection pool has run, for `/metrics` and
/// the benchmark's statements-per-request figure.
#[derive(Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    /// The statements of the operation being served, when one is counted
    /// (see `count_statements`). A task-local rather than a parameter, since
    /// statements are run deep in services that know nothing of requests.
    static OPERATION_STATEMENTS: Arc<AtomicU64>;
}

/// Runs `work` and returns how many statements it ran, its spawned
/// helpers included when they were started with `spawn_in_operation`.
pub async fn count_statements<F: Future>(work: F) -> (F::Output, u64) {
    let counter = Arc::new(AtomicU64::new(0));
    let output = OPERATION_STATEMENTS.scope(counter.clone(), work).await;
    (output, counter.load(Ordering::Relaxed))
}

/// `tokio::spawn` for work done on behalf of the current operation (batched
/// loads): its statements count toward the operation and its spans stay
/// children of the current span, which a plain spawn would both lose.
pub fn spawn_in_operation<F>(work: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let work = work.instrument(tracing::Span::current());
    match OPERATION_STATEMENTS.try_with(Arc::clone) {
        Ok(counter) => tokio::spawn(OPERATION_STATEMENTS.scope(counter, work)),
        Err(_) => tokio::spawn(work),
    }
}

/// Opens the pool and counts every statement it runs, per process and per
/// operation.
pub async fn connect_counted(
    config: &Config,
) -> Result<(DatabaseConnection, StatementCounter), DbErr> {
    let mut db = connect(config).await?;
    let counter = StatementCounter::default();
    let count = counter.0.clone();
    db.set_metric_callback(move |_| {
        count.fetch_add(1, Ordering::Relaxed);
        let _ = OPERATION_STATEMENTS.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
    });
    Ok((db, counter))
}

/// Held while migrations are applied on PostgreSQL.
const MIGRATION_LOCK: i64 = 0x6777_6d69_6772; // "gwmigr"

/// Applies the pending migrations. On PostgreSQL replicas that start
/// together take turns: all of them in one transaction under an advisory
/// lock, so the first applies them and the others, once it commits, find
/// nothing left to do (rather than failing on a table another just made).
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let txn = begin(db).await?;
    txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

pub async fn migrate_down(db: &DatabaseConnection, steps: u32) -> Result<(), DbErr> {
    Migrator::down(db, Some(steps)).await
}

pub async fn migrate_fresh(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::fresh(db).await
}

/// Each known migration with whether it has been applied.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    Migrator::install(db).await?;
    Ok(Migrator::get_migration_with_status(db)
        .await?
        .into_iter()
        .map(|m| {
            let applied = m.status() == migrations::MigrationStatus::Applied;
            (m.name().to_owned(), applied)
        })
        .collect())
}

/// Starts a write transaction. On SQLite it takes the write lock at BEGIN
/// (IMMEDIATE), waiting for it within the busy timeout, instead of failing
/// with SQLITE_BUSY when a read turns into a write while another connection
/// or process (the CLI beside a server) has written meanwhile.
pub async fn begin(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// The rows of `statement`, planned for its own values every time.
///
/// PostgreSQL plans a prepared statement for its values five times, then may
/// keep one generic plan for any values. For a name search no plan suits
/// every value: a rare needle wants the trigram index, a common one in a
/// small organization wants the organization's own index, and the generic
/// plan (guessing a fixed selectivity for LIKE) read a whole organization
/// or every posting of a trigram. So a search runs in a read-only
/// transaction with `plan_cache_mode = force_custom_plan` set for it alone.
pub async fn query_all_planned_per_values(
    db: &DatabaseConnection,
    statement: Statement,
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    use sea_orm::{AccessMode, TransactionTrait};
    if db.get_database_backend() != DbBackend::Postgres {
        return db.query_all_raw(statement).await;
    }
    let txn = db
        .begin_with_config(None, Some(AccessMode::ReadOnly))
        .await?;
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
        .await?;
    let rows = txn.query_all_raw(statement).await?;
    txn.commit().await?;
    Ok(rows)
}

/// Whether the database answers a trivial statement within `limit`.
pub async fn ping(db: &DatabaseConnection, limit: Duration) -> bool {
    bounded(limit, db.execute_unprepared("SELECT 1"))
        .await
        .is_ok()
}

/// A statement written with `$N` placeholders, in the form the backend takes
/// (SQLite reads `?N` for the same numbered parameters).
pub fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// How many groups one top-N statement covers; SQLite allows 500 parts in
/// a compound select.
pub const GROUPS_PER_STATEMENT: usize = 100;

/// A keyset page of many organizations' lists of one table, in one
/// statement: a `UNION ALL` of one limited subquery per organization, so
/// each part is an index range scan that stops after `limit` rows however
/// large the organization (a window over all their rows would read and sort
/// every one of them).
pub struct TopPerOrganization<'a> {
    /// The table and its alias, e.g. `projects p`.
    pub table: &'a str,
    pub alias: &'a str,
    /// Newest first (id descending), or oldest first.
    pub newest_first: bool,
    /// Further conditions, each starting with ` AND `, and their values,
    /// numbered from `$1`.
    pub filter: (String, Vec<Value>),
    /// The id to continue after.
    pub after: Option<Uuid>,
    pub limit: u64,
}

impl TopPerOrganization<'_> {
    /// The statement's text and values for these organizations.
    pub fn sql(self, organizations: &[OrganizationId]) -> (String, Vec<Value>) {
        let Self {
            table,
            alias: a,
            newest_first,
            filter: (mut condition, mut values),
            after,
            limit,
        } = self;
        let (order, beyond) = if newest_first {
            ("DESC", "<")
        } else {
            ("ASC", ">")
        };
        if let Some(after) = after {
            values.push(after.into());
            condition.push_str(&format!(" AND {a}.id {beyond} ${}", values.len()));
        }
        let first = values.len() + 1;
        values.extend(organizations.iter().map(|o| Value::from(*o)));
        let sql = (0..organizations.len())
            .map(|i| {
                let n = first + i;
                format!(
                    "SELECT * FROM (SELECT {a}.* FROM {table} WHERE {a}.organization_id = ${n}\
                     {condition} ORDER BY {a}.id {order} LIMIT {limit}) AS g{i}"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        (sql, values)
    }
}

/// Batched keys grouped by what they share besides their parent (a filter,
/// a page), each group split into chunks of parents one top-N statement
/// can cover.
pub fn chunked_groups<P: Clone, G: std::hash::Hash + Eq + Clone>(
    keys: impl IntoIterator<Item = (P, G)>,
) -> Vec<(G, Vec<P>)> {
    let mut groups: std::collections::HashMap<G, Vec<P>> = std::collections::HashMap::new();
    for (parent, group) in keys {
        groups.entry(group).or_default().push(parent);
    }
    let mut out = Vec::new();
    for (group, parents) in groups {
        for chunk in parents.chunks(GROUPS_PER_STATEMENT) {
            out.push((group.clone(), chunk.to_vec()));
        }
    }
    out
}

/// `$first, $first+1, …` for `count` parameters, as an IN list needs.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A LIKE pattern that matches `needle` anywhere, with LIKE's own wildcards
/// in it escaped (use with `ESCAPE '\'`).
pub fn contains_pattern(needle: &str) -> String {
    let mut escaped = String::with_capacity(needle.len() + 2);
    escaped.push('%');
    for c in crate::text::folded(needle).chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// Rows per value of `column` among those `query` selects, in one GROUP BY.
pub async fn grouped_counts<E, C, K>(
    conn: &impl ConnectionTrait,
    query: sea_orm::Select<E>,
    column: C,
) -> Result<std::collections::HashMap<K, u64>, DbErr>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ColumnTrait,
    K: sea_orm::TryGetable + Eq + std::hash::Hash,
{
    let rows: Vec<(K, i64)> = query
        .select_only()
        .column(column)
        .column_as(column.count(), "count")
        .group_by(column)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, n.max(0) as u64))
        .collect())
}
