use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    m20261126_000001_create_users::Users, m20261126_000007_create_organizations::Organizations,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(__Names__::Table)
                    .col(uuid(__Names__::Id).primary_key())
                    .col(uuid(__Names__::OrganizationId))
                    .col(string_len(__Names__::Name, 100))
                    .col(string_len_null(__Names__::Description, 2000))
                    .col(uuid_null(__Names__::CreatedBy))
                    .col(timestamp_with_time_zone(__Names__::CreatedAt))
                    .col(timestamp_with_time_zone(__Names__::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(__Names__::Table, __Names__::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(__Names__::Table, __Names__::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // Lists are per organization, newest first by time-ordered id: the
        // index serves the filter, the order and the keyset condition.
        manager
            .create_index(
                Index::create()
                    .name("idx___names___org_id")
                    .table(__Names__::Table)
                    .col(__Names__::OrganizationId)
                    .col(__Names__::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(__Names__::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum __Names__ {
    Table,
    Id,
    OrganizationId,
    Name,
    Description,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}
