//! The slices' parts of the schema, and the one place they are plugged in.
//!
//! Each slice (a folder here, beside its domain folder) owns its types,
//! resolvers and loaders. Registering one takes a line in each list below:
//! its root parts, its part of `Organization`, its `Node` types, its
//! metered resources. `cargo xtask new-resource` adds those lines.

use async_graphql::{Context, ID, MergedObject, MergedSubscription};

use crate::{
    billing::plans::Metered,
    error::AppResult,
    graphql::{meta::MetaQuery, node::NodeQuery},
    ids,
};

pub mod audit;
pub mod auth;
pub mod billing;
pub mod orgs;
pub mod projects;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    NodeQuery,
    MetaQuery,
    auth::AuthQuery,
    orgs::OrgQuery,
    projects::ProjectQuery,
    billing::BillingQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    auth::AuthMutation,
    orgs::OrgMutation,
    projects::ProjectMutation,
    billing::BillingMutation,
);

#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(projects::ProjectSubscription);

// Each slice adds its fields (members, projects, entitlements, ...) to
// `Organization` as a part of its own, built from the same `OrgView`.
/// An organization the viewer is a member of, as the viewer's role shows it.
#[derive(MergedObject, Clone)]
#[graphql(name = "Organization")]
pub struct Organization(
    orgs::OrganizationFields,
    projects::OrganizationProjects,
    billing::OrganizationBilling,
    audit::OrganizationAudit,
);

impl From<orgs::OrgView> for Organization {
    fn from(view: orgs::OrgView) -> Self {
        Self(
            view.clone().into(),
            view.clone().into(),
            view.clone().into(),
            view.into(),
        )
    }
}

/// What plans may limit: every slice's metered resources.
pub const METERED: &[Metered] = &[crate::orgs::MEMBERS, crate::projects::PROJECTS];

/// Declares `Node` with a variant per entity type, and `resolve_node`,
/// which finds an entity by global id through its type's `NodeKind`.
macro_rules! node_types {
    ($($variant:ident => $($segment:ident)::+,)*) => {
        /// Any entity with an id.
        #[derive(async_graphql::Interface)]
        #[graphql(field(name = "id", ty = "ID"))]
        pub enum Node {
            $($variant($($segment)::+),)*
        }

        /// The entity behind a global id, if the viewer may see it.
        pub async fn resolve_node(ctx: &Context<'_>, id: &ID) -> AppResult<Option<Node>> {
            use crate::{graphql::node::NodeKind, ids::TypedId};
            let Some((name, uuid)) = ids::decode(id) else {
                return Ok(None);
            };
            $(
                if name == <<$($segment)::+ as NodeKind>::Id as TypedId>::TYPE_NAME {
                    let id = <<$($segment)::+ as NodeKind>::Id as TypedId>::from_uuid(uuid);
                    return Ok(<$($segment)::+ as NodeKind>::find(ctx, id).await?.map(Node::$variant));
                }
            )*
            Ok(None)
        }

        /// Whether an entity type of this name is one of ours (audit targets).
        pub fn is_node_type(name: &str) -> bool {
            use crate::{graphql::node::NodeKind, ids::TypedId};
            false $(|| name == <<$($segment)::+ as NodeKind>::Id as TypedId>::TYPE_NAME)*
        }
    };
}

node_types! {
    User => auth::User,
    Organization => Organization,
    Membership => orgs::Membership,
    Invitation => orgs::Invitation,
    Project => projects::Project,
    AuditEvent => audit::AuditEvent,
    Session => auth::Session,
}
