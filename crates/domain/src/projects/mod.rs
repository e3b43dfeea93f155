//! Projects: the worked example of a feature built on Groundwork. Copy this
//! folder to add a resource: `entity.rs` (the table), `service.rs` (rules and
//! changes, each in one transaction with its audit event and live event),
//! `graphql.rs` (thin resolvers), `loaders.rs` (batched reads for nesting).

pub mod entity;
pub mod service;
