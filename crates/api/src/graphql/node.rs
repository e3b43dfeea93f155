//! Relay's `Node`: every entity with an id, and `node`/`nodes` to find any
//! of them by global id. Each slice says who may see its entities; an id the
//! viewer may not see, of any type, is null, exactly like one that does not
//! exist, so ids cannot be probed.

use async_graphql::{Context, ID, Interface, Object};

use crate::{
    error::{AppError, AppResult},
    ids::{NodeType, decode},
    slices::audit::{AuditEvent, audit_event_node},
    slices::auth::{Session, User, session_node, user_node},
    slices::orgs::{
        Invitation, Membership, Organization, invitation_node, load_for_viewer, membership_node,
    },
    slices::projects::{Project, project_node},
};

/// The most ids one `nodes` call takes.
pub const MAX_NODES: usize = 100;

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    User(User),
    Organization(Organization),
    Membership(Membership),
    Invitation(Invitation),
    Project(Project),
    AuditEvent(AuditEvent),
    Session(Session),
}

/// The entity behind a global id, if the viewer may see it.
async fn resolve(ctx: &Context<'_>, id: &str) -> AppResult<Option<Node>> {
    let Some((ty, raw)) = decode(id) else {
        return Ok(None);
    };
    Ok(match ty {
        NodeType::User => user_node(ctx, &raw).await?.map(Node::User),
        NodeType::Organization => load_for_viewer(ctx, &raw).await?.map(Node::Organization),
        NodeType::Membership => membership_node(ctx, &raw).await?.map(Node::Membership),
        NodeType::Invitation => invitation_node(ctx, &raw).await?.map(Node::Invitation),
        NodeType::Project => project_node(ctx, &raw).await?.map(Node::Project),
        NodeType::AuditEvent => audit_event_node(ctx, &raw).await?.map(Node::AuditEvent),
        NodeType::Session => session_node(ctx, &raw).await?.map(Node::Session),
    })
}

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
        resolve(ctx, &id).await
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
        futures_util::future::try_join_all(ids.iter().map(|id| resolve(ctx, id))).await
    }
}
