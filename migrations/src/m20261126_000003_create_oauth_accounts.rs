use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OauthAccounts::Table)
                    .col(uuid(OauthAccounts::Id).primary_key())
                    .col(string_len(OauthAccounts::Provider, 64))
                    .col(string_len(OauthAccounts::Subject, 255))
                    .col(uuid(OauthAccounts::UserId))
                    .col(string_len_null(OauthAccounts::Email, 254))
                    .col(timestamp_with_time_zone(OauthAccounts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OauthAccounts::Table, OauthAccounts::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_oauth_accounts_provider_subject")
                    .table(OauthAccounts::Table)
                    .col(OauthAccounts::Provider)
                    .col(OauthAccounts::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_oauth_accounts_user_provider")
                    .table(OauthAccounts::Table)
                    .col(OauthAccounts::UserId)
                    .col(OauthAccounts::Provider)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OauthAccounts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OauthAccounts {
    Table,
    Id,
    Provider,
    Subject,
    UserId,
    Email,
    CreatedAt,
}
