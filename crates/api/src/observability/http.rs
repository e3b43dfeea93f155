//! HTTP traffic: requests in flight and responses by status class.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use opentelemetry::trace::Status;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::Metrics;

/// Runs inside the request's span (see `http::router`), so it also gives
/// that span its status for trace export; a no-op when export is off.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let _in_flight = metrics.http_request_started();
    let response = next.run(request).await;
    let status = response.status();
    metrics.http_response(status);
    let span = tracing::Span::current();
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.set_status(Status::error(status.to_string()));
    }
    response
}
