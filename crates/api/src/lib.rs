//! Groundwork's API: the GraphQL schema (its admission, the slices' types
//! and resolvers), the HTTP routes around it, metrics and tracing, and the
//! server that runs them.

pub mod error;
pub mod graphql;
pub mod http;
pub mod observability;
pub mod slices;
pub mod telemetry;

// The domain's slices and the kernel's modules, under the paths the API
// (and the tests) name them by; a slice added to the domain is here too.
pub use groundwork_domain::*;

use std::{future::Future, net::SocketAddr, ops::Deref, sync::Arc, time::Duration};

use axum::Router;
use tokio::net::TcpListener;

use crate::{config::Config, graphql::AppSchema};

/// What every handler shares: the core and the schema built on it.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub metrics: observability::Metrics,
    pub schema: AppSchema,
    /// Documents registered by automatic persisted queries.
    pub apq: Arc<graphql::admission::ApqCache>,
}

impl Deref for AppState {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl AppState {
    pub fn new(core: Core, metrics: observability::Metrics) -> Self {
        let core = Arc::new(core);
        let apq = Arc::new(graphql::admission::ApqCache::new(
            core.config.graphql.apq_cache_size,
        ));
        // Telemetry goes first, outermost, so it records each request as
        // admission finally answers it, codes included.
        let builder = graphql::builder().extension(observability::graphql::GraphqlTelemetry::new(
            metrics.clone(),
        ));
        let schema = graphql::with_limits(builder, &core.config.graphql, apq.clone())
            .data(core.clone())
            .finish();
        Self {
            core,
            metrics,
            schema,
            apq,
        }
    }

    /// Starts the background workers: the core's, and the metrics' upkeep.
    pub fn spawn_workers(&self) {
        self.core.spawn_workers();
        tokio::spawn(observability::run_upkeep(
            self.metrics.clone(),
            self.shutdown.clone(),
        ));
    }
}

/// The router with every route and middleware, ready to serve.
pub fn build_app(state: AppState) -> Router {
    http::router(state)
}

/// The core for a command-line task: connected, migrated, no server.
pub async fn core_for_cli(config: Config) -> Result<Core, StartError> {
    let (db, statements) = db::connect_counted(&config)
        .await
        .map_err(StartError::Database)?;
    db::migrate_up(&db).await.map_err(StartError::Migrations)?;
    Core::new(
        config,
        db,
        statements,
        slices::METERED,
        Arc::new(auth::passwords::Unobserved),
    )
    .await
}

/// A server bound to its address, not yet accepting requests.
pub struct Server {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Server {
    /// Connects to the database, applies pending migrations when asked, and
    /// binds `BIND_ADDR` (port 0 picks a free port).
    pub async fn build(mut config: Config, migrate: bool) -> Result<Self, StartError> {
        let (db, statements) = db::connect_counted(&config)
            .await
            .map_err(StartError::Database)?;
        if migrate {
            db::migrate_up(&db).await.map_err(StartError::Migrations)?;
        }
        let addr = config.bind_addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        // A PUBLIC_URL derived from a BIND_ADDR with port 0 names the port
        // actually bound, so links back to this server (OAuth callbacks) work.
        if config.public_url == format!("http://{addr}")
            && let Ok(bound) = listener.local_addr()
        {
            config.public_url = format!("http://{bound}");
        }
        let metrics = observability::Metrics::new(
            config.metrics,
            config.metrics_max_operation_names,
            db.clone(),
            statements.clone(),
        );
        let hashing = Arc::new(metrics.clone());
        let core = Core::new(config, db, statements, slices::METERED, hashing).await?;
        let state = AppState::new(core, metrics);
        state.spawn_workers();
        Ok(Self {
            listener,
            router: build_app(state.clone()),
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Adds routes beside the application's own (tests mount probes this way).
    pub fn merge(mut self, extra: Router) -> Self {
        self.router = self.router.merge(extra);
        self
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests
    /// in flight finish for up to `SHUTDOWN_GRACE_SECONDS`, and returns.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let token = self.state.shutdown.clone();
        let grace = self.state.config.shutdown_grace;
        let signal = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            signal.cancel();
        });
        let timeouts = &self.state.config.http_timeouts;
        let deadlines = http::serve::Deadlines {
            header: timeouts.header,
            write: timeouts.write,
        };
        let serve = http::serve::serve(self.listener, self.router, deadlines, token.clone());
        let deadline = async {
            token.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = serve => {}
            () = deadline => {
                tracing::warn!(?grace, "requests still open after the grace period; stopping anyway");
            }
        }
        // Closing talks to the database, which may be the thing that hangs.
        let close = self.state.db.close_by_ref();
        if tokio::time::timeout(Duration::from_secs(5), close)
            .await
            .is_err()
        {
            tracing::warn!("the database did not answer while closing its connections");
        }
        tracing::info!("server stopped");
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
