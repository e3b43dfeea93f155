//! The domain's enums as GraphQL enums. Each mirrors its domain type
//! variant for variant (`remote` makes the compiler check that, and gives
//! the conversions both ways), so the domain needs no GraphQL derive.

use async_graphql::Enum;

/// A member's role in an organization, from most to least powerful.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::access::Role")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

/// What a role may do in its organization beyond reading it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::access::Permission")]
pub enum Permission {
    OrganizationUpdate,
    OrganizationDelete,
    MemberInvite,
    MemberUpdateRole,
    MemberRemove,
    OwnershipTransfer,
    BillingRead,
    BillingManage,
    ProjectCreate,
    ProjectUpdateAny,
    ProjectDeleteAny,
    AuditLogRead,
}

/// A capability a plan grants.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::access::Feature")]
pub enum Feature {
    AuditLog,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::billing::plans::BillingInterval")]
pub enum BillingInterval {
    Month,
    Year,
}

/// Stripe's subscription statuses, as the API shows them.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::billing::SubscriptionStatus")]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    Incomplete,
    IncompleteExpired,
    Paused,
}

/// The stored statuses; EXPIRED is what a PENDING one past its expiry shows.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::orgs::invitations::InvitationStatus")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::projects::ProjectEventKind")]
pub enum ProjectEventKind {
    Created,
    Updated,
    Archived,
    Restored,
    Deleted,
}

/// Domain values as their GraphQL enum, for lists.
pub fn all<D: Copy, G: From<D>>(values: &[D]) -> Vec<G> {
    values.iter().copied().map(G::from).collect()
}
