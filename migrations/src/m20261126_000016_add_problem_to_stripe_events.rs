use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Why a recorded Stripe event was not applied, or not in full (an unknown
/// organization, a customer of another organization, a price no plan has,
/// an object that cannot be read): such an event is acknowledged, since
/// Stripe sending it again would change nothing, and this says why it
/// changed less than it names.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StripeEvents::Table)
                    .add_column(text_null(StripeEvents::Problem))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StripeEvents::Table)
                    .drop_column(StripeEvents::Problem)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum StripeEvents {
    Table,
    Problem,
}
