//! The audit log: who did what to which object, written in the transaction
//! of the change itself so an event exists exactly when its change does.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::Value;

pub use crate::actor::Actor;
use crate::{
    error::AppResult,
    ids::{OrganizationId, TypedId},
};

groundwork_kernel::typed_id! {
    pub struct AuditEventId = "AuditEvent";
}

pub mod entity {
    pub use super::AuditEventId;
    use groundwork_kernel::ids::{OrganizationId, UserId};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: AuditEventId,
        pub organization_id: OrganizationId,
        pub actor_id: Option<UserId>,
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
pub struct Event {
    pub action: &'static str,
    /// The kind of thing touched: one of ours, by the lower-case name of
    /// its type (`project`), or an outside system's (`subscription`).
    pub target_type: String,
    /// Its id: a row id of ours, or the outside system's own (a Stripe id).
    pub target_id: String,
    pub metadata: Value,
}

impl Event {
    /// An event about one of our entities.
    pub fn on<I: TypedId>(action: &'static str, target: I, metadata: Value) -> Self {
        Self {
            action,
            target_type: I::TYPE_NAME.to_ascii_lowercase(),
            target_id: target.uuid().to_string(),
            metadata,
        }
    }

    /// An event about something an outside system names (a Stripe
    /// subscription, an invoice).
    pub fn external(action: &'static str, kind: &str, id: &str, metadata: Value) -> Self {
        Self {
            action,
            target_type: kind.to_owned(),
            target_id: id.to_owned(),
            metadata,
        }
    }
}

pub async fn record(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
    actor: &Actor,
    event: Event,
) -> AppResult<()> {
    entity::Entity::insert(entity::ActiveModel {
        id: Set(AuditEventId::new()),
        organization_id: Set(organization_id),
        actor_id: Set(actor.user_id),
        action: Set(event.action.to_owned()),
        target_type: Set(Some(event.target_type)),
        target_id: Set(Some(event.target_id)),
        metadata: Set((!event.metadata.is_null()).then_some(event.metadata)),
        ip: Set(actor.meta.ip.clone()),
        user_agent: Set(actor.meta.user_agent.clone()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    crate::counters::add(conn, organization_id, crate::counters::AUDIT_EVENTS, 1).await?;
    Ok(())
}
