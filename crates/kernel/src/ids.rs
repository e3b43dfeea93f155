//! Global ids: how a row's id looks outside the server.
//!
//! Clients see one opaque string per entity that names both its type and its
//! uuid, so `node(id:)` can find any entity and an id of one kind passed where
//! another is expected is refused instead of matching a row by accident.
//! The encoding (URL-safe base64 of `Type:uuid`) is an implementation detail
//! clients must not rely on.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Every kind of entity the API gives an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeType {
    User,
    Organization,
    Membership,
    Invitation,
    Project,
    AuditEvent,
    Session,
}

/// The longest global id any type can produce, with room to spare; longer
/// input is refused before it is decoded.
const MAX_GLOBAL_ID_LEN: usize = 96;

impl NodeType {
    const ALL: [NodeType; 7] = [
        Self::User,
        Self::Organization,
        Self::Membership,
        Self::Invitation,
        Self::Project,
        Self::AuditEvent,
        Self::Session,
    ];

    /// The GraphQL type name, which is also the prefix inside the id.
    pub const fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Organization => "Organization",
            Self::Membership => "Membership",
            Self::Invitation => "Invitation",
            Self::Project => "Project",
            Self::AuditEvent => "AuditEvent",
            Self::Session => "Session",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The type an audit event's `target_type` names, when it is one of ours.
    pub fn from_audit_target(target_type: &str) -> Option<Self> {
        match target_type {
            "user" => Some(Self::User),
            "organization" => Some(Self::Organization),
            "membership" => Some(Self::Membership),
            "invitation" => Some(Self::Invitation),
            "project" => Some(Self::Project),
            _ => None,
        }
    }

    /// The global id of a row of this type.
    pub fn global(self, raw: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{raw}", self.name()))
    }

    /// The row id inside a global id of this type; any other input (another
    /// type's id, garbage, a raw uuid) is `NOT_FOUND`, as if no such row existed.
    pub fn parse(self, global: &str) -> AppResult<String> {
        match decode(global) {
            Some((ty, raw)) if ty == self => Ok(raw),
            _ => Err(AppError::NotFound(self.name())),
        }
    }
}

/// The type and row id of a global id, or None when it is not one.
pub fn decode(global: &str) -> Option<(NodeType, String)> {
    if global.len() > MAX_GLOBAL_ID_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(global).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (name, raw) = text.split_once(':')?;
    let ty = NodeType::from_name(name)?;
    // Row ids are stored in the uuid's canonical form; anything else cannot
    // match a row and must not reach a query (a NUL byte fails on PostgreSQL).
    let uuid = Uuid::try_parse(raw).ok()?;
    Some((ty, uuid.hyphenated().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_per_type() {
        let raw = Uuid::now_v7().to_string();
        for ty in NodeType::ALL {
            let global = ty.global(&raw);
            assert_eq!(decode(&global), Some((ty, raw.clone())));
            assert_eq!(ty.parse(&global).unwrap(), raw);
            assert!(global.len() <= MAX_GLOBAL_ID_LEN);
        }
    }

    #[test]
    fn foreign_and_malformed_ids_are_not_found() {
        let raw = Uuid::now_v7().to_string();
        let project = NodeType::Project.global(&raw);
        assert!(matches!(
            NodeType::Organization.parse(&project),
            Err(AppError::NotFound("Organization"))
        ));
        for bad in [
            NodeType::Project.parse(&raw),
            NodeType::Project.parse(""),
            NodeType::Project.parse("!!!"),
            NodeType::Project.parse(&URL_SAFE_NO_PAD.encode("Project:not-a-uuid")),
            NodeType::Project.parse(&URL_SAFE_NO_PAD.encode("Project:\0")),
            NodeType::Project.parse(&URL_SAFE_NO_PAD.encode("Nope:".to_owned() + &raw)),
            NodeType::Project.parse(&"A".repeat(10_000)),
        ] {
            assert!(matches!(bad, Err(AppError::NotFound("Project"))));
        }
    }
}
