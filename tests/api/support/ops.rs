//! The GraphQL documents the tests send, in one place. A document one test
//! needs for itself (a hostile or malformed one, say) stays beside that test.
//!
//! Variables are named alike across documents: `$id` for the object acted
//! on, `$org` for an organization a new object goes in, `$t` for a mailed
//! token.

// The server itself.

pub const API_VERSION: &str = "{ apiVersion }";
pub const PLAN_IDS: &str = "{ plans { id } }";
/// A query the schema refuses: it names no field there is.
pub const UNKNOWN_FIELD: &str = "{ nope }";

/// Global ids, each resolved to its object or null.
pub const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";
pub const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";

/// What a dashboard page asks for at once: lists nested in lists, the shape
/// the data loaders are there for.
pub const DASHBOARD: &str = r"query Dashboard {
  viewer {
    id name email
    organizations(first: 20) {
      totalCount
      edges { node {
        id name slug viewerRole
        entitlements { plan { id name } projects { used limit } members { used limit } }
        members(first: 10) { totalCount edges { node { role user { id name email } } } }
        projects(first: 10) { totalCount edges { node { id name createdAt createdBy { id name } } } }
      } }
    }
  }
}";

// Accounts and sessions.

pub const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id email name emailVerified } } }";
pub const SIGN_IN: &str = "mutation($email: String!, $password: String!) { signIn(input: { email: $email, password: $password }) { token user { id } } }";
pub const SIGN_OUT: &str = "mutation { signOut }";
/// The signed-in user, or null: what a client learns about itself.
pub const VIEWER: &str = "{ viewer { id email name avatarUrl emailVerified linkedAccounts { provider } sessions { id current ip userAgent } } }";
pub const VIEWER_ID: &str = "{ viewer { id } }";
pub const VERIFY_EMAIL: &str = "mutation($t: String!) { verifyEmail(token: $t) { id } }";
pub const REQUEST_EMAIL_VERIFICATION: &str = "mutation { requestEmailVerification }";
pub const REQUEST_PASSWORD_RESET: &str =
    "mutation($e: String!) { requestPasswordReset(email: $e) }";
pub const CHANGE_PASSWORD: &str =
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
pub const UPDATE_PROFILE: &str =
    "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { name avatarUrl } }";
pub const DELETE_ACCOUNT: &str = "mutation($p: String) { deleteAccount(password: $p) }";
pub const REVOKE_SESSION: &str = "mutation($id: ID!) { revokeSession(id: $id) }";
pub const REVOKE_OTHER_SESSIONS: &str = "mutation { revokeOtherSessions }";

// Organizations and their members.

/// The viewer's organizations as a client's organization switcher shows them.
pub const MY_ORGANIZATIONS: &str = "{ viewer { organizations { totalCount edges { cursor node { id name slug personal viewerRole viewerPermissions } } } } }";
pub const CREATE_ORGANIZATION: &str =
    "mutation($name: String!) { createOrganization(input: { name: $name }) { id } }";
pub const RENAME_ORGANIZATION: &str = "mutation($id: ID!, $name: String) { updateOrganization(id: $id, input: { name: $name }) { id } }";
pub const DELETE_ORGANIZATION: &str = "mutation($id: ID!) { deleteOrganization(id: $id) }";
pub const ORGANIZATION_ID: &str = "query($id: ID) { organization(id: $id) { id } }";
pub const MEMBERS: &str =
    "query($id: ID) { organization(id: $id) { members { edges { node { id user { id } } } } } }";
pub const MEMBER_COUNT: &str =
    "query($id: ID) { organization(id: $id) { members { totalCount } } }";
/// Takes the membership's id, not the user's.
pub const REMOVE_MEMBER: &str = "mutation($id: ID!) { removeMember(membershipId: $id) }";
pub const LEAVE_ORGANIZATION: &str =
    "mutation($id: ID!) { leaveOrganization(organizationId: $id) }";
pub const TRANSFER_OWNERSHIP: &str =
    "mutation($id: ID!, $to: ID!) { transferOwnership(organizationId: $id, toUserId: $to) { id } }";

// Invitations.

