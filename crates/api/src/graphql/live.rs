//! Helpers for subscription streams.

use futures_util::{Stream, StreamExt};

/// The items of `stream` up to and including its first error, then the
/// end at once: a subscription that fails tells the client why (an error
/// in a `next` message) and completes, instead of going quiet.
pub fn until_error<S, T, E>(stream: S) -> impl Stream<Item = Result<T, E>>
where
    S: Stream<Item = Result<T, E>>,
{
    futures_util::stream::unfold(
        (Box::pin(stream), false),
        |(mut stream, failed)| async move {
            if failed {
                return None;
            }
            let item = stream.next().await?;
            let failed = item.is_err();
            Some((item, (stream, failed)))
        },
    )
}
