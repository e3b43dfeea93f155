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

use plans::PlanId;

/// Stripe's subscription statuses, stored in Stripe's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum SubscriptionStatus {
    #[sea_orm(string_value = "trialing")]
    Trialing,
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "past_due")]
    PastDue,
    #[sea_orm(string_value = "canceled")]
    Canceled,
    #[sea_orm(string_value = "unpaid")]
    Unpaid,
    #[sea_orm(string_value = "incomplete")]
    Incomplete,
    #[sea_orm(string_value = "incomplete_expired")]
    IncompleteExpired,
    #[sea_orm(string_value = "paused")]
    Paused,
}

impl SubscriptionStatus {
    /// Stripe's spelling, which is also how it is stored.
    pub fn stripe_name(self) -> String {
        sea_orm::ActiveEnum::to_value(&self)
    }

    /// A status as Stripe spells it.
    pub fn from_stripe(name: &str) -> Option<Self> {
        <Self as sea_orm::ActiveEnum>::try_from_value(&name.to_owned()).ok()
    }
}

/// What decides a paid plan: the subscription's plan and status, and since
/// when it has been past due.
#[derive(Debug, Clone)]
pub struct PaidState<'a> {
    pub plan_id: &'a PlanId,
    pub status: SubscriptionStatus,
    pub past_due_since: Option<DateTime<Utc>>,
}

/// A plan given by hand, until a time or for good.
#[derive(Debug, Clone)]
pub struct GrantState<'a> {
    pub plan_id: &'a PlanId,
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
) -> Option<&'a PlanId> {
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
    use std::sync::LazyLock;

    use super::*;

    static PRO: LazyLock<PlanId> = LazyLock::new(|| PlanId::new("pro"));
    static TEAM: LazyLock<PlanId> = LazyLock::new(|| PlanId::new("team"));

    fn paid(status: SubscriptionStatus, past_due_for: Option<i64>) -> PaidState<'static> {
        PaidState {
            plan_id: &PRO,
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
            (paid(Trialing, None), Some(&*PRO)),
            (paid(Active, None), Some(&*PRO)),
            (paid(PastDue, Some(3)), Some(&*PRO)),
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
            plan_id: &TEAM,
            until: None,
        };
        let lapsed = GrantState {
            plan_id: &TEAM,
            until: Some(now - Duration::hours(1)),
        };
        let active = paid(SubscriptionStatus::Active, None);
        assert_eq!(
            effective_plan_id(Some(&active), Some(&forever), now, grace),
            Some(&*TEAM)
        );
        assert_eq!(
            effective_plan_id(Some(&active), Some(&lapsed), now, grace),
            Some(&*PRO)
        );
        assert_eq!(effective_plan_id(None, Some(&lapsed), now, grace), None);
    }
}
