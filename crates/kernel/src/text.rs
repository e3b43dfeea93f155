//! The rules every piece of text a client sends goes through before it is
//! stored, compared or searched for, so that what SQLite accepts PostgreSQL
//! accepts too, and what one form refuses no other lets in.
//!
//! PostgreSQL refuses NUL inside text (`invalid byte sequence`) where SQLite
//! stores it, so a NUL that reached a query was an `INTERNAL` on one database
//! and a stored value on the other. Control characters and line breaks in a
//! name end up in mail subjects, logs and terminals; bidirectional overrides
//! make a name read differently from what it is ("Trojan Source"). Each kind
//! below says what it lets through; anything else is `BAD_USER_INPUT` naming
//! the field.

use crate::error::{AppError, AppResult};

/// The longest name anything has: users, organizations, projects.
pub const NAME_MAX: usize = 100;
/// The longest description a project has.
pub const DESCRIPTION_MAX: usize = 2000;
/// The longest search string; a longer one could match no name.
pub const SEARCH_MAX: usize = NAME_MAX;

/// Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) change
/// the order text is shown in beyond the characters themselves. The marks
/// (U+200E, U+200F, U+061C) only steer neutral characters and stay allowed,
/// as right-to-left writing needs them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Line and paragraph separators are line breaks that are not control
/// characters.
fn is_unicode_break(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// What a single line may not hold: any control character (C0, DEL, C1:
/// NUL, ESC, tab, CR, LF, NEL, …), a line or paragraph separator, or a
/// bidirectional control.
fn refused_in_line(c: char) -> bool {
    c.is_control() || is_unicode_break(c) || is_bidi_control(c)
}

/// What multi-line text may not hold: the same, but line feeds and tabs.
fn refused_in_prose(c: char) -> bool {
    !matches!(c, '\n' | '\t') && refused_in_line(c)
}

fn refused(field: &str, what: &str) -> AppError {
    AppError::bad_input(
        field,
        format!("The {what} cannot hold control characters, line breaks or direction overrides."),
    )
}

/// Whether `s` is one line as `line` accepts it, untrimmed: for text from
/// outside services (an OAuth subject, Stripe's ids) that is checked, not
/// normalized.
pub fn is_single_line(s: &str) -> bool {
    !s.chars().any(refused_in_line)
}

/// Single-line text: names, emails, slugs, search strings, identifiers.
/// Trimmed; no control characters, no line breaks, no direction overrides.
pub fn line<'a>(field: &str, raw: &'a str) -> AppResult<&'a str> {
    let value = raw.trim();
    if value.chars().any(refused_in_line) {
        return Err(refused(field, "text"));
    }
    Ok(value)
}

/// Multi-line text: descriptions. Line breaks (CR LF and CR become LF) and
/// tabs are kept; other control characters and direction overrides are
/// refused. Trimmed at both ends.
pub fn prose(field: &str, raw: &str) -> AppResult<String> {
    let value = raw.replace("\r\n", "\n").replace('\r', "\n");
    let value = value.trim();
    if value.chars().any(refused_in_prose) {
        return Err(AppError::bad_input(
            field,
            "The text cannot hold control characters other than line breaks and tabs, or direction overrides.",
        ));
    }
    Ok(value.to_owned())
}

/// A name people read: one line of 1 to `NAME_MAX` characters.
pub fn name(field: &str, raw: &str) -> AppResult<String> {
    let name = line(field, raw).map_err(|_| refused(field, "name"))?;
    let length = name.chars().count();
    if length == 0 || length > NAME_MAX {
        return Err(AppError::bad_input(
            field,
            format!("A name has 1 to {NAME_MAX} characters."),
        ));
    }
    Ok(name.to_owned())
}

/// A description of at most `DESCRIPTION_MAX` characters; blank means none.
pub fn description(field: &str, raw: &str) -> AppResult<Option<String>> {
    let text = prose(field, raw)?;
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(AppError::bad_input(
            field,
            format!("A description has at most {DESCRIPTION_MAX} characters."),
        ));
    }
    Ok(Some(text).filter(|d| !d.is_empty()))
}

