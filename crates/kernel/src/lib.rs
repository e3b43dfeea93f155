//! Groundwork's kernel: what every slice builds on and nothing in it knows
//! of a slice. Ids, the actor of a change and where it came from, page
//! arguments, the one error type, settings, the database and its
//! transactions, text rules, rate limits and the live event bus.
//!
//! Nothing here imports the domain or the API: the compiler keeps it so,
//! since this crate depends on neither.

pub mod actor;
pub mod backoff;
pub mod config;
pub mod crypto;
pub mod db;
pub mod email;
pub mod error;
pub mod events;
pub mod ids;
pub mod page;
pub mod ratelimit;
pub mod text;
