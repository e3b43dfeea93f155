use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Attempts in flight beside the counted ones: a failure counter reserves a
/// slot before the password is checked and settles it after, so parallel
/// guesses cannot pass the limit together and correct ones never use it up.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RateLimits::Table)
                    .add_column(integer(RateLimits::Pending).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RateLimits::Table)
                    .drop_column(RateLimits::Pending)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    Pending,
}
