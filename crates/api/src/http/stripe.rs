//! `POST /webhooks/stripe`: the raw body and its signature go to the
//! billing slice, whose verdict becomes the status Stripe acts on.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};

use crate::{AppState, billing::webhook::Delivery};

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match crate::billing::webhook::deliver(&state, &body, signature).await {
        Delivery::NotConfigured => (StatusCode::BAD_REQUEST, "webhooks are not configured"),
        Delivery::Refused => (StatusCode::BAD_REQUEST, "invalid signature or payload"),
        Delivery::Applied => (StatusCode::OK, "ok"),
        Delivery::Acknowledged => (StatusCode::OK, "acknowledged; not applied in full"),
        // Stripe redelivers on any non-2xx answer; nothing was committed.
        Delivery::Failed => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "processing failed; retry later",
        ),
    }
}
