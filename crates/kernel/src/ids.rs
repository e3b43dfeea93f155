//! Typed ids, and how they look outside the server.
//!
//! Every row's id is a UUIDv7 in a newtype of its own (`ProjectId(Uuid)`),
//! stored in a `uuid` column, so a user id passed where an organization id
//! is expected is a compile error rather than a query that matches nothing.
//! `typed_id!` declares one; the kernel declares the two every layer names
//! (users and organizations), each slice its own.
//!
//! Clients see one opaque string per entity that names both its type and
//! its uuid, so `node(id:)` can find any entity and an id of one kind passed
//! where another is expected is refused instead of matching a row by
//! accident. The encoding (URL-safe base64 of `Type:uuid`) is an
//! implementation detail clients must not rely on.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
pub use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The longest global id any type can produce, with room to spare; longer
/// input is refused before it is decoded.
const MAX_GLOBAL_ID_LEN: usize = 96;

/// An id of one kind of row.
pub trait TypedId: Copy + Eq + std::hash::Hash + Send + Sync + 'static {
    /// The GraphQL type the id belongs to, which is also the prefix inside
    /// its global id.
    const TYPE_NAME: &'static str;

    fn from_uuid(uuid: Uuid) -> Self;

    fn uuid(self) -> Uuid;

    /// The id as the API shows it.
    fn global(self) -> String {
        encode(Self::TYPE_NAME, self.uuid())
    }

    /// The id inside a global id of this type; any other input (another
    /// type's id, garbage, a raw uuid) is `NOT_FOUND`, as if no such row
    /// existed.
    fn parse_global(global: &str) -> AppResult<Self> {
        match decode(global) {
            Some((ty, uuid)) if ty == Self::TYPE_NAME => Ok(Self::from_uuid(uuid)),
            _ => Err(AppError::NotFound(Self::TYPE_NAME)),
        }
    }
}

/// The global id of a row of type `type_name`.
pub fn encode(type_name: &str, uuid: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{}", uuid.hyphenated()))
}

/// The type name and uuid of a global id, or None when it is not one.
pub fn decode(global: &str) -> Option<(String, Uuid)> {
    if global.len() > MAX_GLOBAL_ID_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(global).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (name, raw) = text.split_once(':')?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    // Only the canonical form is ever handed out.
    let uuid = Uuid::try_parse(raw).ok()?;
    (uuid.hyphenated().to_string() == raw).then(|| (name.to_owned(), uuid))
}

/// Declares a typed id: a UUIDv7 newtype that SeaORM stores in a `uuid`
/// column and the API names `$type_name` in global ids.
///
/// ```
/// groundwork_kernel::typed_id! {
///     /// A project's id.
///     pub struct ProjectId = "Project";
/// }
///
/// use groundwork_kernel::ids::TypedId;
/// let id = ProjectId::new();
/// assert_eq!(ProjectId::parse_global(&id.global()).unwrap(), id);
/// assert!(ProjectId::parse_global("not an id").is_err());
/// ```
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $vis:vis struct $name:ident = $type_name:literal;) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            sea_orm::DeriveValueType, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        $vis struct $name(pub ::uuid::Uuid);

        impl $name {
            /// A new id: time-ordered, so ids sort in creation order.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self($crate::ids::Uuid::now_v7())
            }
        }

        impl $crate::ids::TypedId for $name {
            const TYPE_NAME: &'static str = $type_name;

            fn from_uuid(uuid: $crate::ids::Uuid) -> Self {
                Self(uuid)
            }

            fn uuid(self) -> $crate::ids::Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        // Primary keys must say whether an auto-incremented u64 fits them;
        // a uuid never comes from one.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }
    };
}

typed_id! {
    /// A user's id.
    pub struct UserId = "User";
}

typed_id! {
    /// An organization's id.
    pub struct OrganizationId = "Organization";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_per_type() {
        let user = UserId::new();
        let global = user.global();
        assert_eq!(decode(&global), Some(("User".to_owned(), user.0)));
        assert_eq!(UserId::parse_global(&global).unwrap(), user);
        assert!(global.len() <= MAX_GLOBAL_ID_LEN);
        let org = OrganizationId::new();
        assert_eq!(OrganizationId::parse_global(&org.global()).unwrap(), org);
    }

    #[test]
    fn foreign_and_malformed_ids_are_not_found() {
        let raw = Uuid::now_v7().to_string();
        let user = UserId::new().global();
        assert!(matches!(
            OrganizationId::parse_global(&user),
            Err(AppError::NotFound("Organization"))
        ));
        for bad in [
            raw.clone(),
            String::new(),
            "!!!".into(),
            URL_SAFE_NO_PAD.encode("User:not-a-uuid"),
            URL_SAFE_NO_PAD.encode("User:\0"),
            URL_SAFE_NO_PAD.encode(format!("User:{}", raw.to_uppercase())),
            URL_SAFE_NO_PAD.encode(format!("Us\0er:{raw}")),
            URL_SAFE_NO_PAD.encode(format!(":{raw}")),
            "A".repeat(10_000),
        ] {
            assert!(
                matches!(UserId::parse_global(&bad), Err(AppError::NotFound("User"))),
                "{bad:?}"
            );
        }
    }
}
