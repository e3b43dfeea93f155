//! Tables of the accounts slice. These structs never reach the schema: the
//! API's GraphQL types copy what may be shown.

use groundwork_kernel::typed_id;

typed_id! {
    /// A session's id (not its token, which only the client has).
    pub struct SessionId = "Session";
}

typed_id! {
    /// A sign-in provider account linked to a user.
    pub struct OAuthAccountId = "LinkedAccount";
}

typed_id! {
    /// A one-time link's row (its token is only stored hashed).
    pub struct UserTokenId = "UserToken";
}

/// What a one-time link does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum TokenPurpose {
    #[sea_orm(string_value = "verify_email")]
    VerifyEmail,
    #[sea_orm(string_value = "reset_password")]
    ResetPassword,
}

pub mod user {
    use groundwork_kernel::email::EmailAddress;
    pub use groundwork_kernel::ids::UserId;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: UserId,
        pub email: EmailAddress,
        pub name: String,
        pub avatar_url: Option<String>,
        pub email_verified_at: Option<DateTimeUtc>,
        pub password_hash: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session {
    pub use super::SessionId;
    use groundwork_kernel::ids::UserId;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: SessionId,
        pub token_hash: String,
        pub user_id: UserId,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
        /// The absolute expiry; the idle one is `last_seen_at` plus the idle timeout.
        pub expires_at: DateTimeUtc,
        pub user_agent: Option<String>,
        pub ip: Option<String>,
        pub revoked_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id"
        )]
        User,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod oauth_account {
    pub use super::OAuthAccountId;
    use groundwork_kernel::ids::UserId;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oauth_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: OAuthAccountId,
        pub provider: String,
        pub subject: String,
        pub user_id: UserId,
        pub email: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user_token {
    pub use super::{TokenPurpose, UserTokenId};
    use groundwork_kernel::{email::EmailAddress, ids::UserId};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: UserTokenId,
        pub token_hash: String,
        pub user_id: UserId,
        pub purpose: TokenPurpose,
        /// The address the token was sent to; a verification only counts for it.
        pub email: Option<EmailAddress>,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
