//! Relay connections with keyset cursors (`page::PageArgs` reads them), and
//! the cost a list adds to an operation.

use async_graphql::{
    OutputType, SimpleObject,
    connection::{Connection, CursorType, Edge},
};

use crate::{
    ids::Uuid,
    page::{self, PageArgs},
};

/// The cost of a connection field: its selection once per item asked for,
/// so a nested list multiplies instead of counting once.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let items = PageArgs::items(first);
    1usize.saturating_add((items as usize).saturating_mul(child_complexity))
}

/// The cost of a list that is not paged, taken to hold a page's worth.
pub fn list_cost(child_complexity: usize) -> usize {
    page_cost(None, child_complexity)
}

/// A row's sort key (its id), shown to clients only in encoded form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(pub Uuid);

#[derive(Debug, thiserror::Error)]
#[error("This cursor is not valid.")]
pub struct BadCursor;

impl CursorType for Cursor {
    type Error = BadCursor;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        page::decode_cursor(s).map(Cursor).ok_or(BadCursor)
    }

    fn encode_cursor(&self) -> String {
        page::encode_cursor(self.0)
    }
}

#[derive(SimpleObject)]
pub struct TotalCount {
    total_count: i32,
}

pub type Page<N> = Connection<Cursor, N, TotalCount>;

/// Builds a page from up to `limit()` rows in order, each with its sort key.
pub fn page<N: OutputType>(rows: Vec<(Uuid, N)>, args: &PageArgs, total: u64) -> Page<N> {
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
