//! Tables of the organizations slice.

use groundwork_kernel::typed_id;

typed_id! {
    /// A user's membership of an organization.
    pub struct MembershipId = "Membership";
}

typed_id! {
    pub struct InvitationId = "Invitation";
}

/// What became of an invitation, as stored; `EXPIRED` is what a pending
/// one past its expiry shows (`invitations::InvitationStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum InvitationState {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
}

pub mod organization {
    pub use groundwork_kernel::ids::OrganizationId;
    use groundwork_kernel::ids::UserId;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organizations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: OrganizationId,
        pub name: String,
        pub slug: String,
        pub personal: bool,
        pub created_by: Option<UserId>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod membership {
    pub use super::MembershipId;
    use groundwork_kernel::ids::{OrganizationId, UserId};
    use sea_orm::entity::prelude::*;

    use crate::access::Role;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "memberships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: MembershipId,
        pub organization_id: OrganizationId,
        pub user_id: UserId,
        pub role: Role,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::organization::Entity",
            from = "Column::OrganizationId",
            to = "super::organization::Column::Id"
        )]
        Organization,
        #[sea_orm(
            belongs_to = "crate::auth::entity::user::Entity",
            from = "Column::UserId",
            to = "crate::auth::entity::user::Column::Id"
        )]
        User,
    }

    impl Related<super::organization::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Organization.def()
        }
    }

    impl Related<crate::auth::entity::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invitation {
    pub use super::{InvitationId, InvitationState};
    use groundwork_kernel::{
        email::EmailAddress,
        ids::{OrganizationId, UserId},
    };
    use sea_orm::entity::prelude::*;

    use crate::access::Role;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invitations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: InvitationId,
        pub organization_id: OrganizationId,
        pub email: EmailAddress,
        pub role: Role,
        pub token_hash: String,
        pub invited_by: Option<UserId>,
        /// EXPIRED is derived from `expires_at`.
        pub status: InvitationState,
        pub expires_at: DateTimeUtc,
        pub accepted_by: Option<UserId>,
        pub responded_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
