use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000007_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An organization's Stripe customer: one each, unique both ways.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StripeCustomers::Table)
                    .col(uuid(StripeCustomers::OrganizationId).primary_key())
                    .col(string_len_uniq(StripeCustomers::CustomerId, 255))
                    .col(timestamp_with_time_zone(StripeCustomers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StripeCustomers::Table, StripeCustomers::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StripeCustomers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StripeCustomers {
    Table,
    OrganizationId,
    CustomerId,
    CreatedAt,
}
