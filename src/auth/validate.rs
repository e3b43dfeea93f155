//! Checks of user input, each failing with `BAD_USER_INPUT` naming its field.

use crate::error::{AppError, AppResult};

use super::passwords;

/// Lower-cased and trimmed: the form stored and compared everywhere.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The longest address SMTP carries, and so the longest any account has.
pub const EMAIL_MAX: usize = 254;

pub fn email(field: &str, raw: &str) -> AppResult<String> {
    let email = normalize_email(raw);
    let bad = || AppError::bad_input(field, "Enter a valid email address.");
    if email.len() > EMAIL_MAX || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
        return Err(bad());
    }
    Ok(email)
}

pub fn name(field: &str, raw: &str) -> AppResult<String> {
    let name = raw.trim();
    let length = name.chars().count();
    if length == 0 || length > 100 {
        return Err(AppError::bad_input(
            field,
            "A name has 1 to 100 characters.",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            field,
            "A name cannot hold control characters.",
        ));
    }
    Ok(name.to_owned())
}

pub fn password(field: &str, raw: &str) -> AppResult<()> {
    let length = raw.chars().count();
    if !(passwords::MIN_LENGTH..=passwords::MAX_LENGTH).contains(&length) {
        return Err(AppError::bad_input(
            field,
            format!(
                "A password has {} to {} characters.",
                passwords::MIN_LENGTH,
                passwords::MAX_LENGTH
            ),
        ));
    }
    Ok(())
}

/// An http(s) URL of at most 2048 characters; empty clears the value.
pub fn optional_url(field: &str, raw: &str) -> AppResult<Option<String>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let ok = raw.len() <= 2048
        && url::Url::parse(raw)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok {
        return Err(AppError::bad_input(field, "Enter an http or https URL."));
    }
    Ok(Some(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("e", "  Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@exa..mple.com",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_passwords() {
        assert_eq!(name("n", "  Ada ").unwrap(), "Ada");
        assert!(name("n", "   ").is_err());
        assert!(name("n", &"x".repeat(101)).is_err());
        assert!(password("p", "1234567").is_err());
        assert!(password("p", "12345678").is_ok());
        assert!(password("p", &"x".repeat(128)).is_ok());
        assert!(password("p", &"x".repeat(129)).is_err());
    }
}