/// A text as name search compares it: lower-cased by Unicode's rules by
/// the server, for what is stored and what is searched alike, so both
/// databases compare the same strings (their own `LOWER()` differ).
pub fn folded(text: &str) -> String {
    text.to_lowercase()
}

/// A search string; blank means no search.
pub fn search(field: &str, raw: &str) -> AppResult<Option<String>> {
    let needle = line(field, raw)?;
    if needle.chars().count() > SEARCH_MAX {
        return Err(AppError::bad_input(
            field,
            format!("A search has at most {SEARCH_MAX} characters."),
        ));
    }
    Ok(Some(needle.to_owned()).filter(|s| !s.is_empty()))
}

/// A short identifier a client names something by (a provider, a plan):
/// one line of at most `max` characters.
pub fn identifier<'a>(field: &str, raw: &'a str, max: usize) -> AppResult<&'a str> {
    let value = line(field, raw)?;
    if value.is_empty() || value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("This has 1 to {max} characters."),
        ));
    }
    Ok(value)
}

/// A secret (a password) is taken exactly as typed, spaces and all, but it
/// never holds a NUL: no database stores one, and no keyboard types one.
pub fn secret(field: &str, raw: &str) -> AppResult<()> {
    if raw.contains('\0') {
        return Err(AppError::bad_input(
            field,
            "A password cannot hold a NUL character.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFUSED_IN_LINES: [&str; 12] = [
        "a\0b",
        "a\u{1b}[31mb",
        "a\nb",
        "a\rb",
        "a\tb",
        "a\u{7f}b",
        "a\u{85}b",
        "a\u{2028}b",
        "a\u{2029}b",
        "a\u{202E}b",
        "a\u{2066}b",
        "a\u{9b}31mb",
    ];

    #[test]
    fn lines_refuse_controls_breaks_and_overrides() {
        for bad in REFUSED_IN_LINES {
            assert!(line("f", bad).is_err(), "{bad:?}");
            assert!(name("f", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            line("f", "  Ünïcødé 名前 \u{200F}ok ").unwrap(),
            "Ünïcødé 名前 \u{200F}ok"
        );
        assert_eq!(name("f", " Ada ").unwrap(), "Ada");
        // Surrounding whitespace goes before the check; inside, it stays refused.
        assert_eq!(line("f", "\n\tAda\r\n").unwrap(), "Ada");
    }

    #[test]
    fn prose_keeps_line_breaks_and_tabs_only() {
        assert_eq!(
            prose("f", "one\r\ntwo\rthree\n\tfour\n").unwrap(),
            "one\ntwo\nthree\n\tfour"
        );
        for bad in [
            "a\0b",
            "a\u{1b}[2Jb",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{2028}b",
            "a\u{202E}b",
        ] {
            assert!(prose("f", bad).is_err(), "{bad:?}");
        }
        assert_eq!(description("f", "  \n ").unwrap(), None);
        assert!(description("f", &"d".repeat(DESCRIPTION_MAX + 1)).is_err());
    }

    #[test]
    fn lengths_and_blanks() {
        assert!(name("f", "   ").is_err());
        assert!(name("f", &"n".repeat(NAME_MAX + 1)).is_err());
        assert!(name("f", &"é".repeat(NAME_MAX)).is_ok());
        assert_eq!(search("f", "  ").unwrap(), None);
        assert!(search("f", &"s".repeat(SEARCH_MAX + 1)).is_err());
        assert!(identifier("f", "", 8).is_err());
        assert!(identifier("f", "github", 8).is_ok());
    }

    #[test]
    fn errors_name_the_field() {
        match name("organizationName", "a\0") {
            Err(AppError::BadUserInput { field, .. }) => assert_eq!(field, "organizationName"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn secrets_refuse_only_nul() {
        assert!(secret("p", " \t spaced \u{1b} ").is_ok());
        assert!(secret("p", "pass\0word").is_err());
    }
}
