//! Checks of user input, each failing with `BAD_USER_INPUT` naming its field.

use crate::{
    error::{AppError, AppResult},
    text,
};

use super::passwords;

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
