//! Groundwork's domain: the slices (accounts, organizations, billing,
//! projects, the audit log, mail), each its entities, its rules and its
//! services. Services are plain async functions taking the core (or a
//! transaction) and an actor and returning `AppResult`.
//!
//! Nothing here knows GraphQL or HTTP: the API crate turns requests into
//! calls of these functions, and this crate does not depend on it.

pub mod access;
pub mod audit;
pub mod auth;
pub mod billing;
mod core;
pub mod counters;
pub mod mail;
pub mod orgs;
pub mod projects;
// new-resource: module
pub mod seed;
pub mod uow;

pub use crate::core::{Core, StartError};

// The kernel's modules, under the paths every slice names them by.
pub use groundwork_kernel::{
    actor, backoff, config, crypto, db, email, error, events, ids, page, ratelimit, text,
};
