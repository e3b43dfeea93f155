//! Accounts: sign-up, sign-in, sessions, profile, password change and
//! deleting the account. Every change runs in one transaction, mail
//! included. Password work goes through `throttle`.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait,
    QueryFilter, sea_query::Expr,
};

use super::{
    email_tokens,
    entity::{oauth_account, session, user},
    session as sessions, throttle, validate,
};
use crate::{
    Core,
    actor::RequestMeta,
    audit::Actor,
    auth::Viewer,
    email::{EMAIL_MAX, EmailAddress},
    error::{AppError, AppResult},
    ids::UserId,
    orgs::{self, invitations},
    text,
    uow::Work,
};

/// The longest provider name an account can be linked with (its column's size).
const PROVIDER_MAX: usize = 64;

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
    pub session_id: session::SessionId,
}

impl SignedIn {
    pub(super) fn new(user: user::Model, session: sessions::Issued) -> Self {
        Self {
            user,
            token: session.token,
            session_id: session.id,
        }
    }
}

/// Inserts a user; every way of creating an account goes through here.
pub async fn insert_user(
    conn: &impl ConnectionTrait,
    email: &EmailAddress,
    name: &str,
    password_hash: Option<String>,
    verified: bool,
    avatar_url: Option<String>,
) -> AppResult<user::Model> {
    let now = Utc::now();
    let model = user::ActiveModel {
        id: Set(UserId::new()),
        email: Set(email.clone()),
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
    email: &EmailAddress,
) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.clone()))
        .one(conn)
        .await?)
}

/// Whether a proof that someone controls an address (a provider vouching
/// for the email, an invitation link mailed to it) may join `existing`, the
/// account that holds the address.
///
/// Never when the account never proved the address itself: its password may
/// be a squatter's, set in the hope that the address's owner walks in later
/// by another door and inherits an account the squatter still opens. Such a
/// merge is refused, with an answer that says how to claim the account: a
/// password reset, which proves the address, replaces the password and ends
/// every session (`email_tokens::reset_password`).
///
/// Refused rather than taken over on the spot (dropping the password and
/// the sessions) because the common holder of an unverified account is its
/// rightful owner, who never clicked the link: taking over would silently
/// delete the password they use and sign them out everywhere. And whatever
/// the holder built in the account (its name, its organizations and whom
/// they admitted) would pass to the newcomer without a word; a reset is a
/// deliberate step through the mailbox that leaves nobody in doubt. One
/// rule, one way out, for every path: provider sign-in, sign-up with an
/// invitation, accepting an invitation.
pub fn accepts_proof_of_address(existing: &user::Model) -> bool {
    existing.email_verified_at.is_some()
}

pub async fn sign_up(
    core: &Core,
    input: SignUp,
    meta: &RequestMeta,
    replaces: Option<session::SessionId>,
) -> AppResult<SignedIn> {
    let email = EmailAddress::parse("email", &input.email)?;
    let name = text::name("name", &input.name)?;
    validate::password("password", &input.password)?;
    core.limiter
        .hit(
            &format!("signup:ip:{}", throttle::client_address(meta)),
            core.config.signup_ip_limit,
        )
        .await?;
    // Links and the address are checked before anything is hashed.
    let invitation = match &input.invitation_token {
        Some(token) => Some(invitations::check_at_sign_up(&core.db, token, &email).await?),
        None => None,
    };
    if let Some(existing) = find_by_email(&core.db, &email).await? {
        return Err(match invitation {
            // The link proved the address, so its holder may be told more.
            Some(_) if !accepts_proof_of_address(&existing) => AppError::bad_input(
                "email",
                "An account with this address exists, but the address was never confirmed. \
                 To claim it, reset its password (that proves the address and signs everyone \
                 else out), then accept the invitation.",
            ),
            Some(_) => AppError::bad_input(
                "email",
                "You already have an account with this address: sign in, then accept the invitation.",
            ),
            None => email_taken(),
        });
    }
    throttle::count_work(core, email.as_str()).await?;
    let hash = core.passwords.hash(&input.password).await?;

    let mut work = Work::begin(core, &Actor::anonymous(meta)).await?;
    // An invitation link reached this address, which proves it.
    let verified = invitation.is_some();
    let user = match insert_user(&*work, &email, &name, Some(hash), verified, None).await {
        Ok(user) => user,
        Err(e) => {
            // Two sign-ups for one address at once: the unique index decides.
            work.rollback().await?;
            if find_by_email(&core.db, &email).await?.is_some() {
                return Err(email_taken());
            }
            return Err(e);
        }
    };
    // From here on the new user acts: joining is theirs in the audit log.
    work.act_as(user.id);
    match &invitation {
        Some(invitation) => {
            invitations::join_at_sign_up(&mut work, invitation, &user).await?;
        }
        None => email_tokens::send_verification(&*work, core, &user).await?,
    }
    let session = sessions::issue(&*work, &core.config, user.id, meta, replaces).await?;
    work.commit().await?;
    Ok(SignedIn::new(user, session))
}

fn email_taken() -> AppError {
    AppError::bad_input(
        "email",
        "This email cannot be used to sign up. Sign in, or reset your password.",
    )
}

