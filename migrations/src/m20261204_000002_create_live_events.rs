use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The live event log: positions follow commit order (appends are
        // serialized; see the kernel's events::log).
        manager
            .create_table(
                Table::create()
                    .table(LiveEvents::Table)
                    .col(big_pk_auto(LiveEvents::Position))
                    .col(uuid(LiveEvents::OrganizationId))
                    .col(string_len(LiveEvents::Topic, 64))
                    .col(uuid(LiveEvents::Subject))
                    .col(string_len(LiveEvents::Kind, 32))
                    .col(timestamp_with_time_zone(LiveEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Resuming one subscription reads its organization's events after
        // a position.
        manager
            .create_index(
                Index::create()
                    .name("idx_live_events_org_topic_position")
                    .table(LiveEvents::Table)
                    .col(LiveEvents::OrganizationId)
                    .col(LiveEvents::Topic)
                    .col(LiveEvents::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_live_events_created_at")
                    .table(LiveEvents::Table)
                    .col(LiveEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // The last position pruned: a resume from before it cannot be served.
        manager
            .create_table(
                Table::create()
                    .table(LiveEventHorizon::Table)
                    .col(integer(LiveEventHorizon::Id).primary_key())
                    .col(big_integer(LiveEventHorizon::PrunedThrough).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(LiveEventHorizon::Table)
                    .columns([LiveEventHorizon::Id, LiveEventHorizon::PrunedThrough])
                    .values_panic([1.into(), 0.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LiveEventHorizon::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LiveEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum LiveEvents {
    Table,
    Position,
    OrganizationId,
    Topic,
    Subject,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LiveEventHorizon {
    Table,
    Id,
    PrunedThrough,
}
