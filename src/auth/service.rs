//! Accounts: sign-up, sign-in, sessions, profile, email verification and
//! password reset. Every change runs in one transaction, mail included.

use chrono::{Duration as TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait,
    QueryFilter, sea_query::Expr,
};

use super::{
    entity::{oauth_account, session, user, user_token},
    session as sessions, validate,
};
use crate::{
    Core,
    audit::Actor,
    crypto,
    error::{AppError, AppResult},
    graphql::context::{RequestMeta, Viewer},
    mail::{outbox, templates},
    orgs::{self, invitations},
};

const VERIFY_EMAIL_TTL: TimeDelta = TimeDelta::hours(48);
const RESET_PASSWORD_TTL: TimeDelta = TimeDelta::hours(1);

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

pub struct SignUp {
    pub email: String,
    pub password: String,
    pub name: String,
    pub invitation_token: Option<String>,
}

/// A user and the session just started for them.
pub struct SignedIn {
    pub user: user::Model,
    pub token: String,
    pub session_id: String,
}

impl SignedIn {
    fn new(user: user::Model, session: sessions::Issued) -> Self {
        Self {
            user,
            token: session.token,
            session_id: session.id,
        }
    }
}

fn ip_key(meta: &RequestMeta) -> &str {
    meta.ip.as_deref().unwrap_or("unknown")
}

/// Inserts a user; every way of creating an account goes through here.
pub async fn insert_user(
    conn: &impl ConnectionTrait,
    email: &str,
    name: &str,
    password_hash: Option<String>,
    verified: bool,
    avatar_url: Option<String>,
) -> AppResult<user::Model> {
    let now = Utc::now();
    let model = user::ActiveModel {
        id: Set(crypto::new_id()),
        email: Set(email.to_owned()),
        name: Set(name.to_owned()),
        avatar_url: Set(avatar_url),
        email_verified_at: Set(verified.then_some(now)),
        password_hash: Set(password_hash),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let user = model.insert(conn).await?;
    crate::orgs::service::create_personal(conn, &user).await?;
    Ok(user)
}

pub async fn find_by_email(
    conn: &impl ConnectionTrait,
    email: &str,
) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(validate::normalize_email(email)))
        .one(conn)
        .await?)
}

pub async fn sign_up(core: &Core, input: SignUp, meta: &RequestMeta) -> AppResult<SignedIn> {
    let email = validate::email("email", &input.email)?;
    let name = validate::name("name", &input.name)?;
    validate::password("password", &input.password)?;
    core.limiter
        .hit(
            &format!("signup:ip:{}", ip_key(meta)),
            core.config.signup_ip_limit,
        )
        .await?;
    if find_by_email(&core.db, &email).await?.is_some() {
        return Err(email_taken());
    }
    let hash = core.passwords.hash(&input.password).await?;

    let txn = core.begin().await?;
    let invitation = match &input.invitation_token {
        Some(token) => Some(invitations::check_at_sign_up(&txn, token, &email).await?),
        None => None,
    };
    // An invitation link reached this address, which proves it.
    let verified = invitation.is_some();
    let user = match insert_user(&txn, &email, &name, Some(hash), verified, None).await {
        Ok(user) => user,
        Err(e) => {
            // Two sign-ups for one address at once: the unique index decides.
            txn.rollback().await?;
            if find_by_email(&core.db, &email).await?.is_some() {
                return Err(email_taken());
            }
            return Err(e);
        }
    };
    match &invitation {
        Some(invitation) => {
            let actor = Actor::user(&user.id, meta);
            invitations::join_at_sign_up(&txn, core, invitation, &user, &actor).await?;
        }
        None => send_verification(&txn, core, &user).await?,
    }
    let session = sessions::issue(&txn, &core.config, &user.id, meta).await?;
    txn.commit().await?;
    core.seat_sync.notify_one();
    Ok(SignedIn::new(user, session))
}

fn email_taken() -> AppError {
    AppError::bad_input(
        "email",
        "This email cannot be used to sign up. Sign in, or reset your password.",
    )
}

pub async fn sign_in(
    core: &Core,
    email: &str,
    password: &str,
    meta: &RequestMeta,
) -> AppResult<SignedIn> {
    let email = validate::normalize_email(email);
    let ip_key = format!("signin:ip:{}", ip_key(meta));
    let account_key = format!("signin:account:{email}");
    core.limiter
        .hit(&ip_key, core.config.signin_ip_limit)
        .await?;
    core.limiter
        .hit(&account_key, core.config.signin_account_limit)
        .await?;

    let user = find_by_email(&core.db, &email).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    // Unknown emails are checked against a dummy hash: same work, same answer.
    if !core.passwords.verify(password, hash).await? {
        return Err(AppError::InvalidCredentials);
    }
    let user = user.ok_or(AppError::InvalidCredentials)?;
    core.limiter.clear(&account_key).await?;
    core.limiter.refund(&ip_key).await?;
    let session = sessions::issue(&core.db, &core.config, &user.id, meta).await?;
    Ok(SignedIn::new(user, session))
}