/// Signs in with a password, ending the session the client presented.
pub async fn sign_in(
    core: &Core,
    email: &str,
    password: &str,
    meta: &RequestMeta,
    replaces: Option<session::SessionId>,
) -> AppResult<SignedIn> {
    let typed = text::line("email", email)?.to_lowercase();
    text::secret("password", password)?;
    // No account has a longer address, and the counters' keys could not hold it.
    if typed.len() > EMAIL_MAX {
        return Err(AppError::InvalidCredentials);
    }
    // What cannot be an address has no account, and is checked like an
    // unknown one against a dummy hash: same work, same answer.
    let user = match EmailAddress::lookup(&typed) {
        Some(email) => find_by_email(&core.db, &email).await?,
        None => None,
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    if throttle::check_password(core, meta, &typed, password, hash)
        .await?
        .is_none()
    {
        return Err(AppError::InvalidCredentials);
    }
    let user = user.ok_or(AppError::InvalidCredentials)?;
    let session = sessions::issue(&core.db, &core.config, user.id, meta, replaces).await?;
    Ok(SignedIn::new(user, session))
}

/// Ends the viewer's current session.
pub async fn sign_out(core: &Core, viewer: &Viewer) -> AppResult<bool> {
    let ended = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(viewer.session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&core.db)
        .await?;
    core.events.session_ended(viewer.user.id).await;
    Ok(ended.rows_affected > 0)
}

pub async fn revoke_other_sessions(core: &Core, viewer: &Viewer) -> AppResult<u64> {
    let revoked = sessions::revoke_all(&core.db, viewer.user.id, Some(viewer.session_id)).await?;
    core.events.session_ended(viewer.user.id).await;
    Ok(revoked)
}

/// Revokes one of the viewer's own sessions; anyone else's is not found.
pub async fn revoke_session(
    core: &Core,
    viewer: &Viewer,
    id: session::SessionId,
) -> AppResult<bool> {
    let ended = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::UserId.eq(viewer.user.id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&core.db)
        .await?;
    if ended.rows_affected == 0 {
        return Err(AppError::NotFound("Session"));
    }
    core.events.session_ended(viewer.user.id).await;
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
        model.name = Set(text::name("name", name)?);
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
    meta: &RequestMeta,
) -> AppResult<bool> {
    validate::password("newPassword", new)?;
    text::secret("currentPassword", current)?;
    let Some(hash) = viewer.user.password_hash.as_deref() else {
        return Err(AppError::bad_input(
            "currentPassword",
            "This account has no password yet; set one with a password reset.",
        ));
    };
    let email = viewer.user.email.as_str();
    let checked = throttle::check_password(core, meta, email, current, Some(hash)).await?;
    let Some(mut slot) = checked else {
        return Err(AppError::bad_input(
            "currentPassword",
            "The current password is wrong.",
        ));
    };
    let new_hash = slot.hash(new).await?;
    drop(slot);
    let mut work = Work::begin(core, &Actor::user(viewer.user.id, meta)).await?;
    set_password(&*work, viewer.user.id, new_hash).await?;
    sessions::revoke_all(&*work, viewer.user.id, Some(viewer.session_id)).await?;
    work.sessions_ended(viewer.user.id);
    work.commit().await?;
    Ok(true)
}

async fn set_password(conn: &impl ConnectionTrait, user_id: UserId, hash: String) -> AppResult<()> {
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
    meta: &RequestMeta,
) -> AppResult<bool> {
    if let Some(hash) = viewer.user.password_hash.as_deref() {
        let given = password.unwrap_or_default();
        text::secret("password", given)?;
        let email = viewer.user.email.as_str();
        let checked = throttle::check_password(core, meta, email, given, Some(hash)).await?;
        if checked.is_none() {
            return Err(AppError::bad_input("password", "The password is wrong."));
        }
    }
    // Organizations that go with the account stop being billed first.
    for org in orgs::members::alone_in(&core.db, viewer.user.id).await? {
        crate::billing::subscriptions::cancel_all(core, org).await?;
    }
    let mut work = Work::begin(core, &Actor::user(viewer.user.id, meta)).await?;
    let user = user::Entity::find_by_id(viewer.user.id)
        .one(&*work)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    orgs::members::before_user_deleted(&mut work, user.id).await?;
    user.delete(&*work).await?;
    work.sessions_ended(viewer.user.id);
    work.commit().await?;
    Ok(true)
}

/// Unlinks a provider, unless it is the last way left to sign in.
pub async fn unlink_account(
    core: &Core,
    viewer: &Viewer,
    provider: &str,
) -> AppResult<user::Model> {
    let provider = text::identifier("provider", provider, PROVIDER_MAX)?.to_ascii_lowercase();
    let txn = core.begin().await?;
    let accounts = oauth_account::Entity::find()
        .filter(oauth_account::Column::UserId.eq(viewer.user.id))
        .all(&txn)
        .await?;
    let account = accounts
        .iter()
        .find(|a| a.provider == provider)
        .ok_or(AppError::NotFound("Linked account"))?;
    let user = user::Entity::find_by_id(viewer.user.id)
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if user.password_hash.is_none() && accounts.len() == 1 {
        return Err(AppError::conflict(
            "This is your only way to sign in; set a password or link another account first.",
        ));
    }
    oauth_account::Entity::delete_by_id(account.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(user)
}
