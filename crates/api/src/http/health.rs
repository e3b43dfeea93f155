use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::AppState;

/// The process is up and serving; says nothing of its dependencies.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready for traffic: the database answers, within `READYZ_TIMEOUT` so a
/// database that hangs is reported as one that is down.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if crate::db::ping(&state.db, state.config.http_timeouts.readiness).await {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": "unreachable" })),
        )
    }
}

/// Prometheus text format (the metric names are in the README). Off in
/// production unless `METRICS=on`, since it is not behind authentication.
pub async fn metrics(
    State(state): State<AppState>,
) -> ([(http::HeaderName, &'static str); 1], String) {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render().unwrap_or_default(),
    )
}
