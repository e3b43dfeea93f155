//! Deadlines on each request: its body must arrive within
//! `HTTP_BODY_TIMEOUT` (a client sending a byte now and then holds a
//! connection and a handler otherwise), and the whole request must be
//! answered within `HTTP_REQUEST_TIMEOUT` (whatever it waits on, a hung
//! database included).

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::Sleep;

use crate::{config::HttpTimeouts, error::AppError};

pub async fn limit(State(timeouts): State<HttpTimeouts>, request: Request, next: Next) -> Response {
    let too_slow = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        Body::new(DeadlineBody {
            inner: body,
            deadline: Some(Box::pin(tokio::time::sleep(timeouts.body))),
            too_slow: too_slow.clone(),
        })
    });
    let answered = tokio::time::timeout(timeouts.request, next.run(request)).await;
    if too_slow.load(Ordering::Relaxed) {
        return body_too_slow(timeouts.body);
    }
    match answered {
        Ok(response) => response,
        Err(_) => took_too_long(timeouts.request),
    }
}

/// A request body that fails once its deadline passes before it has
/// arrived in full, and says so through `too_slow`.
struct DeadlineBody {
    inner: Body,
    /// None once the body has ended.
    deadline: Option<Pin<Box<Sleep>>>,
    too_slow: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimeout;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(deadline) = self.deadline.as_mut() else {
            return Poll::Ready(None);
        };
        if deadline.as_mut().poll(cx).is_ready() {
            self.deadline = None;
            self.too_slow.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))));
        }
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if frame.is_none() {
            self.deadline = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.deadline.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// 408, and the connection is closed: what is left of the body is not read.
fn body_too_slow(limit: Duration) -> Response {
    let message = format!("The request body did not arrive within {limit:?}.");
    let mut response = json_error(StatusCode::REQUEST_TIMEOUT, &message, "BAD_REQUEST", None);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// 503 with an `INTERNAL` error whose cause is logged under its id.
fn took_too_long(limit: Duration) -> Response {
    let error =
        AppError::internal(format!("the request was not answered within {limit:?}")).into_graphql();
    let error_id = match error.extensions.as_ref().and_then(|ext| ext.get("errorId")) {
        Some(async_graphql::Value::String(id)) => Some(id.clone()),
        _ => None,
    };
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        &error.message,
        "INTERNAL",
        error_id,
    )
}

fn json_error(status: StatusCode, message: &str, code: &str, error_id: Option<String>) -> Response {
    let mut extensions = serde_json::json!({ "code": code });
    if let Some(id) = error_id {
        extensions["errorId"] = id.into();
    }
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": extensions }] });
    (status, axum::Json(body)).into_response()
}
