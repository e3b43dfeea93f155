//! Groundwork: a GraphQL API server that is the whole backend of a SaaS product.

pub mod access;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod mail;
pub mod observability;
pub mod orgs;
pub mod projects;
pub mod ratelimit;
pub mod seed;
pub mod telemetry;
pub mod text;

use std::{future::Future, net::SocketAddr, ops::Deref, sync::Arc, time::Duration};

use axum::Router;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::passwords::Passwords, config::Config, graphql::AppSchema, mail::Mailer,
    ratelimit::RateLimiter,
};

/// What services need from the running server. Shared by every request, so
/// nothing in here may belong to one user.
pub struct Core {
    pub config: Config,
    pub db: DatabaseConnection,
    pub statements: db::StatementCounter,
    pub metrics: observability::Metrics,
    pub passwords: Passwords,
    pub limiter: RateLimiter,
    pub mailer: Arc<Mailer>,
    /// For calls to OAuth providers; never follows redirects.
    pub http: reqwest::Client,
    pub events: events::EventBus,
    /// The sessions of this process's open WebSockets, which end with them.
    pub live_sessions: auth::live::SessionWatcher,
    /// None without `STRIPE_SECRET_KEY`: billing is off.
    pub stripe: Option<billing::stripe::StripeGateway>,
    /// Wakes the seat worker after a membership change has committed.
    pub seat_sync: tokio::sync::Notify,
    /// Cancelled when the server begins to shut down; background work stops on it.
    pub shutdown: CancellationToken,
}

impl Core {
    /// A write transaction on the core's database (see `db::begin`).
    pub async fn begin(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        db::begin(&self.db).await
    }

    pub async fn new(
        config: Config,
        db: DatabaseConnection,
        statements: db::StatementCounter,
    ) -> Result<Self, StartError> {
        let limiter = match &config.redis_url {
            Some(url) => RateLimiter::redis(url.expose(), config.redis_key_prefix.clone())
                .await
                .map_err(|e| StartError::Service(format!("cannot connect to Redis: {e}")))?,
            None => RateLimiter::Database(db.clone()),
        };
        let mailer = Mailer::from_url(config.mail_url.expose(), &config.mail_from)
            .map_err(StartError::Service)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| StartError::Service(format!("cannot build the HTTP client: {e}")))?;
        let shutdown = CancellationToken::new();
        let events = events::EventBus::start(&db, &config, shutdown.clone());
        let stripe =
            billing::stripe::StripeGateway::new(&config.stripe).map_err(StartError::Service)?;
        let metrics = observability::Metrics::new(
            config.metrics,
            config.metrics_max_operation_names,
            db.clone(),
            statements.clone(),
        );
        let passwords = Passwords::new(
            config.password_hash_concurrency,
            config.password_hash_queue,
            metrics.clone(),
        );
        Ok(Self {
            metrics,
            stripe,
            seat_sync: tokio::sync::Notify::new(),
            events,
            live_sessions: auth::live::SessionWatcher::default(),
            passwords,
            limiter,
            mailer: Arc::new(mailer),
            http,
            shutdown,
            config,
            db,
            statements,
        })
    }
}

/// What every handler shares: the core and the schema built on it.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
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
    pub fn new(core: Core) -> Self {
        let core = Arc::new(core);
        let apq = Arc::new(graphql::admission::ApqCache::new(
            core.config.graphql.apq_cache_size,
        ));
        // Telemetry goes first, outermost, so it records each request as
        // admission finally answers it, codes included.
        let builder = graphql::builder().extension(observability::graphql::GraphqlTelemetry::new(
            core.metrics.clone(),
        ));
        let schema = graphql::with_limits(builder, &core.config.graphql, apq.clone())
            .data(core.clone())
            .finish();
        Self { core, schema, apq }
    }

    /// Starts the background workers (mail outbox, Stripe seats, the session
    /// checks of open WebSockets); they stop when `shutdown` is cancelled.
    pub fn spawn_workers(&self) {
        tokio::spawn(mail::outbox::run_worker(
            self.db.clone(),
            self.mailer.clone(),
            mail::outbox::WorkerSettings {
                poll_interval: self.config.mail_poll_interval,
                retry_base: self.config.mail_retry_base,
                statement_timeout: self.config.database_timeouts.statement,
            },
            self.shutdown.clone(),
        ));
        tokio::spawn(billing::seats::run_worker(self.core.clone()));
        tokio::spawn(self.live_sessions.clone().run(self.core.clone()));
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

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Service(String),
    #[error("cannot connect to the database: {0}")]
    Database(#[source] sea_orm::DbErr),
    #[error("cannot apply migrations: {0}")]
    Migrations(#[source] sea_orm::DbErr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The core for a command-line task: connected, migrated, no server.
pub async fn core_for_cli(config: Config) -> Result<Core, StartError> {
    let (db, statements) = db::connect_counted(&config)
        .await
        .map_err(StartError::Database)?;
    db::migrate_up(&db).await.map_err(StartError::Migrations)?;
    Core::new(config, db, statements).await
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
        let state = AppState::new(Core::new(config, db, statements).await?);
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
