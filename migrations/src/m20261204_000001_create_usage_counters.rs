use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000007_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per organization and counter, moved in the transaction of
        // each change: counts that cost a key lookup whatever the size.
        manager
            .create_table(
                Table::create()
                    .table(UsageCounters::Table)
                    .col(uuid(UsageCounters::OrganizationId))
                    .col(string_len(UsageCounters::Name, 64))
                    .col(big_integer(UsageCounters::Value).default(0))
                    .primary_key(
                        Index::create()
                            .col(UsageCounters::OrganizationId)
                            .col(UsageCounters::Name),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UsageCounters::Table, UsageCounters::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UsageCounters::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum UsageCounters {
    Table,
    OrganizationId,
    Name,
    Value,
}
