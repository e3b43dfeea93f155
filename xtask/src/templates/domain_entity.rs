use groundwork_kernel::typed_id;

typed_id! {
    /// A __words__'s id.
    pub struct __Name__Id = "__Name__";
}

pub mod __name__ {
    pub use super::__Name__Id;
    use groundwork_kernel::ids::{OrganizationId, UserId};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "__names__")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: __Name__Id,
        pub organization_id: OrganizationId,
        pub name: String,
        pub description: Option<String>,
        pub created_by: Option<UserId>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
