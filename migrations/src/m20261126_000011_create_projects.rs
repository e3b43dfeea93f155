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
                    .table(Projects::Table)
                    .col(uuid(Projects::Id).primary_key())
                    .col(uuid(Projects::OrganizationId))
                    .col(string_len(Projects::Name, 100))
                    .col(string_len_null(Projects::Description, 2000))
                    .col(uuid_null(Projects::CreatedBy))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .col(timestamp_with_time_zone(Projects::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Projects::ArchivedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Projects::Table, Projects::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Projects::Table, Projects::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // Lists are per organization, active or archived, newest first by
        // time-ordered id: this index serves the filter, the order and the
        // keyset condition together, and the counts.
        manager
            .create_index(
                Index::create()
                    .name("idx_projects_org_archived_id")
                    .table(Projects::Table)
                    .col(Projects::OrganizationId)
                    .col(Projects::ArchivedAt)
                    .col(Projects::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_projects_org_id")
                    .table(Projects::Table)
                    .col(Projects::OrganizationId)
                    .col(Projects::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Projects::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    OrganizationId,
    Name,
    Description,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ArchivedAt,
}
