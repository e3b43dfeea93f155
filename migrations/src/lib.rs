//! Forward-only schema migrations, one file per change, named
//! `mYYYYMMDD_NNNNNN_verb_noun.rs`. They run at start-up and in every test,
//! on SQLite and PostgreSQL alike, so they use only the portable schema helpers.

pub use sea_orm_migration::MigrationStatus;
pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_users;
mod m20261126_000002_create_sessions;
mod m20261126_000003_create_oauth_accounts;
mod m20261126_000004_create_user_tokens;
mod m20261126_000005_create_mail_outbox;
mod m20261126_000006_create_rate_limits;
mod m20261126_000007_create_organizations;
mod m20261126_000008_create_memberships;
mod m20261126_000009_create_invitations;
mod m20261126_000010_create_audit_events;
mod m20261126_000011_create_projects;
mod m20261126_000012_create_plan_grants;
mod m20261126_000013_create_stripe_customers;
mod m20261126_000014_create_subscriptions;
mod m20261126_000015_create_stripe_events;
mod m20261126_000016_add_problem_to_stripe_events;
mod m20261126_000017_add_rate_limit_pending;
mod m20261204_000001_create_usage_counters;
mod m20261204_000002_create_live_events;
mod m20261204_000003_search_project_names;
// new-resource: module

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_users::Migration),
            Box::new(m20261126_000002_create_sessions::Migration),
            Box::new(m20261126_000003_create_oauth_accounts::Migration),
            Box::new(m20261126_000004_create_user_tokens::Migration),
            Box::new(m20261126_000005_create_mail_outbox::Migration),
            Box::new(m20261126_000006_create_rate_limits::Migration),
            Box::new(m20261126_000007_create_organizations::Migration),
            Box::new(m20261126_000008_create_memberships::Migration),
            Box::new(m20261126_000009_create_invitations::Migration),
            Box::new(m20261126_000010_create_audit_events::Migration),
            Box::new(m20261126_000011_create_projects::Migration),
            Box::new(m20261126_000012_create_plan_grants::Migration),
            Box::new(m20261126_000013_create_stripe_customers::Migration),
            Box::new(m20261126_000014_create_subscriptions::Migration),
            Box::new(m20261126_000015_create_stripe_events::Migration),
            Box::new(m20261126_000016_add_problem_to_stripe_events::Migration),
            Box::new(m20261126_000017_add_rate_limit_pending::Migration),
            Box::new(m20261204_000001_create_usage_counters::Migration),
            Box::new(m20261204_000002_create_live_events::Migration),
            Box::new(m20261204_000003_search_project_names::Migration),
            // new-resource: migration
        ]
    }
}
