//! Typed settings read from the environment (and a `.env` file when present).
//!
//! Every variable is parsed here, once, at start-up: a bad value stops the
//! process with one line naming the variable, instead of failing later in a
//! request.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

mod env;
mod graphql;
mod oauth;
mod timeouts;

use env::Env;
pub use env::parse_duration;
pub use graphql::{GraphqlLimits, PersistedDocuments, PersistedMode};
use oauth::oauth_providers;
pub use timeouts::{DatabaseTimeouts, HttpTimeouts, LiveChecks};

/// A secret value (a key, a URL with a password): usable by the code that
/// needs it through `expose_secret`, and printed as `[REDACTED]`.
pub use secrecy::{ExposeSecret, SecretString as Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// At most `max` attempts per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// A sign-in provider configured by `OAUTH_<NAME>_*`.
#[derive(Debug, Clone)]
pub struct OAuthProviderConfig {
    /// Lower-case name, as in `/auth/{name}/start`.
    pub name: String,
    pub kind: OAuthKind,
    pub client_id: String,
    pub client_secret: Secret,
    pub auth_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    /// GitHub only: where private addresses are listed.
    pub emails_url: Option<String>,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthKind {
    Github,
    /// OpenID Connect userinfo (`sub`, `email`, `email_verified`, `name`, `picture`): Google and generic providers.
    OpenId,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: Secret,
    pub database_max_connections: Option<u32>,
    pub database_timeouts: DatabaseTimeouts,
    pub http_timeouts: HttpTimeouts,
    pub bind_addr: SocketAddr,
    pub app_env: AppEnv,
    pub public_url: String,
    pub app_url: String,
    pub cors_origins: Vec<String>,
    /// Request headers browsers may send cross-origin: the defaults and
    /// `CORS_ALLOWED_HEADERS`, lower-case, each once.
    pub cors_allowed_headers: Vec<http::HeaderName>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub max_body_bytes: usize,
    pub shutdown_grace: Duration,
    pub graphql: GraphqlLimits,
    /// How long a WebSocket may stay open without `connection_init`.
    pub ws_connection_init_timeout: Duration,
    /// How often an open WebSocket is sent a ping frame, so proxies and
    /// load balancers that close idle connections keep quiet subscriptions.
    pub ws_ping_interval: Duration,
    pub live_checks: LiveChecks,
    /// The live event log: retention, polling, pruning.
    pub live_events: crate::events::LogSettings,
    /// A direct connection for LISTEN when `DATABASE_URL` goes through a
    /// pooler in transaction mode; None: `DATABASE_URL`.
    pub database_listen_url: Option<Secret>,
    /// Signs short-lived cookies (OAuth state). Random per process in
    /// development when unset; required in production.
    pub secret_key: Secret,
    pub trusted_proxy_hops: usize,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    /// Password hashes computed at once; each holds 19 MiB.
    pub password_hash_concurrency: usize,
    /// Password operations that may wait for a hashing slot; more are refused.
    pub password_hash_queue: usize,
    /// Failed password checks per account.
    pub signin_account_limit: Limit,
    /// Failed password checks per client address.
    pub signin_ip_limit: Limit,
    pub signup_ip_limit: Limit,
    /// Password hashes and checks per account, whatever their outcome.
    pub password_account_limit: Limit,
    pub redis_url: Option<Secret>,
    pub redis_key_prefix: String,
    pub mail_url: Secret,
    pub mail_from: String,
    pub mail_poll_interval: Duration,
    pub mail_retry_base: Duration,
    pub oauth_providers: Vec<OAuthProviderConfig>,
    pub invitation_ttl: Duration,
    /// Where the plan catalog comes from; the billing slice reads it.
    pub plans: PlanSettings,
    /// How long a PAST_DUE subscription keeps its plan.
    pub billing_grace_period: Duration,
    /// Serve `/metrics`.
    pub metrics: bool,
    /// Distinct operation names kept as metric labels; later ones are `other`.
    pub metrics_max_operation_names: usize,
    /// Trace export over OTLP; None without `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub otel: Option<OtelConfig>,
    pub stripe: StripeConfig,
}

/// The plan catalog's sources: a TOML file replacing the built-in catalog,
/// and Stripe price ids laid over either.
#[derive(Debug, Clone, Default)]
pub struct PlanSettings {
    pub file: Option<PlansFile>,
    /// `STRIPE_PRICE_<PLAN>_<MONTH|YEAR>` variables and their values.
    pub stripe_prices: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct PlansFile {
    pub path: String,
    pub text: String,
}

/// Where and how spans are exported (OTLP over HTTP).
#[derive(Debug, Clone)]
pub struct OtelConfig {
    /// The collector's base URL; spans go to `{endpoint}/v1/traces`.
    pub endpoint: String,
    pub service_name: String,
    pub protocol: OtlpProtocol,
    /// Longest a finished span waits before its batch is sent.
    pub batch_delay: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    HttpProtobuf,
    HttpJson,
}

/// Stripe: without a secret key, billing mutations answer BILLING_DISABLED
/// and organizations live on the free plan and manual grants.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub secret_key: Option<Secret>,
    pub webhook_secret: Option<Secret>,
    /// Stripe's API, or a fake in tests.
    pub api_base: String,
    pub success_url: String,
    pub cancel_url: String,
    pub portal_return_url: String,
    /// How often the seat worker pushes member counts to Stripe, and the
    /// first retry delay after Stripe could not be reached.
    pub seat_sync_interval: Duration,
    pub seat_sync_retry_base: Duration,
}

/// A setting that could not be used: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

/// Default waiting password operations per hashing slot.
pub const PASSWORD_HASH_QUEUE_PER_SLOT: usize = 128;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/groundwork.db?mode=rwc";

/// Request headers every allowed origin may send: the API's own, W3C trace
/// context and Sentry tracing, and what Apollo Client and Apollo's CSRF
/// prevention send, so common frontends work without configuration.
pub const DEFAULT_CORS_ALLOWED_HEADERS: [&str; 12] = [
    "content-type",
    "authorization",
    "accept",
    "x-request-id",
    "traceparent",
    "tracestate",
    "baggage",
    "sentry-trace",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
];

impl Config {
    /// Reads the process environment, after loading `.env` if there is one
    /// (variables already set win over the file).
    pub fn from_env() -> Result<Self, ConfigError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(ConfigError {
                    var: ".env".into(),
                    problem: e.to_string(),
                });
            }
        }
        Self::from_vars(&std::env::vars().collect())
    }

    /// Builds the settings from a set of variables; tests pass their own.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Env(vars);
        let app_env = match env.get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                return Err(env.bad(
                    "APP_ENV",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };
        let dev = app_env == AppEnv::Development;

        let bind_addr = env.parse("BIND_ADDR", "127.0.0.1:8080".parse().expect("valid"))?;
        let database_url = env
            .get("DATABASE_URL")
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        check_database_url(&database_url).map_err(|p| env.bad("DATABASE_URL", p))?;

        let public_url = match env.get("PUBLIC_URL") {
            Some(url) => url,
            None => format!("http://{bind_addr}"),
        };
        let public_url = check_http_url(&public_url).map_err(|p| env.bad("PUBLIC_URL", p))?;
        let app_url = env
            .get("APP_URL")
            .unwrap_or_else(|| "http://localhost:3000".to_owned());
        let app_url = check_http_url(&app_url).map_err(|p| env.bad("APP_URL", p))?;

        let mut cors_origins = Vec::new();
        for origin in env.get("CORS_ORIGINS").unwrap_or_default().split(',') {
            let origin = origin.trim();
            if origin.is_empty() {
                continue;
            }
            let origin = check_origin(origin).map_err(|p| env.bad("CORS_ORIGINS", p))?;
            cors_origins.push(origin);
        }
        let cors_allowed_headers = cors_allowed_headers(env.get("CORS_ALLOWED_HEADERS"))
            .map_err(|p| env.bad("CORS_ALLOWED_HEADERS", p))?;

        let log_format = match env.get("LOG_FORMAT").as_deref() {
            None => {
                if dev {
                    LogFormat::Pretty
                } else {
                    LogFormat::Json
                }
            }
            Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(env.bad(
                    "LOG_FORMAT",
                    format!("expected pretty or json, got {other:?}"),
                ));
            }
        };

        let max_connections = env.parse_opt::<u32>("DATABASE_MAX_CONNECTIONS")?;
        if max_connections == Some(0) {
            return Err(env.bad("DATABASE_MAX_CONNECTIONS", "must be at least 1".into()));
        }

        let graphql = graphql::limits(&env, dev)?;

        let secret_key = match env.get("SECRET_KEY") {
            Some(key) if key.len() >= 32 => Secret::from(key),
            Some(_) => return Err(env.bad("SECRET_KEY", "must be at least 32 characters".into())),
            None if dev => Secret::from(crate::crypto::random_token()),
            None => {
                return Err(env.bad(
                    "SECRET_KEY",
                    "required when APP_ENV=production (32 or more random characters)".into(),
                ));
            }
        };
        let default_mail = if dev { "log" } else { "" };
        let mail_url = env
            .get("MAIL_URL")
            .unwrap_or_else(|| default_mail.to_owned());
        check_mail_url(&mail_url).map_err(|p| env.bad("MAIL_URL", p))?;
        let mail_from = env
            .get("MAIL_FROM")
            .unwrap_or_else(|| "Groundwork <no-reply@localhost>".to_owned());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(env.bad(
                "MAIL_FROM",
                format!("not a mailbox like \"Name <addr@example.com>\": {mail_from:?}"),
            ));
        }
        let redis_url = match env.get("REDIS_URL") {
            None => None,
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Some(Secret::from(url))
            }
            Some(_) => return Err(env.bad("REDIS_URL", "expected redis://HOST:PORT".into())),
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // Hashing on more cores than this buys throughput few servers need
        // at 19 MiB a hash.
        let password_hash_concurrency =
            env.parse_positive("PASSWORD_HASH_CONCURRENCY", cores.min(4))?;

        Ok(Self {
            secret_key,
            trusted_proxy_hops: env.parse("TRUSTED_PROXY_HOPS", 0)?,
            session_idle_timeout: env.duration("SESSION_IDLE_TIMEOUT", "7d")?,
            session_absolute_timeout: env.duration("SESSION_ABSOLUTE_TIMEOUT", "30d")?,
            password_hash_concurrency,
            // A few seconds of hashing: long enough for a burst of sign-ins
            // to be served, short of the GraphQL timeout.
            password_hash_queue: env.parse(
                "PASSWORD_HASH_QUEUE",
                PASSWORD_HASH_QUEUE_PER_SLOT * password_hash_concurrency,
            )?,
            signin_account_limit: env.limit("RATE_LIMIT_SIGNIN_ACCOUNT", "5/15m")?,
            signin_ip_limit: env.limit("RATE_LIMIT_SIGNIN_IP", "50/15m")?,
            signup_ip_limit: env.limit("RATE_LIMIT_SIGNUP_IP", "20/1h")?,
            password_account_limit: env.limit("RATE_LIMIT_PASSWORD_ACCOUNT", "20/15m")?,
            redis_url,
            redis_key_prefix: env
                .get("REDIS_KEY_PREFIX")
                .unwrap_or_else(|| "groundwork:".to_owned()),
            mail_url: Secret::from(mail_url),
            mail_from,
            mail_poll_interval: env.duration("MAIL_POLL_INTERVAL", "1s")?,
            mail_retry_base: env.duration("MAIL_RETRY_BASE", "10s")?,
            oauth_providers: oauth_providers(&env)?,
            invitation_ttl: env.duration("INVITATION_TTL", "7d")?,
            plans: plan_settings(&env)?,
            billing_grace_period: env.duration("BILLING_GRACE_PERIOD", "7d")?,
            metrics: env.switch("METRICS", dev)?,
            metrics_max_operation_names: env.parse_positive("METRICS_MAX_OPERATION_NAMES", 100)?,
            otel: otel(&env)?,
            stripe: StripeConfig {
                secret_key: env.get("STRIPE_SECRET_KEY").map(Secret::from),
                webhook_secret: env.get("STRIPE_WEBHOOK_SECRET").map(Secret::from),
                api_base: check_http_url(
                    &env.get("STRIPE_API_BASE")
                        .unwrap_or_else(|| "https://api.stripe.com".to_owned()),
                )
                .map_err(|p| env.bad("STRIPE_API_BASE", p))?
                    + "/",
                success_url: env
                    .get("BILLING_SUCCESS_URL")
                    .unwrap_or_else(|| format!("{app_url}/billing?checkout=success")),
                cancel_url: env
                    .get("BILLING_CANCEL_URL")
                    .unwrap_or_else(|| format!("{app_url}/billing?checkout=canceled")),
                portal_return_url: env
                    .get("BILLING_RETURN_URL")
                    .unwrap_or_else(|| format!("{app_url}/billing")),
                seat_sync_interval: env.duration("SEAT_SYNC_INTERVAL", "30s")?,
                seat_sync_retry_base: env.duration("SEAT_SYNC_RETRY_BASE", "30s")?,
            },
            database_url: Secret::from(database_url),
            database_max_connections: max_connections,
            database_timeouts: timeouts::database(&env)?,
            http_timeouts: timeouts::http(&env)?,
            bind_addr,
            app_env,
            public_url,
            app_url,
            cors_origins,
            cors_allowed_headers,
            log_format,
            log_level: env.get("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
            max_body_bytes: env.parse_positive("MAX_BODY_BYTES", 1024 * 1024)?,
            shutdown_grace: Duration::from_secs(env.parse("SHUTDOWN_GRACE_SECONDS", 30)?),
            graphql,
            ws_connection_init_timeout: env.duration("WS_CONNECTION_INIT_TIMEOUT", "10s")?,
            ws_ping_interval: env.duration("WS_PING_INTERVAL", "30s")?,
            live_checks: timeouts::live(&env)?,
            live_events: crate::events::LogSettings {
                retention: env.duration("LIVE_EVENTS_RETENTION", "24h")?,
                poll_interval: env.duration("LIVE_EVENTS_POLL_INTERVAL", "1s")?,
                prune_interval: env.duration("LIVE_EVENTS_PRUNE_INTERVAL", "10m")?,
            },
            database_listen_url: match env.get("DATABASE_LISTEN_URL") {
                None => None,
                Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                    Some(Secret::from(url))
                }
                Some(_) => {
                    return Err(env.bad(
                        "DATABASE_LISTEN_URL",
                        "expected postgres://USER@HOST:PORT/DB, a direct connection".into(),
                    ));
                }
            },
        })
    }

    /// The connection LISTEN uses: `DATABASE_LISTEN_URL`, else `DATABASE_URL`.
    pub fn database_listen_url(&self) -> &str {
        self.database_listen_url
            .as_ref()
            .unwrap_or(&self.database_url)
            .expose_secret()
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// Whether `origin` is the frontend's (`APP_URL`) or one of `CORS_ORIGINS`.
    pub fn is_frontend_origin(&self, origin: &str) -> bool {
        origin == origin_of(&self.app_url) || self.cors_origins.iter().any(|o| o == origin)
    }
}

