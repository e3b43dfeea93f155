//! __Names__: an organization's __words_plural__, made from the Projects
//! template by `cargo xtask new-resource`. `entity.rs` is the table;
//! `service.rs` the rules and changes, each one unit of work with its audit
//! event and live event. The API crate's `slices/__names__` holds its
//! GraphQL types, resolvers and loaders.

pub mod entity;
pub mod service;

use crate::billing::plans::Metered;

/// The organization's __words_plural__, which a plan may limit
/// (`__names__ = 100` under its `limits`); also the counter their lists'
/// `totalCount` reads.
pub const __NAMES__: Metered = Metered::new("__names__");

/// What happened to a __words__, as its live events say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum __Name__EventKind {
    Created,
    Updated,
    Deleted,
}

impl __Name__EventKind {
    pub const ALL: [Self; 3] = [Self::Created, Self::Updated, Self::Deleted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Updated => "UPDATED",
            Self::Deleted => "DELETED",
        }
    }

    pub fn parse(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}