/// Ends the viewer's current session.
pub async fn sign_out(core: &Core, viewer: &Viewer) -> AppResult<bool> {
    let ended = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(&viewer.session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&core.db)
        .await?;
    core.events.session_ended(&viewer.user.id).await;
    Ok(ended.rows_affected > 0)
}

pub async fn revoke_other_sessions(core: &Core, viewer: &Viewer) -> AppResult<u64> {
    let revoked = sessions::revoke_all(&core.db, &viewer.user.id, Some(&viewer.session_id)).await?;
    core.events.session_ended(&viewer.user.id).await;
    Ok(revoked)
}

/// Revokes one of the viewer's own sessions; anyone else's is not found.
pub async fn revoke_session(core: &Core, viewer: &Viewer, id: &str) -> AppResult<bool> {
    let ended = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::UserId.eq(&viewer.user.id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&core.db)
        .await?;
    if ended.rows_affected == 0 {
        return Err(AppError::NotFound("Session"));
    }
    core.events.session_ended(&viewer.user.id).await;
    Ok(true)
}

pub async fn update_profile(
    core: &Core,
    viewer: &Viewer,
    name: Option<&str>,
    avatar_url: Option<&str>,
) -> AppResult<user::Model> {
    let mut model: user::ActiveModel = viewer.user.clone().into();
    if let Some(name) = name {
        model.name = Set(validate::name("name", name)?);
    }
    if let Some(url) = avatar_url {
        model.avatar_url = Set(validate::optional_url("avatarUrl", url)?);
    }
    model.updated_at = Set(Utc::now());
    Ok(model.update(&core.db).await?)
}

/// Sets a new password after checking the current one, and ends every
/// other session.
pub async fn change_password(
    core: &Core,
    viewer: &Viewer,
    current: &str,
    new: &str,
) -> AppResult<bool> {
    validate::password("newPassword", new)?;
    let Some(hash) = viewer.user.password_hash.as_deref() else {
        return Err(AppError::bad_input(
            "currentPassword",
            "This account has no password yet; set one with a password reset.",
        ));
    };
    let account_key = format!("signin:account:{}", viewer.user.email);
    core.limiter
        .hit(&account_key, core.config.signin_account_limit)
        .await?;
    if !core.passwords.verify(current, Some(hash)).await? {
        return Err(AppError::bad_input(
            "currentPassword",
            "The current password is wrong.",
        ));
    }
    core.limiter.clear(&account_key).await?;
    let new_hash = core.passwords.hash(new).await?;
    let txn = core.begin().await?;
    set_password(&txn, &viewer.user.id, new_hash).await?;
    sessions::revoke_all(&txn, &viewer.user.id, Some(&viewer.session_id)).await?;
    txn.commit().await?;
    core.events.session_ended(&viewer.user.id).await;
    Ok(true)
}

async fn set_password(conn: &impl ConnectionTrait, user_id: &str, hash: String) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the viewer's account and everything that belongs only to it.
pub async fn delete_account(
    core: &Core,
    viewer: &Viewer,
    password: Option<&str>,
) -> AppResult<bool> {
    if let Some(hash) = viewer.user.password_hash.as_deref() {
        let given = password.unwrap_or_default();
        let account_key = format!("signin:account:{}", viewer.user.email);
        core.limiter
            .hit(&account_key, core.config.signin_account_limit)
            .await?;
        if !core.passwords.verify(given, Some(hash)).await? {
            return Err(AppError::bad_input("password", "The password is wrong."));
        }
    }
    // Organizations that go with the account stop being billed first.
    for org in orgs::members::alone_in(&core.db, &viewer.user.id).await? {
        crate::billing::subscriptions::cancel_all(core, &org).await?;
    }
    let txn = core.begin().await?;
    let user = user::Entity::find_by_id(&viewer.user.id)
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    orgs::members::before_user_deleted(&txn, core, &user.id).await?;
    user.delete(&txn).await?;
    txn.commit().await?;
    core.seat_sync.notify_one();
    core.events.session_ended(&viewer.user.id).await;
    Ok(true)
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
        id: Set(crypto::new_id()),
        token_hash: Set(crypto::token_hash(&token)),
        user_id: Set(user.id.clone()),
        purpose: Set(purpose.as_str().to_owned()),
        email: Set(Some(user.email.clone())),
        expires_at: Set(now + ttl),
        used_at: Set(None),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(token)
}

