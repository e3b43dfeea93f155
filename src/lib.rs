//! Groundwork: a GraphQL API server that is the whole backend of a SaaS
//! product. The code lives in the workspace's crates, in three layers that
//! only depend downwards: `groundwork-kernel` (ids, errors, settings, the
//! database, live events), `groundwork-domain` (the slices' entities,
//! rules and services) and `groundwork-api` (the GraphQL schema and the
//! HTTP surface). This crate is the command line, and these re-exports for
//! the integration tests.

pub use groundwork_api::*;
