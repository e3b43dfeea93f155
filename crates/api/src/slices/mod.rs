//! The slices' parts of the schema: each slice's types, resolvers and
//! loaders, in a folder of its own.

pub mod audit;
pub mod auth;
pub mod billing;
pub mod orgs;
pub mod projects;
