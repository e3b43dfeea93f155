//! Organizations: creation, settings, deletion, and the lookups every
//! org-scoped service starts with (the actor's role, the organization's
//! lock). Every change runs in one transaction with its audit event.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, LockType, OnConflict},
};
use serde_json::json;

use super::entity::{MembershipId, membership, organization};
use crate::{
    Core,
    access::{Permission, Role},
    audit::{self, Actor, Event},
    auth::entity::user,
    counters,
    error::{AppError, AppResult},
    ids::{OrganizationId, UserId},
    page::PageArgs,
    text,
    uow::Work,
};

pub const SLUG_MIN: usize = 3;
pub const SLUG_MAX: usize = 48;

pub fn validate_slug(raw: &str) -> AppResult<String> {
    let slug = raw.trim().to_owned();
    let ok = (SLUG_MIN..=SLUG_MAX).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(AppError::bad_input(
            "slug",
            "A slug has 3 to 48 characters: lower-case letters, digits and hyphens.",
        ));
    }
    Ok(slug)
}

/// A slug made from a name: lower-case ASCII letters and digits joined by
/// single hyphens, padded to the minimum length.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(40).collect();
    slug = slug.trim_end_matches('-').to_owned();
    if slug.len() < SLUG_MIN {
        slug = if slug.is_empty() {
            "team".to_owned()
        } else {
            format!("{slug}-team")
        };
    }
    slug
}