fn check_mail_url(url: &str) -> Result<(), String> {
    if url == "log" {
        return Ok(());
    }
    if let Some(dir) = url.strip_prefix("file:") {
        return if dir.is_empty() {
            Err("file: needs a folder, as in file:./mail".into())
        } else {
            Ok(())
        };
    }
    if url.is_empty() {
        return Err("required when APP_ENV=production: smtp://USER:PASS@HOST:PORT, smtps://…, file:DIR or log".into());
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("malformed URL: {e}"))?;
    match parsed.scheme() {
        "smtp" | "smtps" if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        _ => Err("expected smtp://USER:PASS@HOST:PORT, smtps://…, file:DIR or log".into()),
    }
}

/// `PLANS_FILE`, read now so that a file that cannot be read stops
/// start-up naming the variable, and every `STRIPE_PRICE_<PLAN>_<INTERVAL>`.
fn plan_settings(env: &Env) -> Result<PlanSettings, ConfigError> {
    let file = match env.get("PLANS_FILE") {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| env.bad("PLANS_FILE", format!("cannot read {path}: {e}")))?;
            Some(PlansFile { path, text })
        }
    };
    let mut stripe_prices: Vec<(String, String)> = env
        .0
        .iter()
        .filter(|(k, _)| k.starts_with("STRIPE_PRICE_"))
        .filter_map(|(k, _)| Some((k.clone(), env.get(k)?)))
        .collect();
    stripe_prices.sort();
    Ok(PlanSettings {
        file,
        stripe_prices,
    })
}

