//! Per-organization counters, kept in the transaction of every change that
//! moves them: how many members, active and archived projects, audit
//! events an organization has. Reading one is a primary-key lookup however
//! large the organization, where a `COUNT(*)` would read every row.
//!
//! A counter that was never moved reads as zero. Each change adds its
//! delta with one upsert, which takes the counter row's lock until the
//! change commits, so concurrent changes add up exactly.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr, Value};

use crate::{
    db::{placeholders, statement},
    ids::OrganizationId,
};

pub mod entity {
    use groundwork_kernel::ids::OrganizationId;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "usage_counters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: OrganizationId,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub value: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A counter's name: a slice's metered key, or another count it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Counter(pub &'static str);

/// Members of the organization.
pub const MEMBERS: Counter = Counter("members");
/// Events in its audit log.
pub const AUDIT_EVENTS: Counter = Counter("audit_events");

/// Adds `delta` to the organization's counter.
pub async fn add(
    conn: &impl ConnectionTrait,
    organization: OrganizationId,
    counter: Counter,
    delta: i64,
) -> Result<(), DbErr> {
    if delta == 0 {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    let sql = "INSERT INTO usage_counters (organization_id, name, value) VALUES ($1, $2, $3) \
               ON CONFLICT (organization_id, name) DO UPDATE SET value = usage_counters.value + excluded.value";
    conn.execute_raw(statement(
        backend,
        sql,
        vec![organization.into(), counter.0.into(), delta.into()],
    ))
    .await?;
    Ok(())
}

/// The counters' values for these organizations, zero where never moved.
pub async fn read(
    conn: &impl ConnectionTrait,
    organizations: &[OrganizationId],
    counters: &[Counter],
) -> Result<HashMap<(OrganizationId, Counter), u64>, DbErr> {
    let mut out = HashMap::with_capacity(organizations.len() * counters.len());
    for org in organizations {
        for counter in counters {
            out.insert((*org, *counter), 0);
        }
    }
    if organizations.is_empty() || counters.is_empty() {
        return Ok(out);
    }
    let backend = conn.get_database_backend();
    for chunk in organizations.chunks(500) {
        let mut values: Vec<Value> = counters.iter().map(|c| c.0.into()).collect();
        let names = placeholders(1, counters.len());
        let orgs = placeholders(values.len() + 1, chunk.len());
        values.extend(chunk.iter().map(|o| Value::from(*o)));
        let sql = format!(
            "SELECT organization_id, name, value FROM usage_counters \
             WHERE name IN ({names}) AND organization_id IN ({orgs})"
        );
        for row in conn.query_all_raw(statement(backend, &sql, values)).await? {
            let org: OrganizationId = row.try_get("", "organization_id")?;
            let name: String = row.try_get("", "name")?;
            let value: i64 = row.try_get("", "value")?;
            if let Some(counter) = counters.iter().find(|c| c.0 == name) {
                out.insert((org, *counter), value.max(0) as u64);
            }
        }
    }
    Ok(out)
}

/// One counter of one organization.
pub async fn get(
    conn: &impl ConnectionTrait,
    organization: OrganizationId,
    counter: Counter,
) -> Result<u64, DbErr> {
    let values = read(conn, &[organization], &[counter]).await?;
    Ok(values.get(&(organization, counter)).copied().unwrap_or(0))
}
