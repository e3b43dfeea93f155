//! Prometheus metrics for `/metrics`: GraphQL operations, HTTP traffic, the
//! database pool, SQL statements, WebSockets and subscriptions.
//!
//! Each server owns its registry instead of installing a process-wide
//! recorder, so servers sharing a process (the tests) report only their own
//! traffic. Recording goes through `metrics::with_local_recorder`, which
//! keeps the `metrics` macros usable without a global.

pub mod graphql;
pub mod http;

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
    with_local_recorder,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::db::StatementCounter;

pub const GRAPHQL_REQUESTS: &str = "groundwork_graphql_requests_total";
pub const GRAPHQL_DURATION: &str = "groundwork_graphql_request_duration_seconds";
pub const GRAPHQL_STATEMENTS: &str = "groundwork_graphql_request_sql_statements";
pub const HTTP_IN_FLIGHT: &str = "groundwork_http_requests_in_flight";
pub const HTTP_RESPONSES: &str = "groundwork_http_responses_total";
pub const SQL_STATEMENTS: &str = "groundwork_sql_statements_total";
pub const POOL_CONNECTIONS: &str = "groundwork_db_pool_connections";
pub const POOL_IDLE: &str = "groundwork_db_pool_idle_connections";
pub const POOL_IN_USE: &str = "groundwork_db_pool_in_use_connections";
pub const POOL_MAX: &str = "groundwork_db_pool_max_connections";
pub const WEBSOCKET_CONNECTIONS: &str = "groundwork_websocket_connections";
pub const SUBSCRIPTIONS: &str = "groundwork_graphql_subscriptions_active";
pub const PASSWORD_HASHES: &str = "groundwork_password_hashes_total";
pub const PASSWORD_QUEUE: &str = "groundwork_password_hash_queue";
pub const PASSWORD_REFUSED: &str = "groundwork_password_hashes_refused_total";

/// The outcome label of an operation without errors.
pub const OK: &str = "OK";
/// The operation label of a document whose operation has no name.
pub const ANONYMOUS: &str = "anonymous";
/// The label of any name past the limit or of an unusual shape.
pub const OTHER: &str = "other";

/// Seconds; GraphQL operations range from sub-millisecond reads to
/// password hashing and Stripe calls of a second or more.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Statements per operation: a batched dashboard takes about ten, so the
/// upper buckets show N+1 patterns.
const STATEMENT_BUCKETS: &[f64] = &[0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0];

/// The server's metrics; cheap to clone. Disabled (`METRICS=off`), every
/// recording is a no-op, so nothing accumulates that no one will scrape.
#[derive(Clone)]
pub struct Metrics(Option<Arc<Registry>>);

struct Registry {
    recorder: PrometheusRecorder,
    operation_names: OperationNames,
    db: DatabaseConnection,
    statements: StatementCounter,
}

impl Metrics {
    pub fn new(
        enabled: bool,
        max_operation_names: usize,
        db: DatabaseConnection,
        statements: StatementCounter,
    ) -> Self {
        if !enabled {
            return Self(None);
        }
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(GRAPHQL_DURATION.into()), DURATION_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(GRAPHQL_STATEMENTS.into()),
                    STATEMENT_BUCKETS,
                )
            })
            .expect("bucket lists are not empty")
            .build_recorder();
        with_local_recorder(&recorder, describe_all);
        Self(Some(Arc::new(Registry {
            recorder,
            operation_names: OperationNames::new(max_operation_names),
            db,
            statements,
        })))
    }

    /// Metrics that record nothing (`METRICS=off`, and unit tests).
    pub fn disabled() -> Self {
        Self(None)
    }

    /// Runs `record` against this server's registry, when metrics are on.
    fn record(&self, record: impl FnOnce(&Registry)) {
        if let Some(registry) = &self.0 {
            with_local_recorder(&registry.recorder, || record(registry));
        }
    }

    /// One GraphQL operation ended. `statements` is None where the count is
    /// not known (operations over WebSocket).
    pub fn graphql_operation(
        &self,
        name: Option<&str>,
        code: &str,
        elapsed: Duration,
        statements: Option<u64>,
    ) {
        self.record(|r| {
            let operation = r.operation_names.label(name);
            let code = code_label(code);
            let labels = [("operation", operation.clone()), ("code", code)];
            counter!(GRAPHQL_REQUESTS, &labels).increment(1);
            histogram!(GRAPHQL_DURATION, &labels).record(elapsed.as_secs_f64());
            if let Some(statements) = statements {
                histogram!(GRAPHQL_STATEMENTS, "operation" => operation).record(statements as f64);
            }
        });
    }

    /// Counts an HTTP request in flight until the guard is dropped, which
    /// also covers requests whose client went away mid-way.
    pub fn http_request_started(&self) -> GaugeGuard {
        GaugeGuard::open(self.clone(), HTTP_IN_FLIGHT)
    }

    pub fn http_response(&self, status: ::http::StatusCode) {
        let class = match status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.record(|_| counter!(HTTP_RESPONSES, "class" => class).increment(1));
    }

    /// Counts an open WebSocket until the guard is dropped.
    pub fn websocket_opened(&self) -> GaugeGuard {
        GaugeGuard::open(self.clone(), WEBSOCKET_CONNECTIONS)
    }

    /// Counts an active subscription until the guard is dropped.
    pub fn subscription_started(&self) -> GaugeGuard {
        GaugeGuard::open(self.clone(), SUBSCRIPTIONS)
    }

    /// Drains histogram samples into their buckets; without a scrape now
    /// and then they would pile up, so a worker calls this periodically.
    pub fn upkeep(&self) {
        if let Some(registry) = &self.0 {
            registry.recorder.handle().run_upkeep();
        }
    }

    /// The Prometheus text exposition, with the figures that are sampled
    /// rather than recorded (pool, statement total) read now. None when
    /// metrics are off.
    pub fn render(&self) -> Option<String> {
        let registry = self.0.as_ref()?;
        with_local_recorder(&registry.recorder, || {
            counter!(SQL_STATEMENTS).absolute(registry.statements.get());
            if let Some(pool) = PoolFigures::of(&registry.db) {
                gauge!(POOL_CONNECTIONS).set(pool.size);
                gauge!(POOL_IDLE).set(pool.idle);
                gauge!(POOL_IN_USE).set(pool.size.saturating_sub(pool.idle));
                gauge!(POOL_MAX).set(pool.max);
            }
        });
        Some(registry.recorder.handle().render())
    }
}

