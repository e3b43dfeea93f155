//! Organizations, memberships and invitations.

pub mod entity;
pub mod graphql;
pub mod invitations;
pub mod loaders;
pub mod members;
pub mod service;
