//! One-time links mailed to an address: email verification and password
//! reset. A link proves that whoever holds it reads that mailbox.

use chrono::{Duration as TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};

use super::{
    entity::{
        session::SessionId,
        user,
        user_token::{self, TokenPurpose, UserTokenId},
    },
    service::SignedIn,
    session as sessions, throttle, validate,
};
use crate::{
    Core,
    actor::{Actor, RequestMeta},
    auth::Viewer,
    crypto,
    email::EmailAddress,
    error::{AppError, AppResult},
    mail::{outbox, templates},
    text,
    uow::Work,
};

const VERIFY_EMAIL_TTL: TimeDelta = TimeDelta::hours(48);
const RESET_PASSWORD_TTL: TimeDelta = TimeDelta::hours(1);

fn invalid_link() -> AppError {
    AppError::bad_input("token", "This link is invalid or has expired.")
}

async fn create_token(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    purpose: TokenPurpose,
    ttl: TimeDelta,
) -> AppResult<String> {
    let token = crypto::random_token();
    let now = Utc::now();
    user_token::Entity::insert(user_token::ActiveModel {
        id: Set(UserTokenId::new()),
        token_hash: Set(crypto::token_hash(&token)),
        user_id: Set(user.id),
        purpose: Set(purpose),
        email: Set(Some(user.email.clone())),
        expires_at: Set(now + ttl),
        used_at: Set(None),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(token)
}

/// The token, if it is live (unused and unexpired); it stays unused.
async fn find_live(
    conn: &impl ConnectionTrait,
    token: &str,
    purpose: TokenPurpose,
) -> AppResult<user_token::Model> {
    // Text that cannot be a token the server issued never reaches a query.
    let token = token.trim();
    if !crypto::is_token(token) {
        return Err(invalid_link());
    }
    let found = user_token::Entity::find()
        .filter(user_token::Column::TokenHash.eq(crypto::token_hash(token)))
        .filter(user_token::Column::Purpose.eq(purpose))
        .one(conn)
        .await?
        .ok_or_else(invalid_link)?;
    if found.used_at.is_some() || found.expires_at <= Utc::now() {
        return Err(invalid_link());
    }
    Ok(found)
}

/// Marks a one-time token used and returns it, if it is live; a token can be
/// consumed once, also under concurrent requests.
async fn consume_token(
    conn: &impl ConnectionTrait,
    token: &str,
    purpose: TokenPurpose,
) -> AppResult<user_token::Model> {
    let found = find_live(conn, token, purpose).await?;
    let claimed = user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(user_token::Column::Id.eq(found.id))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(invalid_link());
    }
    Ok(found)
}

pub async fn send_verification(
    conn: &impl ConnectionTrait,
    core: &Core,
    user: &user::Model,
) -> AppResult<()> {
    let token = create_token(conn, user, TokenPurpose::VerifyEmail, VERIFY_EMAIL_TTL).await?;
    let link = format!("{}/verify-email?token={token}", core.config.app_url);
    outbox::enqueue(
        conn,
        user.email.as_str(),
        templates::verify_email(&user.name, &link),
    )
    .await
}

pub async fn request_email_verification(core: &Core, viewer: &Viewer) -> AppResult<bool> {
    if viewer.user.email_verified_at.is_some() {
        return Ok(true);
    }
    core.limiter
        .hit(
            &format!("verify:user:{}", viewer.user.id),
            core.config.signup_ip_limit,
        )
        .await?;
    let txn = core.begin().await?;
    send_verification(&txn, core, &viewer.user).await?;
    txn.commit().await?;
    Ok(true)
}

pub async fn verify_email(core: &Core, token: &str) -> AppResult<user::Model> {
    let txn = core.begin().await?;
    let token = consume_token(&txn, token, TokenPurpose::VerifyEmail).await?;
    let user = user::Entity::find_by_id(token.user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("User"))?;
    // A link only verifies the address it was sent to.
    if token.email.as_ref() != Some(&user.email) {
        return Err(invalid_link());
    }
    let user = if user.email_verified_at.is_none() {
        let mut model: user::ActiveModel = user.into();
        model.email_verified_at = Set(Some(Utc::now()));
        model.update(&txn).await?
    } else {
        user
    };
    txn.commit().await?;
    Ok(user)
}

/// Mails a reset link when the address has an account; the answer is the
/// same either way.
pub async fn request_password_reset(
    core: &Core,
    email: &str,
    meta: &RequestMeta,
) -> AppResult<bool> {
    // Any text is answered alike, addresses or not; text no form accepts is refused.
    let typed = text::line("email", email)?;
    core.limiter
        .hit(&reset_key(meta), core.config.signup_ip_limit)
        .await?;
    let Some(email) = EmailAddress::lookup(typed) else {
        return Ok(true);
    };
    let Some(user) = super::service::find_by_email(&core.db, &email).await? else {
        return Ok(true);
    };
    let txn = core.begin().await?;
    let token = create_token(&txn, &user, TokenPurpose::ResetPassword, RESET_PASSWORD_TTL).await?;
    let link = format!("{}/reset-password?token={token}", core.config.app_url);
    outbox::enqueue(
        &txn,
        user.email.as_str(),
        templates::reset_password(&user.name, &link),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Reset requests and resets, per client address.
fn reset_key(meta: &RequestMeta) -> String {
    format!("reset:ip:{}", throttle::client_address(meta))
}

/// Sets the password from a reset link, ends every session (and the one the
/// client presented, whoever's) and starts a new one.
///
/// This is also how an account whose address was never verified is claimed
/// by the address's owner: the link proves the address, the password whoever
/// made the account chose is replaced, and every session of theirs ends.
pub async fn reset_password(
    core: &Core,
    token: &str,
    new_password: &str,
    meta: &RequestMeta,
    replaces: Option<SessionId>,
) -> AppResult<SignedIn> {
    validate::password("newPassword", new_password)?;
    // Before any hashing: a made-up link costs one lookup.
    let live = find_live(&core.db, token, TokenPurpose::ResetPassword).await?;
    let owner = user::Entity::find_by_id(live.user_id)
        .one(&core.db)
        .await?
        .ok_or_else(invalid_link)?;
    core.limiter
        .hit(&reset_key(meta), core.config.signup_ip_limit)
        .await?;
    throttle::count_work(core, owner.email.as_str()).await?;
    let hash = core.passwords.hash(new_password).await?;

    let mut work = Work::begin(core, &Actor::user(owner.id, meta)).await?;
    let txn = &*work;
    // Claimed only now: a link that lost a race since is refused here.
    let token = consume_token(txn, token, TokenPurpose::ResetPassword).await?;
    let user = user::Entity::find_by_id(token.user_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("User"))?;
    let mut model: user::ActiveModel = user.clone().into();
    model.password_hash = Set(Some(hash));
    // The link reached this address, which proves it is the user's.
    if user.email_verified_at.is_none() && token.email.as_ref() == Some(&user.email) {
        model.email_verified_at = Set(Some(Utc::now()));
    }
    model.updated_at = Set(Utc::now());
    let user = model.update(txn).await?;
    // Other reset links die with this one.
    user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(user_token::Column::UserId.eq(user.id))
        .filter(user_token::Column::Purpose.eq(TokenPurpose::ResetPassword))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    sessions::revoke_all(txn, user.id, None).await?;
    let session = sessions::issue(txn, &core.config, user.id, meta, replaces).await?;
    // Sockets opened with the sessions just ended close, on every process.
    work.sessions_ended(user.id);
    work.commit().await?;
    core.limiter
        .clear(&throttle::account_failures(user.email.as_str()))
        .await?;
    Ok(SignedIn::new(user, session))
}
