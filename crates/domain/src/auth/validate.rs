//! Checks of user input, each failing with `BAD_USER_INPUT` naming its field.

use crate::{
    error::{AppError, AppResult},
    text,
};

use super::passwords;

/// Lower-cased and trimmed: the form stored and compared everywhere.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The longest address SMTP carries, and so the longest any account has.
pub const EMAIL_MAX: usize = 254;

pub fn email(field: &str, raw: &str) -> AppResult<String> {
    let bad = || AppError::bad_input(field, "Enter a valid email address.");
    let email = normalize_email(text::line(field, raw).map_err(|_| bad())?);
    if email.len() > EMAIL_MAX || email.chars().any(char::is_whitespace) {
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

/// A new password; one being checked only has to be free of NUL
/// (`text::secret`), so a rule added later locks nobody out.
pub fn password(field: &str, raw: &str) -> AppResult<()> {
    text::secret(field, raw)?;
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
    let raw = text::line(field, raw)?;
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
            "ada\0@example.com",
            "ada@example.com\0",
            "ada\u{202E}@example.com",
            "ad\na@example.com",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(optional_url("u", " ").unwrap(), None);
        assert!(
            optional_url("u", "https://example.com/a.png")
                .unwrap()
                .is_some()
        );
        for bad in [
            "ftp://example.com",
            "https://example.com/\0",
            "https://example.com/\u{1b}x",
        ] {
            assert!(optional_url("u", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords() {
        assert!(password("p", "1234567").is_err());
        assert!(password("p", "12345678").is_ok());
        assert!(password("p", &"x".repeat(128)).is_ok());
        assert!(password("p", &"x".repeat(129)).is_err());
        assert!(password("p", "1234\u{0}5678").is_err());
    }
}
