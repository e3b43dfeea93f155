use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000007_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Stripe subscriptions as last applied, with the Stripe time of that
/// change so older events never move one back, and the seat count wanted
/// for per-seat plans until Stripe has it.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .col(uuid(Subscriptions::Id).primary_key())
                    .col(uuid(Subscriptions::OrganizationId))
                    .col(string_len_uniq(Subscriptions::StripeSubscriptionId, 255))
                    .col(string_len(Subscriptions::CustomerId, 255))
                    .col(string_len(Subscriptions::Status, 32))
                    .col(string_len(Subscriptions::PlanId, 64))
                    .col(string_len_null(Subscriptions::PriceId, 255))
                    .col(string_len_null(Subscriptions::BillingInterval, 16))
                    .col(string_len_null(Subscriptions::ItemId, 255))
                    .col(integer_null(Subscriptions::Seats))
                    .col(timestamp_with_time_zone_null(
                        Subscriptions::CurrentPeriodEnd,
                    ))
                    .col(boolean(Subscriptions::CancelAtPeriodEnd).default(false))
                    .col(timestamp_with_time_zone_null(Subscriptions::TrialEnd))
                    .col(timestamp_with_time_zone_null(Subscriptions::PastDueSince))
                    .col(big_integer(Subscriptions::StripeUpdatedAt))
                    .col(integer_null(Subscriptions::SeatsWanted))
                    .col(integer(Subscriptions::SeatSyncAttempts).default(0))
                    .col(timestamp_with_time_zone_null(Subscriptions::SeatSyncAfter))
                    .col(text_null(Subscriptions::SeatSyncError))
                    .col(timestamp_with_time_zone(Subscriptions::CreatedAt))
                    .col(timestamp_with_time_zone(Subscriptions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Subscriptions::Table, Subscriptions::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_subscriptions_org")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::OrganizationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Subscriptions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    OrganizationId,
    StripeSubscriptionId,
    CustomerId,
    Status,
    PlanId,
    PriceId,
    BillingInterval,
    ItemId,
    Seats,
    CurrentPeriodEnd,
    CancelAtPeriodEnd,
    TrialEnd,
    PastDueSince,
    StripeUpdatedAt,
    SeatsWanted,
    SeatSyncAttempts,
    SeatSyncAfter,
    SeatSyncError,
    CreatedAt,
    UpdatedAt,
}
