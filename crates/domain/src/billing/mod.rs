//! Plans, entitlements, manual grants and (with Stripe) subscriptions.

pub mod entitlements;
pub mod plans;
pub mod seats;
pub mod service;
pub mod stripe;
pub mod subscriptions;
pub mod unappliable;
pub mod webhook;

use chrono::{DateTime, Duration, Utc};

/// Stripe's subscription statuses, as the API shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

impl SubscriptionStatus {
    pub const ALL: [Self; 8] = [
        Self::Trialing,
        Self::Active,
        Self::PastDue,
        Self::Canceled,
        Self::Unpaid,
        Self::Incomplete,
        Self::IncompleteExpired,
        Self::Paused,
    ];

    /// Stripe's spelling, which is also how it is stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Paused => "paused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What decides a paid plan: the subscription's plan and status, and since
/// when it has been past due.
#[derive(Debug, Clone)]
pub struct PaidState<'a> {
    pub plan_id: &'a str,
    pub status: SubscriptionStatus,
    pub past_due_since: Option<DateTime<Utc>>,
}

/// A plan given by hand, until a time or for good.
#[derive(Debug, Clone)]
pub struct GrantState<'a> {
    pub plan_id: &'a str,
    pub until: Option<DateTime<Utc>>,
}

/// The plan an organization has now, or None for the free plan: a live
/// grant first, then the subscription's plan while it is trialing or
/// active, or past due for less than the grace period.
pub fn effective_plan_id<'a>(
    paid: Option<&PaidState<'a>>,
    grant: Option<&GrantState<'a>>,
    now: DateTime<Utc>,
    grace: Duration,
) -> Option<&'a str> {
    if let Some(grant) = grant
        && grant.until.is_none_or(|until| until > now)
    {
        return Some(grant.plan_id);
    }
    let paid = paid?;
    let counts = match paid.status {
        SubscriptionStatus::Trialing | SubscriptionStatus::Active => true,
        SubscriptionStatus::PastDue => paid.past_due_since.is_some_and(|since| since + grace > now),
        _ => false,
    };
    counts.then_some(paid.plan_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid(status: SubscriptionStatus, past_due_for: Option<i64>) -> PaidState<'static> {
        PaidState {
            plan_id: "pro",
            status,
            past_due_since: past_due_for.map(|days| Utc::now() - Duration::days(days)),
        }
    }

    #[test]
    fn the_subscription_counts_while_trialing_active_or_briefly_past_due() {
        let grace = Duration::days(7);
        let now = Utc::now();
        use SubscriptionStatus::*;
        for (state, expected) in [
            (paid(Trialing, None), Some("pro")),
            (paid(Active, None), Some("pro")),
            (paid(PastDue, Some(3)), Some("pro")),
            (paid(PastDue, Some(8)), None),
            (paid(Canceled, None), None),
            (paid(Unpaid, None), None),
            (paid(Incomplete, None), None),
            (paid(IncompleteExpired, None), None),
            (paid(Paused, None), None),
        ] {
            assert_eq!(
                effective_plan_id(Some(&state), None, now, grace),
                expected,
                "{state:?}"
            );
        }
        assert_eq!(effective_plan_id(None, None, now, grace), None);
    }

    #[test]
    fn a_live_grant_wins_and_a_lapsed_one_does_not() {
        let now = Utc::now();
        let grace = Duration::days(7);
        let forever = GrantState {
            plan_id: "team",
            until: None,
        };
        let lapsed = GrantState {
            plan_id: "team",
            until: Some(now - Duration::hours(1)),
        };
        let active = paid(SubscriptionStatus::Active, None);
        assert_eq!(
            effective_plan_id(Some(&active), Some(&forever), now, grace),
            Some("team")
        );
        assert_eq!(
            effective_plan_id(Some(&active), Some(&lapsed), now, grace),
            Some("pro")
        );
        assert_eq!(effective_plan_id(None, Some(&lapsed), now, grace), None);
    }

    #[test]
    fn statuses_round_trip() {
        for s in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(s.as_str()), Some(s));
        }
    }
}
