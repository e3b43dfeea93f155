//! The slices' parts of the schema, and the one place they are plugged in.
//!
//! Each slice (a folder here, beside its domain folder) owns its types,
//! resolvers and loaders. Registering one takes a line in each list below:
//! its root parts, its part of `Organization`, its `Node` types, its
//! metered resources. `cargo xtask new-resource` adds those lines where
//! the `new-resource` comments are.

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
// new-resource: module

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    NodeQuery,
    MetaQuery,
    auth::AuthQuery,
    orgs::OrgQuery,
    projects::ProjectQuery,
    billing::BillingQuery,
    // new-resource: query
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    auth::AuthMutation,
    orgs::OrgMutation,
    projects::ProjectMutation,
    billing::BillingMutation,
    // new-resource: mutation
);

#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(
    projects::ProjectSubscription,
    // new-resource: subscription
);

/// Declares `Organization`, merged from each slice's part (each built
/// from the same `OrgView`), and how it is made from an `OrgView`.
macro_rules! organization_parts {
    ($($part:ident: $($segment:ident)::+,)*) => {
        // Each slice adds its fields (members, projects, entitlements, ...)
        // to `Organization` as a part of its own.
        /// An organization the viewer is a member of, as the viewer's role shows it.
        #[derive(MergedObject, Clone)]
        #[graphql(name = "Organization")]
        pub struct Organization($(pub $($segment)::+,)*);

        impl From<orgs::OrgView> for Organization {
            fn from(view: orgs::OrgView) -> Self {
                $(let $part = $($segment)::+::from(view.clone());)*
                Self($($part,)*)
            }
        }
    };
}

organization_parts! {
    fields: orgs::OrganizationFields,
    projects: projects::OrganizationProjects,
    billing: billing::OrganizationBilling,
    audit: audit::OrganizationAudit,
    // new-resource: organization
}

/// What plans may limit: every slice's metered resources.
pub const METERED: &[Metered] = &[
    crate::orgs::MEMBERS,
    crate::projects::PROJECTS,
    // new-resource: metered
];

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
    // new-resource: node
}
