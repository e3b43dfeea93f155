//! Page arguments for keyset pagination: a cursor is the opaque form of the
//! last row's sort key (its id), so pages stay correct while rows are added.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    error::{AppError, AppResult},
    ids::Uuid,
};

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// The opaque cursor of a row's sort key.
pub fn encode_cursor(key: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("k:{}", key.hyphenated()))
}

/// The sort key inside a cursor. Every list is ordered by row ids, which
/// are uuids in canonical form; a key that is not one was never handed out.
pub fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let key = std::str::from_utf8(&bytes).ok()?.strip_prefix("k:")?;
    let uuid = Uuid::try_parse(key).ok()?;
    (uuid.hyphenated().to_string() == key).then_some(uuid)
}

/// `first` and `after` as a query needs them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub first: u64,
    /// The sort key (a row id) to continue after.
    pub after: Option<Uuid>,
}

impl PageArgs {
    pub fn parse(first: Option<i32>, after: Option<String>) -> AppResult<Self> {
        let first = match first {
            None => DEFAULT_PAGE,
            Some(n) if n < 0 => {
                return Err(AppError::bad_input("first", "first cannot be negative."));
            }
            Some(n) => (n as u64).min(MAX_PAGE),
        };
        let after = after
            .map(|a| {
                decode_cursor(&a)
                    .ok_or_else(|| AppError::bad_input("after", "This cursor is not valid."))
            })
            .transpose()?;
        Ok(Self { first, after })
    }

    /// Rows to fetch: one more than asked tells whether a next page exists.
    pub fn limit(&self) -> u64 {
        self.first + 1
    }

    /// The number of items a `first` asks for, as the cost analysis counts them.
    pub fn items(first: Option<i32>) -> u64 {
        first.map_or(DEFAULT_PAGE, |n| {
            u64::try_from(n).unwrap_or(0).min(MAX_PAGE)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let key = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(key)).unwrap(), key);
        assert!(decode_cursor("!!!").is_none());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("x")).is_none());
        let text = key.to_string();
        for forged in ["0192-abc", "\0", &text.to_uppercase(), &format!("{text}\0")] {
            let cursor = URL_SAFE_NO_PAD.encode(format!("k:{forged}"));
            assert!(decode_cursor(&cursor).is_none(), "{forged:?}");
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(PageArgs::parse(None, None).unwrap().first, DEFAULT_PAGE);
        assert_eq!(PageArgs::parse(Some(1000), None).unwrap().first, MAX_PAGE);
        assert!(PageArgs::parse(Some(-1), None).is_err());
        assert!(PageArgs::parse(None, Some("nope".into())).is_err());
    }
}
