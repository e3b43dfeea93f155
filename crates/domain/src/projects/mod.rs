//! Projects: the worked example of a resource built on Groundwork, and the
//! template `cargo xtask new-resource` copies. `entity.rs` is the table;
//! `service.rs` the rules and changes, each one unit of work with its audit
//! event and live event. The API crate's `slices/projects` holds its
//! GraphQL types, resolvers and loaders.

pub mod entity;
pub mod service;

use crate::{billing::plans::Metered, counters::Counter};

/// Active projects, which a plan may limit (`projects = 50`); also the
/// counter `totalCount` of the active list reads.
pub const PROJECTS: Metered = Metered::new("projects");

/// Archived projects, for `totalCount` of the archived list.
pub const ARCHIVED_PROJECTS: Counter = Counter("archived_projects");

/// What happened to a project, as its live events say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProjectEventKind {
    Created,
    Updated,
    Archived,
    Restored,
    Deleted,
}

impl ProjectEventKind {
    pub const ALL: [Self; 5] = [
        Self::Created,
        Self::Updated,
        Self::Archived,
        Self::Restored,
        Self::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Updated => "UPDATED",
            Self::Archived => "ARCHIVED",
            Self::Restored => "RESTORED",
            Self::Deleted => "DELETED",
        }
    }

    pub fn parse(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}
