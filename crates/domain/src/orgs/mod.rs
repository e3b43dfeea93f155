//! Organizations, memberships and invitations.

pub mod entity;
pub mod invitations;
pub mod members;
pub mod service;

use crate::billing::plans::Metered;

/// Members plus pending invitations, which a plan may limit (`members = 10`).
pub const MEMBERS: Metered = Metered::new("members");
