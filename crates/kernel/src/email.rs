//! Email addresses: parsed once where they come in, then carried as a type
//! that can only hold a valid, normalized address.

use std::str::FromStr;

use crate::{
    error::{AppError, AppResult},
    text,
};

/// The longest address SMTP carries, and so the longest any account has.
pub const EMAIL_MAX: usize = 254;

/// A valid address, trimmed and lower-cased: the form stored and compared
/// everywhere, so two spellings of one address are one account.
///
/// Stored as text. Values read back from the database are trusted (only
/// this type ever wrote them); everything from outside goes through
/// `parse`.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, sea_orm::DeriveValueType,
)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Checks an address a client typed, failing with `BAD_USER_INPUT` on
    /// `field`. The syntax is lettre's (RFC 5321's, which mail can be sent
    /// to); on top of it, a dotted domain, since no mailbox lives at a
    /// bare host, and no control characters or direction overrides.
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let bad = || AppError::bad_input(field, "Enter a valid email address.");
        let email = text::line(field, raw).map_err(|_| bad())?.to_lowercase();
        if email.len() > EMAIL_MAX || email.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let address = lettre::Address::from_str(&email).map_err(|_| bad())?;
        let domain = address.domain();
        let dotted = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if !dotted || address.user().len() > 64 {
            return Err(bad());
        }
        Ok(Self(email))
    }

    /// The normalized form of what someone typed to sign in with, when it
    /// can be an address at all: no account has any other, so anything else
    /// is simply not found.
    pub fn lookup(raw: &str) -> Option<Self> {
        Self::parse("email", raw).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalized_and_checked() {
        assert_eq!(
            EmailAddress::parse("e", "  Ada@Example.COM ")
                .unwrap()
                .as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@exa..mple.com",
            "ada@.example.com",
            "ada\0@example.com",
            "ada@example.com\0",
            "ada\u{202E}@example.com",
            "ad\na@example.com",
            "a@b@example.com",
        ] {
            assert!(EmailAddress::parse("e", bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse("e", &long).is_err());
        assert!(EmailAddress::lookup("nobody").is_none());
    }
}
