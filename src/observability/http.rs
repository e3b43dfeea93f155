//! HTTP traffic: requests in flight and responses by status class.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};

use super::Metrics;

pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let _in_flight = metrics.http_request_started();
    let response = next.run(request).await;
    metrics.http_response(response.status());
    response
}
