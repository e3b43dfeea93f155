//! Why a Stripe object can never be applied here. Stripe sends an event
//! again for days until it is answered with a 2xx; for these reasons every
//! attempt would fail alike, so the event is recorded with the reason,
//! logged as a warning and acknowledged. Failures that may pass (the
//! database or Stripe unreachable) are errors instead, answered with a 5xx
//! so that Stripe tries again.

use std::fmt;

use super::stripe::Snapshot;
use crate::ids::OrganizationId;

/// The longest Stripe id kept: ids reach the audit log's 64-character
/// target column. Stripe's own are a prefix and a few dozen characters.
const STRIPE_ID_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unappliable {
    /// Something in it no column can hold or no row can match.
    Malformed(String),
    /// It names an organization that does not exist (any more).
    UnknownOrganization(OrganizationId),
    /// It names no organization, and its customer is nobody's here.
    NoOrganization { customer: String },
    /// Its customer belongs to another organization than the one it names.
    CustomerOfAnotherOrganization {
        customer: String,
        named: OrganizationId,
        bound_to: OrganizationId,
    },
    /// The subscription a completed checkout names does not exist at Stripe.
    MissingAtStripe(String),
}

impl fmt::Display for Unappliable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed: {what}"),
            Self::UnknownOrganization(org) => write!(f, "no organization {org}"),
            Self::NoOrganization { customer } => {
                write!(
                    f,
                    "names no organization, and no organization has customer {customer}"
                )
            }
            Self::CustomerOfAnotherOrganization {
                customer,
                named,
                bound_to,
            } => write!(
                f,
                "customer {customer} belongs to organization {bound_to}, not to {named}"
            ),
            Self::MissingAtStripe(id) => write!(f, "subscription {id} does not exist at Stripe"),
        }
    }
}

/// A Stripe id that can be stored and matched: short, printable ASCII.
pub fn stripe_id(what: &str, id: &str) -> Result<(), Unappliable> {
    if id.is_empty() || id.len() > STRIPE_ID_MAX || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Unappliable::Malformed(format!("{what} {id:?}")));
    }
    Ok(())
}

/// An organization id as Stripe carries it back (metadata, a checkout's
/// client reference): the canonical uuid every organization has.
pub fn organization_id(what: &str, id: &str) -> Result<OrganizationId, Unappliable> {
    match uuid::Uuid::try_parse(id) {
        Ok(uuid) if uuid.hyphenated().to_string() == id => Ok(OrganizationId(uuid)),
        _ => Err(Unappliable::Malformed(format!("{what} {id:?}"))),
    }
}

/// Checks every id of a snapshot before any of them reaches a query.
pub fn snapshot(s: &Snapshot) -> Result<(), Unappliable> {
    stripe_id("subscription id", &s.id)?;
    stripe_id("customer id", &s.customer_id)?;
    if let Some(price) = &s.price_id {
        stripe_id("price id", price)?;
    }
    if let Some(item) = &s.item_id {
        stripe_id("subscription item id", item)?;
    }
    if let Some(org) = &s.organization_id {
        organization_id("organization_id metadata", org)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_cannot_be_stored_are_malformed() {
        assert!(stripe_id("x", "sub_1MowQVLkdIwHu7ixeRlqHVzs").is_ok());
        for bad in ["", "sub_\0", "sub 1", "sub_\u{202E}", &"s".repeat(65)] {
            assert!(stripe_id("x", bad).is_err(), "{bad:?}");
        }
        let org = uuid::Uuid::now_v7().to_string();
        assert!(organization_id("o", &org).is_ok());
        for bad in ["", "acme", &org.to_uppercase(), &format!("{org}\0")] {
            assert!(organization_id("o", bad).is_err(), "{bad:?}");
        }
    }
}
