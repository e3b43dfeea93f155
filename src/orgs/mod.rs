//! Organizations, memberships and invitations.

pub mod entity;
pub mod graphql;
pub mod invitations;
pub mod loaders;
pub mod service;
