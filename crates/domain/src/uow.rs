//! The unit of work: the skeleton every change runs in.
//!
//! A change begins a transaction as its actor, checks the actor's role in
//! the organization, takes the organization's lock where counts or owners
//! must hold, changes rows, records its audit event, appends its live
//! events to the log, and commits; only then do its other effects leave the
//! process: session-ended hints, the seat worker's wake-up. Effects are
//! collected on the way and run by `commit`, so no change can announce what
//! did not commit, and none can forget to announce what did.

use sea_orm::DatabaseTransaction;

use crate::{
    Core,
    access::{Permission, Role},
    actor::Actor,
    audit::{self, Event},
    billing::{entitlements, plans::Metered, seats},
    counters::{self, Counter},
    error::AppResult,
    events::LiveEvent,
    ids::{OrganizationId, UserId},
    orgs::{entity::organization, service as orgs},
};

/// A change in progress: its transaction, its actor, and what is to happen
/// once it has committed.
pub struct Work<'a> {
    core: &'a Core,
    txn: DatabaseTransaction,
    actor: Actor,
    events: Vec<LiveEvent>,
    sessions_ended: Vec<UserId>,
    seats_changed: bool,
}

impl<'a> Work<'a> {
    /// Begins a change made by `actor`.
    pub async fn begin(core: &'a Core, actor: &Actor) -> AppResult<Self> {
        Ok(Self {
            core,
            txn: core.begin().await?,
            actor: actor.clone(),
            events: Vec::new(),
            sessions_ended: Vec::new(),
            seats_changed: false,
        })
    }

    pub fn core(&self) -> &'a Core {
        self.core
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The rest of the change is made by `user` (one just created).
    pub fn act_as(&mut self, user: UserId) {
        self.actor.user_id = Some(user);
    }

    /// The transaction, for statements of the change.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The actor's role in the organization; `NOT_FOUND` for anyone who is
    /// not a member, who must not learn that it exists.
    pub async fn role_in(&self, organization: OrganizationId) -> AppResult<Role> {
        orgs::role_in(&self.txn, organization, &self.actor).await
    }

    /// The actor's role, when it grants `permission`; `FORBIDDEN` when it
    /// does not, `NOT_FOUND` for a non-member.
    pub async fn require(
        &self,
        organization: OrganizationId,
        permission: Permission,
    ) -> AppResult<Role> {
        let role = self.role_in(organization).await?;
        role.require(permission)?;
        Ok(role)
    }

    /// Takes the organization's write lock for the rest of the change, so
    /// that counts (limits, seats) and owners hold against concurrent ones.
    pub async fn lock(&self, organization: OrganizationId) -> AppResult<organization::Model> {
        orgs::lock(&self.txn, organization).await
    }

    /// `PLAN_LIMIT_REACHED` unless the organization's plan has room for one
    /// more of `metered`; call it holding the organization's lock.
    pub async fn ensure_capacity(
        &self,
        organization: OrganizationId,
        metered: Metered,
    ) -> AppResult<()> {
        entitlements::ensure_capacity(&self.txn, self.core, organization, metered).await
    }

    /// Adds `delta` to one of the organization's counters.
    pub async fn count(
        &self,
        organization: OrganizationId,
        counter: Counter,
        delta: i64,
    ) -> AppResult<()> {
        Ok(counters::add(&self.txn, organization, counter, delta).await?)
    }

    /// Records the change in the organization's audit log, in its transaction.
    pub async fn audit(&self, organization: OrganizationId, event: Event) -> AppResult<()> {
        audit::record(&self.txn, organization, &self.actor, event).await
    }

    /// Announces `event` to live subscribers: it goes into the live event
    /// log with the change, and reaches them once the change has committed.
    pub fn publish(&mut self, event: LiveEvent) {
        self.events.push(event);
    }

    /// Tells open WebSockets of `user` to check their session once the
    /// change has committed.
    pub fn sessions_ended(&mut self, user: UserId) {
        if !self.sessions_ended.contains(&user) {
            self.sessions_ended.push(user);
        }
    }

    /// The organization's members changed: its per-seat subscription is to
    /// follow, which the seat worker does once the change has committed.
    pub async fn members_changed(&mut self, organization: OrganizationId) -> AppResult<()> {
        seats::members_changed(&self.txn, self.core, organization).await?;
        self.seats_changed = true;
        Ok(())
    }

    /// Ends the change without keeping anything, when a check after a
    /// statement fails; dropping a `Work` does the same.
    pub async fn rollback(self) -> AppResult<()> {
        Ok(self.txn.rollback().await?)
    }

    /// Commits, then lets the change's effects out.
    pub async fn commit(self) -> AppResult<()> {
        let Self {
            core,
            txn,
            events,
            sessions_ended,
            seats_changed,
            ..
        } = self;
        // Last, so the log's append lock is held no longer than the commit.
        core.events.append(&txn, &events).await?;
        txn.commit().await?;
        if !events.is_empty() {
            core.events.committed();
        }
        for user in sessions_ended {
            core.events.session_ended(user).await;
        }
        if seats_changed {
            core.seat_sync.notify_one();
        }
        Ok(())
    }
}

/// `Work` wherever a connection is taken.
impl std::ops::Deref for Work<'_> {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
