//! Logging (human-readable in development, one JSON object per line in
//! production) and, with `OTEL_EXPORTER_OTLP_ENDPOINT`, trace export.

mod otlp;

use opentelemetry::{
    propagation::TextMapPropagator,
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing::Level;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{DynFilterFn, FilterExt, LevelFilter, Targets},
    fmt,
    prelude::*,
};

use crate::config::{Config, LogFormat};

/// Holds the trace exporter; `shutdown` sends what it still holds.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still queued and stops the exporter. Blocks while
    /// it sends, so call it outside async code, with the runtime still up
    /// (the export runs on it).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warning: exporting the last spans failed: {e}");
        }
    }
}

/// Installs the process's subscriber. With trace export configured this
/// must run inside the Tokio runtime, which the exporter sends on.
pub fn init(config: &Config) -> Result<Telemetry, String> {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match config.log_format {
        LogFormat::Pretty => fmt::layer().with_target(false).boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
    };
    let provider = config
        .otel
        .as_ref()
        .map(otlp::tracer_provider)
        .transpose()?;
    // Spans have their own filter: RUST_LOG quiets logs without losing
    // traces, and only the request, operation and statement spans go out.
    // Statements outside any request (migrations, the mail worker's polls)
    // would each be a trace of one span, every second, so they stay out.
    let traces = provider.as_ref().map(|provider| {
        let ours = Targets::new()
            .with_target("groundwork", Level::INFO)
            .with_target(crate::http::UNTRACED, LevelFilter::OFF)
            .with_target("sea_orm", Level::INFO);
        let within_a_trace = DynFilterFn::new(|meta, cx| {
            !(meta.is_span() && meta.target().starts_with("sea_orm"))
                || cx.lookup_current().is_some()
        });
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("groundwork"))
            // Source files, threads and busy/idle times of every span are
            // noise next to what the spans say themselves.
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_filter(ours.and(within_a_trace))
    });
    let installed = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(traces)
        .try_init();
    // A second init (tests, embedding) keeps the first subscriber, and an
    // exporter that no subscriber feeds is stopped at once.
    if installed.is_err()
        && let Some(provider) = provider
    {
        let _ = provider.shutdown();
        return Ok(Telemetry { provider: None });
    }
    Ok(Telemetry { provider })
}

/// Makes `span` continue the trace of an incoming W3C `traceparent` header,
/// and puts the trace id on it so that every log line of the request shows
/// it. Without trace export this does nothing.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent =
        TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    if parent.span().span_context().is_valid() && span.set_parent(parent).is_err() {
        return;
    }
    let context = span.context();
    let trace_id = context.span().span_context().trace_id();
    if trace_id != opentelemetry::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}
