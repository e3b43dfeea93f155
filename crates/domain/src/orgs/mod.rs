//! Organizations, memberships and invitations.

pub mod entity;
pub mod invitations;
pub mod members;
pub mod service;