/// The first of `base`, `base-2`, `base-3`, … that no organization uses.
async fn free_slug(conn: &impl ConnectionTrait, base: &str) -> AppResult<String> {
    let taken: std::collections::HashSet<String> = organization::Entity::find()
        .select_only()
        .column(organization::Column::Slug)
        .filter(
            Condition::any()
                .add(organization::Column::Slug.eq(base))
                .add(organization::Column::Slug.starts_with(format!("{base}-"))),
        )
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    if !taken.contains(base) {
        return Ok(base.to_owned());
    }
    Ok((2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .expect("an unbounded range has a free number"))
}

async fn slug_taken(
    conn: &impl ConnectionTrait,
    slug: &str,
    except: Option<OrganizationId>,
) -> AppResult<bool> {
    let mut query = organization::Entity::find().filter(organization::Column::Slug.eq(slug));
    if let Some(id) = except {
        query = query.filter(organization::Column::Id.ne(id));
    }
    Ok(query.count(conn).await? > 0)
}

/// How many times a generated slug is taken by a concurrent change before
/// the insert gives up.
const SLUG_ATTEMPTS: usize = 8;

/// Inserts the organization under `slug` with its owner; none when another
/// organization has the slug (committed, or by a change that commits first).
/// `ON CONFLICT DO NOTHING` keeps the transaction usable for another try.
async fn try_insert_org(
    conn: &impl ConnectionTrait,
    name: &str,
    slug: &str,
    personal: bool,
    owner: UserId,
) -> AppResult<Option<organization::Model>> {
    let now = Utc::now();
    let org = organization::Model {
        id: OrganizationId::new(),
        name: name.to_owned(),
        slug: slug.to_owned(),
        personal,
        created_by: Some(owner),
        created_at: now,
        updated_at: now,
    };
    let inserted = organization::Entity::insert(org.clone().into_active_model().reset_all())
        .on_conflict(
            OnConflict::column(organization::Column::Slug)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    add_member(conn, org.id, owner, Role::Owner).await?;
    Ok(Some(org))
}

/// Inserts the organization under the first free slug made from `base`:
/// when a concurrent change takes that one first, the next.
async fn insert_org_with_free_slug(
    conn: &impl ConnectionTrait,
    name: &str,
    base: &str,
    personal: bool,
    owner: UserId,
) -> AppResult<organization::Model> {
    for _ in 0..SLUG_ATTEMPTS {
        let slug = free_slug(conn, base).await?;
        if let Some(org) = try_insert_org(conn, name, &slug, personal, owner).await? {
            return Ok(org);
        }
    }
    Err(AppError::internal(format!(
        "no free slug from {base:?} after {SLUG_ATTEMPTS} attempts"
    )))
}

pub async fn add_member(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
    user_id: UserId,
    role: Role,
) -> AppResult<membership::Model> {
    let now = Utc::now();
    let member = membership::ActiveModel {
        id: Set(MembershipId::new()),
        organization_id: Set(organization_id),
        user_id: Set(user_id),
        role: Set(role),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    counters::add(conn, organization_id, counters::MEMBERS, 1).await?;
    Ok(member)
}

/// The personal organization every new user gets, named after them.
pub async fn create_personal(
    conn: &impl ConnectionTrait,
    user: &user::Model,
) -> AppResult<organization::Model> {
    let org =
        insert_org_with_free_slug(conn, &user.name, &slugify(&user.name), true, user.id).await?;
    let actor = Actor::user(user.id, &Default::default());
    audit::record(
        conn,
        org.id,
        &actor,
        org_event("organization.created", &org),
    )
    .await?;
    Ok(org)
}

fn org_event(action: &'static str, org: &organization::Model) -> Event {
    Event::on(
        action,
        org.id,
        json!({ "name": org.name, "slug": org.slug }),
    )
}

pub async fn create(
    core: &Core,
    actor: &Actor,
    name: &str,
    slug: Option<&str>,
) -> AppResult<organization::Model> {
    let name = text::name("name", name)?;
    let explicit = slug.map(validate_slug).transpose()?;
    let owner = actor.id()?;
    let work = Work::begin(core, actor).await?;
    let org = match explicit {
        Some(slug) => try_insert_org(&*work, &name, &slug, false, owner)
            .await?
            .ok_or_else(slug_conflict)?,
        None => insert_org_with_free_slug(&*work, &name, &slugify(&name), false, owner).await?,
    };
    work.audit(org.id, org_event("organization.created", &org))
        .await?;
    work.commit().await?;
    Ok(org)
}

fn slug_conflict() -> AppError {
    AppError::conflict("Another organization already uses this slug.")
}

/// The organization a slug names; a slug no organization could have names none.
pub async fn id_for_slug(core: &Core, slug: &str) -> AppResult<Option<OrganizationId>> {
    let Ok(slug) = validate_slug(slug) else {
        return Ok(None);
    };
    Ok(organization::Entity::find()
        .select_only()
        .column(organization::Column::Id)
        .filter(organization::Column::Slug.eq(slug))
        .into_tuple::<OrganizationId>()
        .one(&core.db)
        .await?)
}

/// The user's membership of an organization, read in `conn`.
pub async fn membership_of(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
    user_id: UserId,
) -> AppResult<Option<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(conn)
        .await?)
}

/// The actor's role in the organization, or `NOT_FOUND` for a non-member,
/// who must not learn that the organization exists.
pub async fn role_in(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
    actor: &Actor,
) -> AppResult<Role> {
    let Some(user) = actor.user_id else {
        return Err(AppError::NotFound("Organization"));
    };
    Ok(membership_of(conn, organization_id, user)
        .await?
        .ok_or(AppError::NotFound("Organization"))?
        .role)
}

/// Takes the organization's write lock for the rest of the transaction:
/// a row lock on PostgreSQL; on SQLite a write, which takes the database's
/// single writer lock.
///
/// `FOR NO KEY UPDATE`, not `FOR UPDATE`: lockers still wait for each other,
/// but rows that merely reference the organization (an audit event, a
/// project, a counter) can be inserted meanwhile. With `FOR UPDATE` a change
/// holding a counter's row and inserting its audit event waited for the
/// lock holder, who waited for that counter: a deadlock.
pub async fn lock(
    conn: &impl ConnectionTrait,
    organization_id: OrganizationId,
) -> AppResult<organization::Model> {
    let query = organization::Entity::find_by_id(organization_id);
    let found = if conn.get_database_backend() == DbBackend::Postgres {
        query.lock(LockType::NoKeyUpdate).one(conn).await?
    } else {
        organization::Entity::update_many()
            .col_expr(
                organization::Column::UpdatedAt,
                Expr::col(organization::Column::UpdatedAt),
            )
            .filter(organization::Column::Id.eq(organization_id))
            .exec(conn)
            .await?;
        query.one(conn).await?
    };
    found.ok_or(AppError::NotFound("Organization"))
}

/// Renames an organization or changes its slug; returns it with the
/// actor's role.
pub async fn update(
    core: &Core,
    actor: &Actor,
    organization_id: OrganizationId,
    name: Option<&str>,
    slug: Option<&str>,
) -> AppResult<(organization::Model, Role)> {
    let name = name.map(|n| text::name("name", n)).transpose()?;
    let slug = slug.map(validate_slug).transpose()?;
    let work = Work::begin(core, actor).await?;
    let role = work
        .require(organization_id, Permission::OrganizationUpdate)
        .await?;
    let org = work.lock(organization_id).await?;
    if let Some(slug) = &slug
        && *slug != org.slug
        && slug_taken(&*work, slug, Some(org.id)).await?
    {
        return Err(slug_conflict());
    }
    let before = json!({ "name": org.name, "slug": org.slug });
    let wanted_slug = slug.clone().unwrap_or_else(|| org.slug.clone());
    let mut model: organization::ActiveModel = org.into();
    if let Some(name) = name {
        model.name = Set(name);
    }
    if let Some(slug) = slug {
        model.slug = Set(slug);
    }
    model.updated_at = Set(Utc::now());
    let org = match model.update(&*work).await {
        Ok(org) => org,
        Err(e) => {
            work.rollback().await?;
            return Err(
                if slug_taken(&core.db, &wanted_slug, Some(organization_id)).await? {
                    slug_conflict()
                } else {
                    e.into()
                },
            );
        }
    };
    let metadata = json!({ "before": before, "after": { "name": org.name, "slug": org.slug } });
    work.audit(org.id, Event::on("organization.updated", org.id, metadata))
        .await?;
    work.commit().await?;
    Ok((org, role))
}

/// Deletes a team organization and, by cascade, everything it owns; a live
/// paid subscription is cancelled at Stripe first, so nobody is billed for
/// an organization that is gone.
pub async fn delete(
    core: &Core,
    actor: &Actor,
    organization_id: OrganizationId,
) -> AppResult<bool> {
    role_in(&core.db, organization_id, actor)
        .await?
        .require(Permission::OrganizationDelete)?;
    let org = organization::Entity::find_by_id(organization_id)
        .one(&core.db)
        .await?
        .ok_or(AppError::NotFound("Organization"))?;
    if org.personal {
        return Err(AppError::conflict(
            "A personal organization cannot be deleted.",
        ));
    }
    crate::billing::subscriptions::cancel_all(core, organization_id).await?;
    let work = Work::begin(core, actor).await?;
    work.require(organization_id, Permission::OrganizationDelete)
        .await?;
    work.lock(organization_id).await?;
    organization::Entity::delete_by_id(org.id)
        .exec(&*work)
        .await?;
    work.commit().await?;
    // Its audit log goes with it; the deletion itself is kept in the server log.
    tracing::info!(organization = %org.id, slug = %org.slug, actor = ?actor.user_id, "organization deleted");
    Ok(true)
}

/// The user's organizations in joining order, with their membership.
pub async fn list_for_user(
    core: &Core,
    user_id: UserId,
    args: &PageArgs,
) -> AppResult<(Vec<(membership::Model, organization::Model)>, u64)> {
    let base = membership::Entity::find().filter(membership::Column::UserId.eq(user_id));
    let total = base.clone().count(&core.db).await?;
    let mut query = base
        .find_also_related(organization::Entity)
        .order_by_asc(membership::Column::Id)
        .limit(args.limit());
    if let Some(after) = args.after {
        query = query.filter(membership::Column::Id.gt(MembershipId(after)));
    }
    let rows = query
        .all(&core.db)
        .await?
        .into_iter()
        .filter_map(|(m, o)| o.map(|o| (m, o)))
        .collect();
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_names() {
        assert_eq!(slugify("Acme Inc."), "acme-inc");
        assert_eq!(slugify("  Ünïcode & Co  "), "n-code-co");
        assert_eq!(slugify("A"), "a-team");
        assert_eq!(slugify("!!!"), "team");
        assert!(slugify(&"x".repeat(80)).len() <= 40);
        for name in ["Acme Inc.", "A", "!!!", "x--y"] {
            validate_slug(&slugify(name)).unwrap();
        }
    }

    #[test]
    fn slug_rules() {
        assert!(validate_slug("acme").is_ok());
        assert!(validate_slug("ab").is_err());
        assert!(validate_slug("Acme").is_err());
        assert!(validate_slug("acme_inc").is_err());
        assert!(validate_slug(&"a".repeat(49)).is_err());
        assert!(validate_slug("acme\0").is_err());
        assert_eq!(validate_slug(" acme ").unwrap(), "acme");
    }
}
