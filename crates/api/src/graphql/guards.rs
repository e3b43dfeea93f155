//! Guards: checks that run before a resolver. Services check again inside
//! their transaction; these turn a request away early and make the rule
//! visible where the field is declared.

use async_graphql::{Context, Guard, Result};

use super::context::ContextExt;
use crate::access::{Permission, Role};

/// The request carries a valid session.
pub struct SignedIn;

impl Guard for SignedIn {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        ctx.viewer()?;
        Ok(())
    }
}

/// The viewer's role in the organization at hand grants the permission:
/// `#[graphql(guard = "OrgPermission(self.role, Permission::BillingRead)")]`
/// on a field of `Organization`, which knows the viewer's role.
pub struct OrgPermission(pub Role, pub Permission);

impl Guard for OrgPermission {
    async fn check(&self, _ctx: &Context<'_>) -> Result<()> {
        Ok(self.0.require(self.1)?)
    }
}