pub const INVITE_MEMBER: &str =
    "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { id } }";
/// What anyone holding the mailed token may read of the invitation.
pub const INVITATION: &str = "query($t: String!) { invitation(token: $t) { organizationName inviterName email role status expiresAt } }";
/// Returns the new membership.
pub const ACCEPT_INVITATION: &str = "mutation($t: String!) { acceptInvitation(token: $t) { id role user { email } organization { name viewerRole } } }";
pub const DECLINE_INVITATION: &str = "mutation($t: String!) { declineInvitation(token: $t) }";
pub const RESEND_INVITATION: &str = "mutation($id: ID!) { resendInvitation(id: $id) { id } }";
pub const REVOKE_INVITATION: &str = "mutation($id: ID!) { revokeInvitation(id: $id) { id } }";
pub const PENDING_INVITATIONS: &str = "{ viewer { pendingInvitations { id } } }";

// Projects.

pub const CREATE_PROJECT: &str = "mutation($org: ID!, $name: String!, $d: String) { createProject(input: { organizationId: $org, name: $name, description: $d }) { id name description archivedAt createdBy { id } organization { id } } }";
pub const UPDATE_PROJECT: &str = "mutation($id: ID!, $name: String, $d: String) { updateProject(id: $id, input: { name: $name, description: $d }) { id name description updatedAt } }";
/// Changes the name alone: the description is left out of the input, not
/// sent as null.
pub const RENAME_PROJECT: &str =
    "mutation($id: ID!, $name: String) { updateProject(id: $id, input: { name: $name }) { id } }";
pub const ARCHIVE_PROJECT: &str =
    "mutation($id: ID!) { archiveProject(id: $id) { id archivedAt } }";
pub const RESTORE_PROJECT: &str =
    "mutation($id: ID!) { restoreProject(id: $id) { id archivedAt } }";
pub const DELETE_PROJECT: &str = "mutation($id: ID!) { deleteProject(id: $id) }";
pub const PROJECT_ID: &str = "query($id: ID!) { project(id: $id) { id } }";
pub const PROJECT_NAME: &str = "query($id: ID!) { project(id: $id) { name } }";
pub const LIST_PROJECTS: &str = "query($org: ID, $first: Int, $after: String, $filter: ProjectFilter) { organization(id: $org) { projects(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id name } } } } }";
pub const PROJECT_COUNT: &str =
    "query($id: ID) { organization(id: $id) { projects { totalCount } } }";
pub const PROJECT_EVENTS: &str = "subscription($org: ID!) { projectEvents(organizationId: $org) { kind projectId project { name } } }";
/// Project events with their cursors, resumed after `$after` when given.
pub const RESUMABLE_PROJECT_EVENTS: &str = "subscription($org: ID!, $after: String) { projectEvents(organizationId: $org, after: $after) { kind projectId cursor project { name } } }";

// Plans and billing.

pub const CHECKOUT: &str = "mutation($org: ID!, $plan: String!, $interval: BillingInterval!) { createCheckoutSession(input: { organizationId: $org, planId: $plan, interval: $interval }) { id url } }";
pub const BILLING_PORTAL: &str =
    "mutation($org: ID!) { createBillingPortalSession(organizationId: $org) { url } }";
/// The subscription as the last webhook left it, and what it entitles to.
pub const BILLING_STATE: &str = "query($id: ID) { organization(id: $id) { subscription { status plan { id } interval seats currentPeriodEnd cancelAtPeriodEnd trialEnd } entitlements { plan { id } features projects { used limit } } } }";
pub const ENTITLEMENTS: &str = "query($id: ID) { organization(id: $id) { entitlements { plan { id name } features projects { used limit } members { used limit } } } }";

// The audit log.

pub const AUDIT_LOG: &str = "query($id: ID, $first: Int, $after: String) { organization(id: $id) { auditLog(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { action actor { id } targetType targetId metadata ip createdAt } } } } }";
/// Reading the count alone still needs the plan's audit-log feature.
pub const AUDIT_LOG_COUNT: &str =
    "query($id: ID) { organization(id: $id) { auditLog { totalCount } } }";
