//! Relay's `Node`: every entity with an id, and `node`/`nodes` to find any
//! of them by global id. Each slice says who may see its entities
//! (`NodeKind`); the registry (`slices::node_types!`) makes them variants of
//! `Node`. An id the viewer may not see, of any type, is null, exactly like
//! one that does not exist, so ids cannot be probed.

use async_graphql::{Context, ID, Object};

use crate::{
    error::{AppError, AppResult},
    ids::TypedId,
    slices::{Node, resolve_node},
};

/// An entity `node(id:)` can find.
pub trait NodeKind: Sized {
    type Id: TypedId;

    /// The entity, if the viewer may see it.
    fn find(
        ctx: &Context<'_>,
        id: Self::Id,
    ) -> impl Future<Output = AppResult<Option<Self>>> + Send;
}

/// The most ids one `nodes` call takes.
pub const MAX_NODES: usize = 100;

/// `first`-style cost of `nodes`: each id may load a whole entity.
fn nodes_cost(ids: &[ID], child: usize) -> usize {
    ids.len().clamp(1, MAX_NODES) * child
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any entity by its global id; null when it does not exist or the viewer may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Node>> {
        resolve_node(ctx, &id).await
    }

    /// Entities by global id, in the order asked; null for each the viewer may not see.
    /// Every lookup of one type shares one query.
    #[graphql(complexity = "nodes_cost(&ids, child_complexity)")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> AppResult<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(AppError::bad_input(
                "ids",
                format!("Ask for at most {MAX_NODES} ids at once."),
            ));
        }
        // Resolved together, so the request's loaders batch each type's rows.
        futures_util::future::try_join_all(ids.iter().map(|id| resolve_node(ctx, id))).await
    }
}
