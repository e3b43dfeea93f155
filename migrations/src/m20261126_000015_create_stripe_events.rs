use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The ledger of received Stripe events: an id is recorded in the same
/// transaction as the event's effect, so a redelivery changes nothing.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StripeEvents::Table)
                    .col(string_len(StripeEvents::EventId, 255).primary_key())
                    .col(string_len(StripeEvents::EventType, 128))
                    .col(big_integer(StripeEvents::StripeCreated))
                    .col(timestamp_with_time_zone(StripeEvents::ReceivedAt))
                    .col(timestamp_with_time_zone_null(StripeEvents::ProcessedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StripeEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StripeEvents {
    Table,
    EventId,
    EventType,
    StripeCreated,
    ReceivedAt,
    ProcessedAt,
}
