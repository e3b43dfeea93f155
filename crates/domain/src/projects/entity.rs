use groundwork_kernel::typed_id;

typed_id! {
    pub struct ProjectId = "Project";
}

pub mod project {
    pub use super::ProjectId;
    use groundwork_kernel::ids::{OrganizationId, UserId};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "projects")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: ProjectId,
        pub organization_id: OrganizationId,
        pub name: String,
        /// `name` as search compares it (`text::folded`), kept with it.
        pub name_folded: String,
        pub description: Option<String>,
        pub created_by: Option<UserId>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub archived_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
