//! Forward-only schema migrations, one file per change, named
//! `mYYYYMMDD_NNNNNN_verb_noun.rs`. They run at start-up and in every test,
//! on SQLite and PostgreSQL alike, so they use only the portable schema helpers.

pub use sea_orm_migration::MigrationStatus;
pub use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![]
    }
}
