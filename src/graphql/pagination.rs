//! Relay connections with keyset cursors: a cursor is the opaque form of
//! the last row's sort key, so pages stay correct while rows are added.

use async_graphql::{
    OutputType, SimpleObject,
    connection::{Connection, CursorType, Edge},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// The cost of a connection field: its selection once per item asked for,
/// so a nested list multiplies instead of counting once.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let items = first.map_or(DEFAULT_PAGE, |n| {
        u64::try_from(n).unwrap_or(0).min(MAX_PAGE)
    });
    1usize.saturating_add((items as usize).saturating_mul(child_complexity))
}

/// The cost of a list that is not paged, taken to hold a page's worth.
pub fn list_cost(child_complexity: usize) -> usize {
    page_cost(None, child_complexity)
}

/// A row's sort key, shown to clients only in encoded form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(pub String);

#[derive(Debug, thiserror::Error)]
#[error("This cursor is not valid.")]
pub struct BadCursor;

impl CursorType for Cursor {
    type Error = BadCursor;

    /// Every list is ordered by row ids, which are uuids in canonical form;
    /// a key that is not one was never handed out, and must not reach a
    /// query (a NUL in it fails on PostgreSQL).
    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|k| k.strip_prefix("k:").map(str::to_owned))
            .filter(|k| uuid::Uuid::try_parse(k).is_ok_and(|u| u.hyphenated().to_string() == *k))
            .map(Cursor)
            .ok_or(BadCursor)
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("k:{}", self.0))
    }
}

#[derive(SimpleObject)]
pub struct TotalCount {
    total_count: i32,
}

pub type Page<N> = Connection<Cursor, N, TotalCount>;

/// `first` and `after` as a query needs them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub first: u64,
    /// The sort key to continue after.
    pub after: Option<String>,
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
            .map(|a| Cursor::decode_cursor(&a).map(|c| c.0))
            .transpose()
            .map_err(|e| AppError::bad_input("after", e.to_string()))?;
        Ok(Self { first, after })
    }

    /// Rows to fetch: one more than asked tells whether a next page exists.
    pub fn limit(&self) -> u64 {
        self.first + 1
    }
}

/// Builds a page from up to `limit()` rows in order, each with its sort key.
pub fn page<N: OutputType>(rows: Vec<(String, N)>, args: &PageArgs, total: u64) -> Page<N> {
    let has_next = rows.len() as u64 > args.first;
    let mut connection = Connection::with_additional_fields(
        args.after.is_some(),
        has_next,
        TotalCount {
            total_count: i32::try_from(total).unwrap_or(i32::MAX),
        },
    );
    connection.edges.extend(
        rows.into_iter()
            .take(args.first as usize)
            .map(|(key, node)| Edge::new(Cursor(key), node)),
    );
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor(uuid::Uuid::now_v7().to_string());
        assert_eq!(Cursor::decode_cursor(&c.encode_cursor()).unwrap(), c);
        assert!(Cursor::decode_cursor("!!!").is_err());
        assert!(Cursor::decode_cursor(&URL_SAFE_NO_PAD.encode("x")).is_err());
        for key in ["0192-abc", "\0", &c.0.to_uppercase(), &format!("{}\0", c.0)] {
            let forged = Cursor(key.to_owned()).encode_cursor();
            assert!(Cursor::decode_cursor(&forged).is_err(), "{key:?}");
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(PageArgs::parse(None, None).unwrap().first, DEFAULT_PAGE);
        assert_eq!(PageArgs::parse(Some(1000), None).unwrap().first, MAX_PAGE);
        assert!(PageArgs::parse(Some(-1), None).is_err());
    }
}
