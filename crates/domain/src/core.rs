//! What services need from the running server: one per process, shared by
//! every request, so nothing in here may belong to one user.

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::config::ExposeSecret;
use crate::{
    auth::{self, passwords::Passwords},
    billing::{
        self,
        plans::{Metered, PlanCatalog},
    },
    config::{Config, ConfigError},
    db,
    events::EventBus,
    mail::Mailer,
    ratelimit::RateLimiter,
};

pub struct Core {
    pub config: Config,
    /// The plan catalog, checked once at start-up.
    pub plans: PlanCatalog,
    /// What plans may limit: every slice's metered resources.
    pub metered: Vec<Metered>,
    pub db: DatabaseConnection,
    pub statements: db::StatementCounter,
    pub passwords: Passwords,
    pub limiter: RateLimiter,
    pub mailer: Arc<Mailer>,
    /// For calls to OAuth providers; never follows redirects.
    pub http: reqwest::Client,
    pub events: EventBus,
    /// The sessions of this process's open WebSockets, which end with them.
    pub live_sessions: auth::live::SessionWatcher,
    /// None without `STRIPE_SECRET_KEY`: billing is off.
    pub stripe: Option<billing::stripe::StripeGateway>,
    /// Wakes the seat worker after a membership change has committed.
    pub seat_sync: tokio::sync::Notify,
    /// Cancelled when the server begins to shut down; background work stops on it.
    pub shutdown: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting that cannot be used; the process exits with status 2.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Service(String),
    #[error("cannot connect to the database: {0}")]
    Database(#[source] sea_orm::DbErr),
    #[error("cannot apply migrations: {0}")]
    Migrations(#[source] sea_orm::DbErr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl Core {
    /// A write transaction on the core's database (see `db::begin`).
    pub async fn begin(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        db::begin(&self.db).await
    }

    /// The core of a server or a command: `metered` are the slices'
    /// metered resources, `hashing` hears of every password hash, for the
    /// server's metrics.
    pub async fn new(
        config: Config,
        db: DatabaseConnection,
        statements: db::StatementCounter,
        metered: &[Metered],
        hashing: Arc<dyn auth::passwords::HashingObserver>,
    ) -> Result<Self, StartError> {
        let plans = PlanCatalog::from_settings(&config.plans, metered)?;
        let limiter = match &config.redis_url {
            Some(url) => RateLimiter::redis(url.expose_secret(), config.redis_key_prefix.clone())
                .await
                .map_err(|e| StartError::Service(format!("cannot connect to Redis: {e}")))?,
            None => RateLimiter::Database(db.clone()),
        };
        let mailer = Mailer::from_url(config.mail_url.expose_secret(), &config.mail_from)
            .map_err(StartError::Service)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| StartError::Service(format!("cannot build the HTTP client: {e}")))?;
        let shutdown = CancellationToken::new();
        let events = EventBus::start(&db, &config, shutdown.clone())
            .await
            .map_err(StartError::Database)?;
        let stripe =
            billing::stripe::StripeGateway::new(&config.stripe).map_err(StartError::Service)?;
        let passwords = Passwords::new(
            config.password_hash_concurrency,
            config.password_hash_queue,
            hashing,
        );
        Ok(Self {
            plans,
            metered: metered.to_vec(),
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

    /// Starts the background workers (mail outbox, Stripe seats, the session
    /// checks of open WebSockets); they stop when `shutdown` is cancelled.
    pub fn spawn_workers(self: &Arc<Self>) {
        tokio::spawn(crate::mail::outbox::run_worker(
            self.db.clone(),
            self.mailer.clone(),
            crate::mail::outbox::WorkerSettings {
                poll_interval: self.config.mail_poll_interval,
                retry_base: self.config.mail_retry_base,
                statement_timeout: self.config.database_timeouts.statement,
            },
            self.shutdown.clone(),
        ));
        tokio::spawn(billing::seats::run_worker(self.clone()));
        tokio::spawn(self.live_sessions.clone().run(self.clone()));
    }
}
