//! Global ids at the GraphQL edge: typed ids out as opaque `ID`s, `ID`
//! arguments back into typed ids, once, in the resolver.

use async_graphql::ID;

use crate::{error::AppResult, ids::TypedId};

/// The id as clients see it.
pub fn gid<I: TypedId>(id: I) -> ID {
    ID(id.global())
}

/// The typed id inside an `ID` argument; a malformed id, or one of another
/// type, is `NOT_FOUND`, like an id of a row that does not exist.
pub fn parse<I: TypedId>(id: &ID) -> AppResult<I> {
    I::parse_global(id)
}
