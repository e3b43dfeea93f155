//! The HTTP surface: routes and the middleware every request passes through.

pub mod cookies;
mod deadline;
mod graphiql;
mod graphql;
mod health;
mod oauth;
pub mod serve;
mod stripe;
mod websocket;

use std::time::Duration;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, Request, header},
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};

use crate::{AppState, actor::RequestMeta, config::Config};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The client's address and user agent. Behind `TRUSTED_PROXY_HOPS`
/// proxies, the address is the one the outermost trusted proxy saw, read
/// from the right of `X-Forwarded-For`, where a client cannot forge it.
pub fn request_meta<B>(config: &Config, request: &Request<B>) -> RequestMeta {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let ip = if config.trusted_proxy_hops == 0 {
        peer
    } else {
        let forwarded: Vec<String> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        // The entry is stored with sessions and shown back; only an address is.
        forwarded
            .len()
            .checked_sub(config.trusted_proxy_hops)
            .and_then(|i| forwarded.get(i))
            .and_then(|s| s.parse::<std::net::IpAddr>().ok())
            .map(|ip| ip.to_string())
            .or(peer)
    };
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect());
    RequestMeta { ip, user_agent }
}

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let mut routes = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(websocket::websocket))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/webhooks/stripe", axum::routing::post(stripe::receive))
        .merge(oauth::routes());
    if config.metrics {
        routes = routes.route("/metrics", get(health::metrics));
    }
    if config.graphql.graphiql {
        routes = routes.merge(graphiql::routes());
    }

    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let export_traces = config.otel.is_some();
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &Request<_>| request_span(request, export_traces))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::observability::http::track,
        ))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(cors(&config))
        .layer(axum::middleware::from_fn_with_state(
            config.http_timeouts.clone(),
            deadline::limit,
        ))
        .layer(CompressionLayer::new())
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CatchPanicLayer::custom(panic_response));

    routes.with_state(state).layer(middleware)
}

/// The target of the spans of health checks and metric scrapes: logged
/// like any request but never exported, since they come every few seconds
/// and as traces would bury the requests worth seeing.
pub const UNTRACED: &str = "groundwork::http::untraced";

/// The span of one request: every log line of the request carries its
/// fields. With trace export on it is the trace's server span, continuing
/// the caller's trace when a `traceparent` header names one.
fn request_span<B>(request: &Request<B>, export_traces: bool) -> tracing::Span {
    macro_rules! span {
        ($target:expr) => {
            tracing::info_span!(
                target: $target,
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %request
                    .headers()
                    .get(REQUEST_ID_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default(),
                trace_id = tracing::field::Empty,
                otel.name = tracing::field::Empty,
                otel.kind = tracing::field::Empty,
            )
        };
    }
    // Routes, not paths, name spans: /auth/github/start and
    // /auth/google/start are one kind of request.
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("", |p| p.as_str());
    if matches!(route, "/healthz" | "/readyz" | "/metrics") {
        return span!(UNTRACED);
    }
    let span = span!("groundwork::http");
    if export_traces {
        span.record(
            "otel.name",
            format!("{} {route}", request.method()).trim_end(),
        );
        span.record("otel.kind", "server");
        crate::telemetry::continue_trace(&span, request.headers());
    }
    span
}

/// Browsers may call the API with credentials from the frontend's origin and
/// from each configured one; everything else gets no CORS headers. Scripts
/// may read the request id, so a frontend can show it next to an error.
fn cors(config: &crate::config::Config) -> CorsLayer {
    let mut origins: Vec<HeaderValue> = config
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if let Ok(app) = HeaderValue::from_str(&crate::config::origin_of(&config.app_url)) {
        origins.push(app);
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(config.cors_allowed_headers.clone())
        .expose_headers([HeaderName::from_static(REQUEST_ID_HEADER)])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

/// A panic becomes a bare 500: its message may hold anything and stays in the log.
fn panic_response(
    panic: Box<dyn std::any::Any + Send + 'static>,
) -> axum::http::Response<axum::body::Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "request handler panicked");
    axum::http::Response::builder()
        .status(500)
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(
            r#"{"errors":[{"message":"Internal error.","extensions":{"code":"INTERNAL"}}]}"#,
        ))
        .expect("static response")
}
