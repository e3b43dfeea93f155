//! Turning a provider's profile into a signed-in user: a known account signs
//! in, a verified email links to its existing user when that user verified
//! the address too, anything else new becomes a user with that email
//! verified.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::{
    entity::{
        oauth_account::{self, OAuthAccountId},
        session::SessionId,
        user,
    },
    service::{self, SignedIn},
    session, validate,
};
use crate::{Core, actor::RequestMeta, email::EmailAddress, error::AppError, text};

/// The longest subject an account can be linked by (its column's size).
const SUBJECT_MAX: usize = 255;

/// What the provider told us about the person signing in.
#[derive(Debug, Clone)]
pub struct Profile {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
}

/// Why a callback could not sign anyone in: a code for the `?error=` of
/// the redirect, or an internal failure to log.
#[derive(Debug)]
pub enum OAuthFailure {
    Code(&'static str),
    Internal(AppError),
}

impl From<AppError> for OAuthFailure {
    fn from(e: AppError) -> Self {
        Self::Internal(e)
    }
}

impl From<sea_orm::DbErr> for OAuthFailure {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(e.into())
    }
}

/// Signs in with a provider's profile, ending the session the browser
/// presented (`replaces`).
pub async fn sign_in_with(
    core: &Core,
    provider: &str,
    profile: Profile,
    meta: &RequestMeta,
    replaces: Option<SessionId>,
) -> Result<SignedIn, OAuthFailure> {
    // The provider is trusted with who someone is, not with what reaches a
    // query: a subject no column can hold is a profile we cannot use.
    let subject = &profile.subject;
    if subject.is_empty() || subject.len() > SUBJECT_MAX || !text::is_single_line(subject) {
        return Err(OAuthFailure::Code("profile_unavailable"));
    }
    let txn = core.begin().await?;
    let known = oauth_account::Entity::find()
        .filter(oauth_account::Column::Provider.eq(provider))
        .filter(oauth_account::Column::Subject.eq(&profile.subject))
        .one(&txn)
        .await?;
    let user = match known {
        Some(account) => user::Entity::find_by_id(account.user_id)
            .one(&txn)
            .await?
            .ok_or(OAuthFailure::Code("account_missing"))?,
        None => {
            let email = profile
                .email
                .as_deref()
                .and_then(EmailAddress::lookup)
                .ok_or(OAuthFailure::Code("email_required"))?;
            // An address the provider has not verified proves nothing: it
            // neither links to an account nor creates one.
            if !profile.email_verified {
                return Err(OAuthFailure::Code("email_not_verified"));
            }
            let user = match service::find_by_email(&txn, &email).await? {
                // Whoever holds it never proved the address: it is claimed
                // with a password reset, not by linking (see the rule's reasons).
                Some(existing) if !service::accepts_proof_of_address(&existing) => {
                    return Err(OAuthFailure::Code("unverified_account"));
                }
                Some(existing) => existing,
                None => {
                    let name = profile
                        .name
                        .as_deref()
                        .and_then(|n| text::name("name", n).ok())
                        .unwrap_or_else(|| {
                            let local = email.as_str().split('@').next().unwrap_or_default();
                            text::name("name", local).unwrap_or_else(|_| "User".to_owned())
                        });
                    let avatar = profile
                        .avatar_url
                        .as_deref()
                        .and_then(|u| validate::optional_url("avatarUrl", u).ok().flatten());
                    service::insert_user(&txn, &email, &name, None, true, avatar).await?
                }
            };
            let linked = oauth_account::ActiveModel {
                id: Set(OAuthAccountId::new()),
                provider: Set(provider.to_owned()),
                subject: Set(profile.subject.clone()),
                user_id: Set(user.id),
                email: Set(Some(email.to_string())),
                created_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await;
            if linked.is_err() {
                // The same provider account finished a second callback at
                // once, or this user has another account of the provider.
                return Err(OAuthFailure::Code("account_conflict"));
            }
            user
        }
    };
    let session = session::issue(&txn, &core.config, user.id, meta, replaces).await?;
    txn.commit().await?;
    Ok(SignedIn {
        user,
        token: session.token,
        session_id: session.id,
    })
}