/// The OpenTelemetry settings, under their standard variable names.
fn otel(env: &Env) -> Result<Option<OtelConfig>, ConfigError> {
    let Some(endpoint) = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") else {
        return Ok(None);
    };
    let endpoint =
        check_http_url(&endpoint).map_err(|p| env.bad("OTEL_EXPORTER_OTLP_ENDPOINT", p))?;
    let protocol = match env.get("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
        None | Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
        Some("http/json") => OtlpProtocol::HttpJson,
        Some(other) => {
            return Err(env.bad(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                format!("expected http/protobuf or http/json, got {other:?}"),
            ));
        }
    };
    // Milliseconds, as the OpenTelemetry specification defines it.
    let delay_ms: u64 = env.parse("OTEL_BSP_SCHEDULE_DELAY", 5000)?;
    Ok(Some(OtelConfig {
        endpoint,
        service_name: env
            .get("OTEL_SERVICE_NAME")
            .unwrap_or_else(|| "groundwork".to_owned()),
        protocol,
        batch_delay: Duration::from_millis(delay_ms),
    }))
}

fn check_database_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err("not a URL; expected sqlite://PATH or postgres://USER@HOST/DB".into());
    };
    match scheme {
        "sqlite" => {
            if rest.trim_start_matches('/').is_empty() {
                return Err("sqlite URL names no file".into());
            }
            Ok(())
        }
        "postgres" | "postgresql" => {
            let parsed = url::Url::parse(url).map_err(|e| format!("malformed URL: {e}"))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err("postgres URL names no host".into());
            }
            Ok(())
        }
        other => Err(format!(
            "unsupported scheme {other:?}; expected sqlite or postgres"
        )),
    }
}

fn check_http_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("malformed URL {raw:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("expected an http(s) URL, got {raw:?}"));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// An origin as browsers send it: scheme, host and port, nothing else.
fn check_origin(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("malformed origin {raw:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("expected an http(s) origin, got {raw:?}"));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(format!("an origin has no path or query, got {raw:?}"));
    }
    Ok(url.origin().ascii_serialization())
}

/// The default headers followed by the comma-separated `extra` ones.
fn cors_allowed_headers(extra: Option<String>) -> Result<Vec<http::HeaderName>, String> {
    let extra = extra.unwrap_or_default();
    let mut names: Vec<http::HeaderName> = Vec::new();
    let listed = DEFAULT_CORS_ALLOWED_HEADERS
        .into_iter()
        .chain(extra.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty());
    for name in listed {
        if name == "*" {
            // Browsers take `*` literally on requests with credentials.
            return Err("a wildcard cannot be used with credentials; name each header".into());
        }
        let header = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{name:?} is not a header name"))?;
        if !names.contains(&header) {
            names.push(header);
        }
    }
    Ok(names)
}

/// The origin (scheme://host[:port]) of a URL already checked by `check_http_url`.
pub fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
