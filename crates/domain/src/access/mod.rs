//! Pure access policy: roles, the permission matrix, features. No I/O here,
//! so every rule is unit-tested and a permission that does not exist is a
//! compile error.

use crate::error::{AppError, AppResult};

/// A member's role in an organization, from most to least powerful;
/// stored by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Role {
    #[sea_orm(string_value = "OWNER")]
    Owner,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[sea_orm(string_value = "MEMBER")]
    Member,
    #[sea_orm(string_value = "VIEWER")]
    Viewer,
}

/// What a role may do in its organization beyond reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    OrganizationUpdate,
    OrganizationDelete,
    MemberInvite,
    MemberUpdateRole,
    MemberRemove,
    OwnershipTransfer,
    BillingRead,
    BillingManage,
    ProjectCreate,
    ProjectUpdateAny,
    ProjectDeleteAny,
    AuditLogRead,
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::OrganizationUpdate,
        Permission::OrganizationDelete,
        Permission::MemberInvite,
        Permission::MemberUpdateRole,
        Permission::MemberRemove,
        Permission::OwnershipTransfer,
        Permission::BillingRead,
        Permission::BillingManage,
        Permission::ProjectCreate,
        Permission::ProjectUpdateAny,
        Permission::ProjectDeleteAny,
        Permission::AuditLogRead,
    ];
}

/// A capability a plan grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Feature {
    AuditLog,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuditLog => "AUDIT_LOG",
        }
    }
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    /// Higher is more powerful.
    pub fn rank(self) -> u8 {
        match self {
            Self::Owner => 3,
            Self::Admin => 2,
            Self::Member => 1,
            Self::Viewer => 0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "OWNER",
            Self::Admin => "ADMIN",
            Self::Member => "MEMBER",
            Self::Viewer => "VIEWER",
        }
    }

    /// The permission matrix of DESIGN.md.
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Self::Owner => true,
            Self::Admin => !matches!(
                permission,
                OrganizationDelete | OwnershipTransfer | BillingManage
            ),
            // "own only" for update/delete is decided per project, not here.
            Self::Member => matches!(permission, ProjectCreate),
            Self::Viewer => false,
        }
    }

    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.can(*p))
            .collect()
    }

    /// `FORBIDDEN` unless the role grants `permission`.
    pub fn require(self, permission: Permission) -> AppResult<()> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "Your role ({}) does not allow this.",
                self.as_str()
            )))
        }
    }

    /// Whether a member of this role may give `role` to someone (invite or
    /// change): never above their own, and only owners make owners.
    pub fn may_grant(self, role: Role) -> bool {
        role.rank() <= self.rank() && (role != Role::Owner || self == Role::Owner)
    }

    /// Whether a member of this role may change or remove a member holding
    /// `target`: admins leave owners alone.
    pub fn may_manage(self, target: Role) -> bool {
        self == Role::Owner || target != Role::Owner
    }
}

/// Content members create in an organization: projects, and every
/// resource made like them (`cargo xtask new-resource`). Viewers read it;
/// members create it and change or delete what they created; admins and
/// owners change anything (the `PROJECT_*` rows of the matrix).
pub mod content {
    use super::{Permission, Role};
    use crate::{error::AppError, ids::UserId};

    pub fn may_create(role: Role) -> bool {
        role.can(Permission::ProjectCreate)
    }

    /// Whether `role`, acting as `actor`, may change (or, `deleting`,
    /// delete) content `created_by` made.
    pub fn may_change(
        role: Role,
        created_by: Option<UserId>,
        actor: Option<UserId>,
        deleting: bool,
    ) -> bool {
        let any = if deleting {
            Permission::ProjectDeleteAny
        } else {
            Permission::ProjectUpdateAny
        };
        role.can(any) || (may_create(role) && created_by.is_some() && created_by == actor)
    }

    /// Why `role` may not create or change this kind of content, named by
    /// its plural (`projects`).
    pub fn refusal(role: Role, plural: &str) -> AppError {
        match role {
            Role::Viewer => AppError::forbidden(format!("Viewers cannot change {plural}.")),
            _ => AppError::forbidden(format!(
                "Members can change only the {plural} they created."
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Permission::*, Role::*, *};

    /// The matrix of DESIGN.md, row by row: (permission, [OWNER, ADMIN, MEMBER, VIEWER]).
    const MATRIX: [(Permission, [bool; 4]); 12] = [
        (OrganizationUpdate, [true, true, false, false]),
        (OrganizationDelete, [true, false, false, false]),
        (MemberInvite, [true, true, false, false]),
        (MemberUpdateRole, [true, true, false, false]),
        (MemberRemove, [true, true, false, false]),
        (OwnershipTransfer, [true, false, false, false]),
        (BillingRead, [true, true, false, false]),
        (BillingManage, [true, false, false, false]),
        (ProjectCreate, [true, true, true, false]),
        (ProjectUpdateAny, [true, true, false, false]),
        (ProjectDeleteAny, [true, true, false, false]),
        (AuditLogRead, [true, true, false, false]),
    ];

    #[test]
    fn roles_follow_the_matrix() {
        for (permission, allowed) in MATRIX {
            for (role, expected) in Role::ALL.into_iter().zip(allowed) {
                assert_eq!(role.can(permission), expected, "{role:?} {permission:?}");
            }
        }
        // Every permission has a row.
        for permission in Permission::ALL {
            assert!(
                MATRIX.iter().any(|(p, _)| *p == permission),
                "{permission:?}"
            );
        }
    }

    #[test]
    fn members_change_their_own_content_and_viewers_none() {
        use crate::ids::UserId;
        let (me, them) = (UserId::new(), UserId::new());
        for deleting in [false, true] {
            assert!(content::may_change(Owner, Some(them), Some(me), deleting));
            assert!(content::may_change(Admin, None, Some(me), deleting));
            assert!(content::may_change(Member, Some(me), Some(me), deleting));
            assert!(!content::may_change(Member, Some(them), Some(me), deleting));
            assert!(!content::may_change(Member, None, Some(me), deleting));
            assert!(!content::may_change(Member, None, None, deleting));
            assert!(!content::may_change(Viewer, Some(me), Some(me), deleting));
        }
        assert!(content::may_create(Member) && !content::may_create(Viewer));
    }

    #[test]
    fn nobody_grants_above_their_own_role() {
        assert!(Owner.may_grant(Owner));
        assert!(!Admin.may_grant(Owner));
        assert!(Admin.may_grant(Admin) && Admin.may_grant(Viewer));
        assert!(!Member.may_grant(Admin));
        assert!(!Admin.may_manage(Owner));
        assert!(Admin.may_manage(Admin));
        assert!(Owner.may_manage(Owner));
    }
}
