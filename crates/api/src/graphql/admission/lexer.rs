//! A first look at a document before the parser sees it: how many tokens
//! it has and how deeply its brackets nest. Both are counted in one pass
//! that stops at the first limit passed, so a huge or deeply nested
//! document costs time proportional to what was read, and never reaches a
//! recursive-descent parser that could exhaust the stack.
//!
//! async-graphql's parser has a recursion limit but no token limit, and
//! checks recursion only after building the whole tree; hence this pass.

#[derive(Debug, PartialEq, Eq)]
pub enum TooBig {
    Tokens { limit: usize },
    Nesting { limit: usize },
}

/// Counts GraphQL lexical tokens and bracket nesting, refusing at the first
/// limit passed. Malformed input (an unterminated string) is left for the
/// parser to report; counting simply ends there.
pub fn check(document: &str, max_tokens: usize, max_nesting: usize) -> Result<(), TooBig> {
    let bytes = document.as_bytes();
    let mut tokens = 0usize;
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            // Ignored tokens: whitespace, commas, line terminators, the BOM's bytes.
            b' ' | b'\t' | b'\n' | b'\r' | b',' | 0xEF | 0xBB | 0xBF => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                i = skip_string(bytes, i);
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max_nesting {
                    return Err(TooBig::Nesting { limit: max_nesting });
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => {
                i += 1;
                // Names and numbers (with signs, fractions and exponents)
                // run until a character that cannot continue them.
                while i < bytes.len()
                    && matches!(bytes[i], b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'+' | b'-')
                    && !bytes[i..].starts_with(b"...")
                {
                    i += 1;
                }
            }
            // Punctuators and anything the parser will refuse: one token each.
            _ => i += 1,
        }
        tokens += 1;
        if tokens > max_tokens {
            return Err(TooBig::Tokens { limit: max_tokens });
        }
    }
    Ok(())
}

/// The index just past the string starting at `start` (a `"`), block
/// strings included; the end of input when it is not closed.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return bytes.len();
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(doc: &str) -> usize {
        (0..)
            .find(|&max| check(doc, max, 100).is_ok())
            .expect("some count fits")
    }

    #[test]
    fn counts_tokens_as_the_grammar_does() {
        assert_eq!(count("{ a }"), 3);
        assert_eq!(
            count("query Q($x: Int = -1.5e3) { a(x: $x) @skip(if: false) }"),
            26
        );
        assert_eq!(count("{ a(s: \"x { y } \\\" z\") }"), 8);
        assert_eq!(count("{ a(s: \"\"\" { } \\\"\"\" \"\"\") }"), 8);
        assert_eq!(count("# { comment }\n{ ...F } fragment F on Q { a }"), 11);
        assert_eq!(count(",,, { a, b, }"), 4);
    }

    #[test]
    fn refuses_at_the_first_limit() {
        let aliases: String = (0..10_000)
            .map(|i| format!("a{i}: viewer {{ id }} "))
            .collect();
        let doc = format!("{{ {aliases} }}");
        assert_eq!(
            check(&doc, 15_000, 32),
            Err(TooBig::Tokens { limit: 15_000 })
        );
        let nested = format!("{}{}", "{a".repeat(100_000), "}".repeat(100_000));
        assert_eq!(
            check(&nested, 1_000_000, 32),
            Err(TooBig::Nesting { limit: 32 })
        );
        let list = format!("{{ a(x: {}) }}", "[".repeat(1000));
        assert_eq!(
            check(&list, 1_000_000, 32),
            Err(TooBig::Nesting { limit: 32 })
        );
        assert!(check("{ \"unterminated", 10, 10).is_ok());
    }
}
