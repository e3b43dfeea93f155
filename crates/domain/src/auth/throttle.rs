//! Password work under its throttles.
//!
//! Hashing is the one expensive thing an anonymous request can ask for, so
//! every way to it (sign-up, sign-in, reset, change, deleting the account)
//! passes, in this order: its own cheap checks (input, links, invitation,
//! session), the limits that count every attempt, a read of the failure
//! limits, a place in the hashing queue, and only then reservations on the
//! failure limits and the computation. Each aliased field and batch entry
//! is its own attempt, so packaging changes nothing.
//!
//! The limits:
//! - failed password checks per client address (`RATE_LIMIT_SIGNIN_IP`)
//!   and per account (`RATE_LIMIT_SIGNIN_ACCOUNT`): only failures count, so
//!   correct sign-ins from one office are never refused (see `ratelimit`);
//! - password work per account, whatever its outcome
//!   (`RATE_LIMIT_PASSWORD_ACCOUNT`): someone who knows their own password
//!   cannot turn it into an endless supply of hashes;
//! - sign-ups, and reset requests and resets, per address
//!   (`RATE_LIMIT_SIGNUP_IP`), counted where those happen.

use super::passwords::HashSlot;
use crate::{Core, actor::RequestMeta, error::AppResult, ratelimit::Outcome};

/// The client's address as the counters key it.
pub fn client_address(meta: &RequestMeta) -> &str {
    meta.ip.as_deref().unwrap_or("unknown")
}

fn address_failures(meta: &RequestMeta) -> String {
    format!("signin:ip:{}", client_address(meta))
}

/// The failure counter of the account with this (normalized) email.
pub fn account_failures(email: &str) -> String {
    format!("signin:account:{email}")
}

/// Counts one password operation on the account with this email (an
/// account about to be made, for a sign-up).
pub async fn count_work(core: &Core, email: &str) -> AppResult<()> {
    core.limiter
        .hit(
            &format!("password:account:{email}"),
            core.config.password_account_limit,
        )
        .await
}

/// Checks `password` against `hash`, the password of the account with this
/// email (None for an unknown email or an account without a password: a
/// dummy is checked instead, so the answer takes as long and is no).
///
/// A match returns the hashing slot, still held, for a hash that follows
/// (a new password); a mismatch returns None, counted as a failure for the
/// address and the account.
pub async fn check_password(
    core: &Core,
    meta: &RequestMeta,
    email: &str,
    password: &str,
    hash: Option<&str>,
) -> AppResult<Option<HashSlot>> {
    let limits = &core.config;
    let address_key = address_failures(meta);
    let account_key = account_failures(email);
    // Refused here, a locked-out guesser takes no place in the queue.
    core.limiter
        .check(&address_key, limits.signin_ip_limit)
        .await?;
    core.limiter
        .check(&account_key, limits.signin_account_limit)
        .await?;
    count_work(core, email).await?;
    let mut slot = core.passwords.slot().await?;
    // Reserved once the slot is ours, so reservations in flight are the few
    // checks computing right now (see `ratelimit`); the address's before
    // the account's, always, so no two attempts each hold what the other
    // waits for.
    let address = core
        .limiter
        .reserve(&address_key, limits.signin_ip_limit)
        .await?;
    let account = core
        .limiter
        .reserve(&account_key, limits.signin_account_limit)
        .await?;
    if slot.verify(password, hash).await? {
        address.settle(Outcome::Passed).await?;
        account.settle(Outcome::PassedAndForgiven).await?;
        Ok(Some(slot))
    } else {
        address.settle(Outcome::Failed).await?;
        account.settle(Outcome::Failed).await?;
        Ok(None)
    }
}