/// Marks a one-time token used and returns it, if it is live; a token can be
/// consumed once, also under concurrent requests.
async fn consume_token(
    conn: &impl ConnectionTrait,
    token: &str,
    purpose: TokenPurpose,
) -> AppResult<user_token::Model> {
    let invalid = || AppError::bad_input("token", "This link is invalid or has expired.");
    let found = user_token::Entity::find()
        .filter(user_token::Column::TokenHash.eq(crypto::token_hash(token)))
        .filter(user_token::Column::Purpose.eq(purpose.as_str()))
        .one(conn)
        .await?
        .ok_or_else(invalid)?;
    let now = Utc::now();
    if found.used_at.is_some() || found.expires_at <= now {
        return Err(invalid());
    }
    let claimed = user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(now))
        .filter(user_token::Column::Id.eq(&found.id))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(invalid());
    }
    Ok(found)
}

async fn send_verification(
    conn: &impl ConnectionTrait,
    core: &Core,
    user: &user::Model,
) -> AppResult<()> {
    let token = create_token(conn, user, TokenPurpose::VerifyEmail, VERIFY_EMAIL_TTL).await?;
    let link = format!("{}/verify-email?token={token}", core.config.app_url);
    outbox::enqueue(
        conn,
        &user.email,
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
    let user = user::Entity::find_by_id(&token.user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("User"))?;
    // A link only verifies the address it was sent to.
    if token.email.as_deref() != Some(user.email.as_str()) {
        return Err(AppError::bad_input(
            "token",
            "This link is invalid or has expired.",
        ));
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
    core.limiter
        .hit(
            &format!("reset:ip:{}", ip_key(meta)),
            core.config.signup_ip_limit,
        )
        .await?;
    let Some(user) = find_by_email(&core.db, email).await? else {
        return Ok(true);
    };
    let txn = core.begin().await?;
    let token = create_token(&txn, &user, TokenPurpose::ResetPassword, RESET_PASSWORD_TTL).await?;
    let link = format!("{}/reset-password?token={token}", core.config.app_url);
    outbox::enqueue(
        &txn,
        &user.email,
        templates::reset_password(&user.name, &link),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Sets the password from a reset link, ends every session and starts a new one.
pub async fn reset_password(
    core: &Core,
    token: &str,
    new_password: &str,
    meta: &RequestMeta,
) -> AppResult<SignedIn> {
    validate::password("newPassword", new_password)?;
    let hash = core.passwords.hash(new_password).await?;
    let txn = core.begin().await?;
    let token = consume_token(&txn, token, TokenPurpose::ResetPassword).await?;
    let user = user::Entity::find_by_id(&token.user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("User"))?;
    let mut model: user::ActiveModel = user.clone().into();
    model.password_hash = Set(Some(hash));
    // The link reached this address, which proves it is the user's.
    if user.email_verified_at.is_none() && token.email.as_deref() == Some(user.email.as_str()) {
        model.email_verified_at = Set(Some(Utc::now()));
    }
    model.updated_at = Set(Utc::now());
    let user = model.update(&txn).await?;
    // Other reset links die with this one.
    user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(user_token::Column::UserId.eq(&user.id))
        .filter(user_token::Column::Purpose.eq(TokenPurpose::ResetPassword.as_str()))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    sessions::revoke_all(&txn, &user.id, None).await?;
    let session = sessions::issue(&txn, &core.config, &user.id, meta).await?;
    txn.commit().await?;
    core.events.session_ended(&user.id).await;
    core.limiter
        .clear(&format!("signin:account:{}", user.email))
        .await?;
    Ok(SignedIn::new(user, session))
}

/// Unlinks a provider, unless it is the last way left to sign in.
pub async fn unlink_account(
    core: &Core,
    viewer: &Viewer,
    provider: &str,
) -> AppResult<user::Model> {
    let txn = core.begin().await?;
    let accounts = oauth_account::Entity::find()
        .filter(oauth_account::Column::UserId.eq(&viewer.user.id))
        .all(&txn)
        .await?;
    let provider = provider.to_ascii_lowercase();
    let account = accounts
        .iter()
        .find(|a| a.provider == provider)
        .ok_or(AppError::NotFound("Linked account"))?;
    let user = user::Entity::find_by_id(&viewer.user.id)
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if user.password_hash.is_none() && accounts.len() == 1 {
        return Err(AppError::conflict(
            "This is your only way to sign in; set a password or link another account first.",
        ));
    }
    oauth_account::Entity::delete_by_id(&account.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(user)
}
