use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Fixed-window attempt counters (sign-in, sign-up), shared by every replica
/// that uses this database.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimits::Table)
                    .col(string_len(RateLimits::Key, 320).primary_key())
                    .col(big_integer(RateLimits::WindowEnds))
                    .col(integer(RateLimits::Hits))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RateLimits::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    Key,
    WindowEnds,
    Hits,
}
