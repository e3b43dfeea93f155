//! The audit log: who did what to which object, written in the transaction
//! of the change itself so an event exists exactly when its change does.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::Value;

pub use crate::actor::Actor;
use crate::{crypto, error::AppResult};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub actor_id: Option<String>,
        pub action: String,
        pub target_type: Option<String>,
        pub target_id: Option<String>,
        pub metadata: Option<Json>,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One entry of the log: a dotted verb, what it touched, and details.
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub metadata: Value,
}

pub async fn record(
    conn: &impl ConnectionTrait,
    organization_id: &str,
    actor: &Actor,
    event: Event<'_>,
) -> AppResult<()> {
    entity::Entity::insert(entity::ActiveModel {
        id: Set(crypto::new_id()),
        organization_id: Set(organization_id.to_owned()),
        actor_id: Set(actor.user_id.clone()),
        action: Set(event.action.to_owned()),
        target_type: Set(Some(event.target_type.to_owned())),
        target_id: Set(Some(event.target_id.to_owned())),
        metadata: Set((!event.metadata.is_null()).then_some(event.metadata)),
        ip: Set(actor.meta.ip.clone()),
        user_agent: Set(actor.meta.user_agent.clone()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}