/// Keeps histograms drained between scrapes until `shutdown`.
pub async fn run_upkeep(metrics: Metrics, shutdown: tokio_util::sync::CancellationToken) {
    if metrics.0.is_none() {
        return;
    }
    let mut every = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = every.tick() => metrics.upkeep(),
            () = shutdown.cancelled() => return,
        }
    }
}

fn describe_all() {
    describe_counter!(
        GRAPHQL_REQUESTS,
        "GraphQL operations by operation name and outcome (the first error's extensions.code, or OK)."
    );
    describe_histogram!(
        GRAPHQL_DURATION,
        metrics::Unit::Seconds,
        "Time from receiving a GraphQL operation to its response."
    );
    describe_histogram!(
        GRAPHQL_STATEMENTS,
        "SQL statements one GraphQL operation ran, its batched loads included."
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being served.");
    describe_counter!(HTTP_RESPONSES, "HTTP responses by status class.");
    describe_counter!(SQL_STATEMENTS, "SQL statements run by this process.");
    describe_gauge!(POOL_CONNECTIONS, "Open connections of the database pool.");
    describe_gauge!(POOL_IDLE, "Open connections not lent to anyone.");
    describe_gauge!(
        POOL_IN_USE,
        "Connections lent out; at the maximum, further statements wait."
    );
    describe_gauge!(POOL_MAX, "The pool's maximum number of connections.");
    describe_gauge!(
        WEBSOCKET_CONNECTIONS,
        "Open WebSocket connections on /graphql/ws."
    );
    describe_gauge!(SUBSCRIPTIONS, "GraphQL subscriptions running.");
    describe_counter!(
        PASSWORD_HASHES,
        "Password hashes and checks computed (argon2id, 19 MiB each)."
    );
    describe_gauge!(
        PASSWORD_QUEUE,
        "Password operations waiting for a hashing slot."
    );
    describe_counter!(
        PASSWORD_REFUSED,
        "Password operations refused with RATE_LIMITED because the hashing queue was full."
    );
}

/// Keeps a gauge one higher while it lives.
/// Password hashing's figures: computations, refusals, the queue.
impl crate::auth::passwords::HashingObserver for Metrics {
    fn hashed(&self) {
        self.record(|_| counter!(PASSWORD_HASHES).increment(1));
    }

    fn refused(&self) {
        self.record(|_| counter!(PASSWORD_REFUSED).increment(1));
    }

    fn queued(&self) -> Box<dyn Send> {
        Box::new(GaugeGuard::open(self.clone(), PASSWORD_QUEUE))
    }
}

pub struct GaugeGuard {
    metrics: Metrics,
    name: &'static str,
}

impl GaugeGuard {
    fn open(metrics: Metrics, name: &'static str) -> Self {
        metrics.record(|_| gauge!(name).increment(1.0));
        Self { metrics, name }
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        let name = self.name;
        self.metrics.record(|_| gauge!(name).decrement(1.0));
    }
}

struct PoolFigures {
    size: u32,
    idle: u32,
    max: u32,
}

impl PoolFigures {
    fn of(db: &DatabaseConnection) -> Option<Self> {
        let (size, idle, max) = match db.get_database_backend() {
            DbBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            _ => return None,
        };
        Some(Self {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max,
        })
    }
}

/// Operation names as labels. Clients choose them, so only plain names are
/// used, and only the first `max` distinct ones: a client sending a new
/// name with every request must not grow the number of series without end.
struct OperationNames {
    max: usize,
    seen: Mutex<HashSet<String>>,
}

impl OperationNames {
    fn new(max: usize) -> Self {
        Self {
            max,
            seen: Mutex::new(HashSet::new()),
        }
    }

    fn label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return ANONYMOUS.to_owned();
        };
        if !is_plain_name(name) {
            return OTHER.to_owned();
        }
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.contains(name) {
            return name.to_owned();
        }
        if seen.len() < self.max {
            seen.insert(name.to_owned());
            return name.to_owned();
        }
        OTHER.to_owned()
    }
}

/// `[A-Za-z0-9_]{1,64}`: every GraphQL name of a sensible length, and
/// nothing a label would need escaped.
fn is_plain_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Codes come from the server, but a resolver could set anything, so only
/// plain ones are passed through.
fn code_label(code: &str) -> String {
    if is_plain_name(code) {
        code.to_owned()
    } else {
        OTHER.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        let names = OperationNames::new(2);
        assert_eq!(names.label(Some("Dashboard")), "Dashboard");
        assert_eq!(names.label(None), ANONYMOUS);
        assert_eq!(names.label(Some("has space")), OTHER);
        assert_eq!(names.label(Some(&"x".repeat(65))), OTHER);
        assert_eq!(names.label(Some("Second")), "Second");
        assert_eq!(names.label(Some("Third")), OTHER);
        assert_eq!(names.label(Some("Dashboard")), "Dashboard");
    }
}
