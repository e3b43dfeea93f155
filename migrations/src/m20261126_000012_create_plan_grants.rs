use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000007_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Plans given by hand (`groundwork billing grant`): comped accounts and
/// local development without Stripe. One per organization.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlanGrants::Table)
                    .col(uuid(PlanGrants::OrganizationId).primary_key())
                    .col(string_len(PlanGrants::PlanId, 64))
                    .col(timestamp_with_time_zone_null(PlanGrants::Until))
                    .col(timestamp_with_time_zone(PlanGrants::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PlanGrants::Table, PlanGrants::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PlanGrants::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PlanGrants {
    Table,
    OrganizationId,
    PlanId,
    Until,
    CreatedAt,
}
