//! Typed settings read from the environment (and a `.env` file when present).
//!
//! Every variable is parsed here, once, at start-up: a bad value stops the
//! process with one line naming the variable, instead of failing later in a
//! request.

use std::{collections::HashMap, fmt, net::SocketAddr, time::Duration};

/// A secret value: usable by the code that needs it, never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

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

/// Limits applied to every GraphQL operation before it runs.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    /// Lexical tokens a document may have; counted before it is parsed.
    pub max_tokens: usize,
    /// Field selections an operation has once every fragment spread is
    /// expanded; computed without expanding.
    pub max_fields: usize,
    pub max_depth: usize,
    /// The cost an operation (or a whole batch) may have: a list field
    /// costs its selection times its `first`.
    pub max_complexity: usize,
    /// Nesting of braces, brackets and parentheses, checked before parsing.
    pub max_recursive_depth: usize,
    /// Directives on one field.
    pub max_directives: usize,
    /// Aliased fields in an operation, fragments expanded.
    pub max_aliases: usize,
    /// How long one query or mutation may run.
    pub timeout: Duration,
    pub persisted: PersistedDocuments,
    /// Automatic persisted queries remembered (per process).
    pub apq_cache_size: usize,
    /// Operations allowed in one batched request; 0 turns batching off.
    pub max_batch: usize,
    pub introspection: bool,
    pub suggestions: bool,
    pub graphiql: bool,
}

/// Trusted documents: which documents the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistedMode {
    /// Any document; automatic persisted queries work.
    Off,
    /// Any document, and the manifest's by hash.
    Allow,
    /// The manifest's documents only.
    Only,
}

#[derive(Debug, Clone)]
pub struct PersistedDocuments {
    pub mode: PersistedMode,
    /// sha256 (hex) of a document to the document, as graphql-codegen's
    /// client preset writes `persisted-documents.json`.
    pub manifest: std::sync::Arc<HashMap<String, String>>,
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
    pub bind_addr: SocketAddr,
    pub app_env: AppEnv,
    pub public_url: String,
    pub app_url: String,
    pub cors_origins: Vec<String>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub max_body_bytes: usize,
    pub shutdown_grace: Duration,
    pub graphql: GraphqlLimits,
    /// Signs short-lived cookies (OAuth state). Random per process in
    /// development when unset; required in production.
    pub secret_key: Secret,
    pub trusted_proxy_hops: usize,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    pub password_hash_concurrency: usize,
    pub signin_account_limit: Limit,
    pub signin_ip_limit: Limit,
    pub signup_ip_limit: Limit,
    pub redis_url: Option<Secret>,
    pub redis_key_prefix: String,
    pub mail_url: Secret,
    pub mail_from: String,
    pub mail_poll_interval: Duration,
    pub mail_retry_base: Duration,
    pub oauth_providers: Vec<OAuthProviderConfig>,
    pub invitation_ttl: Duration,
    pub plans: crate::billing::plans::PlanCatalog,
    /// How long a PAST_DUE subscription keeps its plan.
    pub billing_grace_period: Duration,
    /// Serve `/metrics`.
    pub metrics: bool,
    pub stripe: StripeConfig,
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

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/groundwork.db?mode=rwc";

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

        let graphql = GraphqlLimits {
            max_tokens: env.parse_positive("GRAPHQL_MAX_TOKENS", 15_000)?,
            max_fields: env.parse_positive("GRAPHQL_MAX_FIELDS", 2_000)?,
            max_depth: env.parse_positive("GRAPHQL_MAX_DEPTH", 15)?,
            max_complexity: env.parse_positive("GRAPHQL_MAX_COMPLEXITY", 20_000)?,
            max_recursive_depth: env.parse_positive("GRAPHQL_MAX_RECURSIVE_DEPTH", 32)?,
            max_directives: env.parse_positive("GRAPHQL_MAX_DIRECTIVES", 8)?,
            max_aliases: env.parse_positive("GRAPHQL_MAX_ALIASES", 50)?,
            timeout: env.duration("GRAPHQL_TIMEOUT", "15s")?,
            persisted: persisted_documents(&env)?,
            apq_cache_size: env.parse("GRAPHQL_APQ_CACHE_SIZE", 1_000)?,
            max_batch: env.parse("GRAPHQL_MAX_BATCH", 10)?,
            introspection: env.switch("GRAPHQL_INTROSPECTION", dev)?,
            suggestions: env.switch("GRAPHQL_SUGGESTIONS", dev)?,
            graphiql: env.switch("GRAPHIQL", dev)?,
        };

        let secret_key = match env.get("SECRET_KEY") {
            Some(key) if key.len() >= 32 => Secret::new(key),
            Some(_) => return Err(env.bad("SECRET_KEY", "must be at least 32 characters".into())),
            None if dev => Secret::new(crate::crypto::random_token()),
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
                Some(Secret::new(url))
            }
            Some(_) => return Err(env.bad("REDIS_URL", "expected redis://HOST:PORT".into())),
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

        Ok(Self {
            secret_key,
            trusted_proxy_hops: env.parse("TRUSTED_PROXY_HOPS", 0)?,
            session_idle_timeout: env.duration("SESSION_IDLE_TIMEOUT", "7d")?,
            session_absolute_timeout: env.duration("SESSION_ABSOLUTE_TIMEOUT", "30d")?,
            password_hash_concurrency: env.parse_positive("PASSWORD_HASH_CONCURRENCY", cores)?,
            signin_account_limit: env.limit("RATE_LIMIT_SIGNIN_ACCOUNT", "5/15m")?,
            signin_ip_limit: env.limit("RATE_LIMIT_SIGNIN_IP", "50/15m")?,
            signup_ip_limit: env.limit("RATE_LIMIT_SIGNUP_IP", "20/1h")?,
            redis_url,
            redis_key_prefix: env
                .get("REDIS_KEY_PREFIX")
                .unwrap_or_else(|| "groundwork:".to_owned()),
            mail_url: Secret::new(mail_url),
            mail_from,
            mail_poll_interval: env.duration("MAIL_POLL_INTERVAL", "1s")?,
            mail_retry_base: env.duration("MAIL_RETRY_BASE", "10s")?,
            oauth_providers: oauth_providers(&env)?,
            invitation_ttl: env.duration("INVITATION_TTL", "7d")?,
            plans: plan_catalog(&env)?,
            billing_grace_period: env.duration("BILLING_GRACE_PERIOD", "7d")?,
            metrics: env.switch("METRICS", dev)?,
            stripe: StripeConfig {
                secret_key: env.get("STRIPE_SECRET_KEY").map(Secret::new),
                webhook_secret: env.get("STRIPE_WEBHOOK_SECRET").map(Secret::new),
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
            database_url: Secret::new(database_url),
            database_max_connections: max_connections,
            bind_addr,
            app_env,
            public_url,
            app_url,
            cors_origins,
            log_format,
            log_level: env.get("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
            max_body_bytes: env.parse_positive("MAX_BODY_BYTES", 1024 * 1024)?,
            shutdown_grace: Duration::from_secs(env.parse("SHUTDOWN_GRACE_SECONDS", 30)?),
            graphql,
        })
    }

    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// Whether `origin` is the frontend's (`APP_URL`) or one of `CORS_ORIGINS`.
    pub fn is_frontend_origin(&self, origin: &str) -> bool {
        origin == origin_of(&self.app_url) || self.cors_origins.iter().any(|o| o == origin)
    }
}

/// `PERSISTED_DOCUMENTS` and the manifest it needs, read and checked once:
/// a manifest whose hash does not match its document would let a changed
/// file run documents nobody reviewed.
fn persisted_documents(env: &Env<'_>) -> Result<PersistedDocuments, ConfigError> {
    let mode = match env.get("PERSISTED_DOCUMENTS").as_deref() {
        None | Some("off") => PersistedMode::Off,
        Some("allow") => PersistedMode::Allow,
        Some("only") => PersistedMode::Only,
        Some(other) => {
            return Err(env.bad(
                "PERSISTED_DOCUMENTS",
                format!("expected off, allow or only, got {other:?}"),
            ));
        }
    };
    let var = "PERSISTED_DOCUMENTS_MANIFEST";
    let manifest = match env.get(var) {
        None if mode == PersistedMode::Off => HashMap::new(),
        None => {
            return Err(env.bad(
                var,
                "required when PERSISTED_DOCUMENTS is allow or only".into(),
            ));
        }
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| env.bad(var, format!("cannot read {path}: {e}")))?;
            let manifest: HashMap<String, String> = serde_json::from_str(&text).map_err(|e| {
                env.bad(
                    var,
                    format!("{path} is not a JSON object of hash to document: {e}"),
                )
            })?;
            // graphql-codegen writes sha256 keys as `sha256:<hex>` (the
            // GraphQL-over-HTTP document id form); they are looked up by the hex.
            let mut by_hash = HashMap::with_capacity(manifest.len());
            for (key, document) in manifest {
                let hash = key.strip_prefix("sha256:").unwrap_or(&key);
                let hash = hash.to_ascii_lowercase();
                if crate::crypto::sha256_hex(document.as_bytes()) != hash {
                    return Err(env.bad(
                        var,
                        format!("the sha256 of the document under {key:?} is not that hash"),
                    ));
                }
                by_hash.insert(hash, document);
            }
            by_hash
        }
    };
    Ok(PersistedDocuments {
        mode,
        manifest: std::sync::Arc::new(manifest),
    })
}

struct Env<'a>(&'a HashMap<String, String>);

impl Env<'_> {
    /// The variable's value, with an empty value treated as unset.
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn duration(&self, var: &str, default: &str) -> Result<Duration, ConfigError> {
        let raw = self.get(var).unwrap_or_else(|| default.to_owned());
        let value = parse_duration(&raw).map_err(|p| self.bad(var, p))?;
        if value.is_zero() {
            return Err(self.bad(var, "must be longer than zero".into()));
        }
        Ok(value)
    }

    fn limit(&self, var: &str, default: &str) -> Result<Limit, ConfigError> {
        let raw = self.get(var).unwrap_or_else(|| default.to_owned());
        let problem = || format!("expected ATTEMPTS/WINDOW such as 5/15m, got {raw:?}");
        let (max, window) = raw
            .split_once('/')
            .ok_or_else(|| self.bad(var, problem()))?;
        let max: u32 = max.trim().parse().map_err(|_| self.bad(var, problem()))?;
        let window = parse_duration(window.trim()).map_err(|_| self.bad(var, problem()))?;
        if max == 0 || window.is_zero() {
            return Err(self.bad(var, problem()));
        }
        Ok(Limit { max, window })
    }

    fn bad(&self, var: &str, problem: String) -> ConfigError {
        ConfigError {
            var: var.to_owned(),
            problem,
        }
    }

    fn parse<T>(&self, var: &str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        Ok(self.parse_opt(var)?.unwrap_or(default))
    }

    fn parse_opt<T>(&self, var: &str) -> Result<Option<T>, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|e| self.bad(var, format!("cannot parse {raw:?}: {e}"))),
        }
    }

    fn parse_positive(&self, var: &str, default: usize) -> Result<usize, ConfigError> {
        let value = self.parse(var, default)?;
        if value == 0 {
            return Err(self.bad(var, "must be at least 1".into()));
        }
        Ok(value)
    }

    fn switch(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("on" | "true" | "1" | "yes") => Ok(true),
            Some("off" | "false" | "0" | "no") => Ok(false),
            Some(other) => Err(self.bad(var, format!("expected on or off, got {other:?}"))),
        }
    }
}

/// `250ms`, `30s`, `15m`, `12h`, `7d`, or a bare number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("expected a duration such as 30s, 15m or 7d, got {raw:?}"))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {raw:?}; use ms, s, m, h or d"
            ));
        }
    };
    Ok(Duration::from_secs(n.saturating_mul(seconds)))
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

/// Providers named by `OAUTH_<NAME>_CLIENT_ID`; `github` and `google` come
/// with their endpoints, any other name must give all three URLs.
fn oauth_providers(env: &Env) -> Result<Vec<OAuthProviderConfig>, ConfigError> {
    let mut names: Vec<String> = env
        .0
        .keys()
        .filter_map(|k| k.strip_prefix("OAUTH_")?.strip_suffix("_CLIENT_ID"))
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    names.sort();
    let mut providers = Vec::new();
    for upper in names {
        let var = |suffix: &str| format!("OAUTH_{upper}_{suffix}");
        let name = upper.to_ascii_lowercase();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(env.bad(
                &var("CLIENT_ID"),
                "provider names are letters, digits and _".into(),
            ));
        }
        let Some(client_id) = env.get(&var("CLIENT_ID")) else {
            continue;
        };
        let client_secret = env
            .get(&var("CLIENT_SECRET"))
            .ok_or_else(|| env.bad(&var("CLIENT_SECRET"), "required with the client id".into()))?;
        let (kind, auth, token, userinfo, emails, scopes) = match name.as_str() {
            "github" => (
                OAuthKind::Github,
                Some("https://github.com/login/oauth/authorize"),
                Some("https://github.com/login/oauth/access_token"),
                Some("https://api.github.com/user"),
                Some("https://api.github.com/user/emails"),
                "read:user user:email",
            ),
            "google" => (
                OAuthKind::OpenId,
                Some("https://accounts.google.com/o/oauth2/v2/auth"),
                Some("https://oauth2.googleapis.com/token"),
                Some("https://openidconnect.googleapis.com/v1/userinfo"),
                None,
                "openid email profile",
            ),
            _ => (
                OAuthKind::OpenId,
                None,
                None,
                None,
                None,
                "openid email profile",
            ),
        };
        let url = |suffix: &str, preset: Option<&str>| -> Result<String, ConfigError> {
            let v = var(suffix);
            let raw = env
                .get(&v)
                .or(preset.map(str::to_owned))
                .ok_or_else(|| env.bad(&v, format!("required for the provider {name}")))?;
            check_http_url(&raw).map_err(|p| env.bad(&v, p))
        };
        let emails_url = match (kind, env.get(&var("EMAILS_URL"))) {
            (OAuthKind::Github, override_url) => {
                Some(url("EMAILS_URL", override_url.as_deref().or(emails))?)
            }
            (_, Some(_)) => Some(url("EMAILS_URL", None)?),
            _ => None,
        };
        providers.push(OAuthProviderConfig {
            kind,
            client_id,
            client_secret: Secret::new(client_secret),
            auth_url: url("AUTH_URL", auth)?,
            token_url: url("TOKEN_URL", token)?,
            userinfo_url: url("USERINFO_URL", userinfo)?,
            emails_url,
            scopes: env
                .get(&var("SCOPES"))
                .unwrap_or_else(|| scopes.to_owned())
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            name,
        });
    }
    Ok(providers)
}

/// The catalog of `PLANS_FILE` (or the default), with Stripe price ids from
/// `STRIPE_PRICE_<PLAN>_<MONTH|YEAR>` laid over it.
fn plan_catalog(env: &Env) -> Result<crate::billing::plans::PlanCatalog, ConfigError> {
    let mut catalog = match env.get("PLANS_FILE") {
        None => crate::billing::plans::PlanCatalog::default(),
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| env.bad("PLANS_FILE", format!("cannot read {path}: {e}")))
            .and_then(|text| {
                crate::billing::plans::PlanCatalog::from_toml(&text)
                    .map_err(|e| env.bad("PLANS_FILE", format!("{path}: {e}")))
            })?,
    };
    for plan in &mut catalog.plans {
        for price in &mut plan.prices {
            let var = format!(
                "STRIPE_PRICE_{}_{}",
                plan.id.to_ascii_uppercase().replace('-', "_"),
                price.interval.as_str().to_ascii_uppercase()
            );
            if let Some(id) = env.get(&var) {
                price.stripe_price_id = Some(id);
            }
        }
    }
    Ok(catalog)
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

/// The origin (scheme://host[:port]) of a URL already checked by `check_http_url`.
pub fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(&map)
    }

    const PROD_KEY: (&str, &str) = ("SECRET_KEY", "0123456789abcdef0123456789abcdef");

    #[test]
    fn defaults_are_development_on_sqlite() {
        let c = load(&[]).unwrap();
        assert_eq!(c.app_env, AppEnv::Development);
        assert_eq!(c.database_url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:8080");
        assert!(c.graphql.introspection && c.graphql.graphiql);
        assert_eq!(c.max_body_bytes, 1024 * 1024);
    }

    #[test]
    fn production_turns_introspection_off_unless_asked() {
        let mail = ("MAIL_URL", "smtp://mail.example.com:587");
        let c = load(&[("APP_ENV", "production"), PROD_KEY, mail]).unwrap();
        assert!(!c.graphql.introspection && !c.graphql.graphiql && !c.graphql.suggestions);
        assert_eq!(c.log_format, LogFormat::Json);
        let c = load(&[
            ("APP_ENV", "production"),
            PROD_KEY,
            mail,
            ("GRAPHIQL", "on"),
        ])
        .unwrap();
        assert!(c.graphql.graphiql);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://localhost/x"),
            ("DATABASE_URL", "not a url"),
            ("DATABASE_URL", "postgres://"),
            ("BIND_ADDR", "localhost"),
            ("APP_ENV", "staging"),
            ("APP_URL", "ftp://example.com"),
            ("CORS_ORIGINS", "https://a.example/path"),
            ("LOG_FORMAT", "xml"),
            ("GRAPHQL_MAX_DEPTH", "0"),
            ("GRAPHQL_MAX_DEPTH", "ten"),
            ("GRAPHIQL", "maybe"),
            ("SESSION_IDLE_TIMEOUT", "7 weeks"),
            ("RATE_LIMIT_SIGNIN_IP", "5"),
            ("MAIL_URL", "imap://x"),
            ("MAIL_FROM", "not a mailbox"),
            ("SECRET_KEY", "short"),
            ("OAUTH_MY-CORP_CLIENT_ID", "id"),
        ] {
            let err = load(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{var}={value}: {err}");
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn production_needs_a_secret_key_and_a_mailer() {
        let err = load(&[("APP_ENV", "production")]).unwrap_err();
        assert_eq!(err.var, "SECRET_KEY");
        let err = load(&[("APP_ENV", "production"), PROD_KEY]).unwrap_err();
        assert_eq!(err.var, "MAIL_URL");
    }

    #[test]
    fn durations_and_limits_parse() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        let c = load(&[("RATE_LIMIT_SIGNIN_ACCOUNT", "3/1h")]).unwrap();
        assert_eq!(
            c.signin_account_limit,
            Limit {
                max: 3,
                window: Duration::from_secs(3600)
            }
        );
    }

    #[test]
    fn oauth_providers_come_from_the_environment() {
        let c = load(&[
            ("OAUTH_GITHUB_CLIENT_ID", "gh"),
            ("OAUTH_GITHUB_CLIENT_SECRET", "s"),
            ("OAUTH_ACME_CLIENT_ID", "acme"),
            ("OAUTH_ACME_CLIENT_SECRET", "s"),
            ("OAUTH_ACME_AUTH_URL", "http://127.0.0.1:9/authorize"),
            ("OAUTH_ACME_TOKEN_URL", "http://127.0.0.1:9/token"),
            ("OAUTH_ACME_USERINFO_URL", "http://127.0.0.1:9/userinfo"),
        ])
        .unwrap();
        let names: Vec<_> = c.oauth_providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["acme", "github"]);
        let github = &c.oauth_providers[1];
        assert_eq!(github.kind, OAuthKind::Github);
        assert_eq!(
            github.emails_url.as_deref(),
            Some("https://api.github.com/user/emails")
        );
        assert!(!format!("{c:?}").contains("CLIENT_SECRET=s"));
    }

    #[test]
    fn origins_are_normalized() {
        let c = load(&[("CORS_ORIGINS", "https://a.example, http://localhost:5173/")]).unwrap();
        assert_eq!(
            c.cors_origins,
            vec!["https://a.example", "http://localhost:5173"]
        );
    }

    #[test]
    fn manifest_keys_may_carry_the_sha256_prefix() {
        let doc = "query Plans { plans { id } }";
        let hash = crate::crypto::sha256_hex(doc.as_bytes());
        let path = std::env::temp_dir().join(format!(
            "groundwork-manifest-{}-{}.json",
            std::process::id(),
            uuid::Uuid::now_v7()
        ));
        let load_manifest = |key: String| {
            let manifest: serde_json::Map<_, _> =
                [(key, serde_json::json!(doc))].into_iter().collect();
            std::fs::write(&path, serde_json::Value::Object(manifest).to_string()).unwrap();
            load(&[
                ("PERSISTED_DOCUMENTS", "only"),
                ("PERSISTED_DOCUMENTS_MANIFEST", path.to_str().unwrap()),
            ])
        };
        let prefixed = load_manifest(format!("sha256:{}", hash.to_ascii_uppercase())).unwrap();
        assert_eq!(prefixed.graphql.persisted.manifest.get(&hash).unwrap(), doc);
        let bare = load_manifest(hash.clone()).unwrap();
        assert_eq!(bare.graphql.persisted.manifest.get(&hash).unwrap(), doc);
        let err = load_manifest(format!("sha1:{hash}")).unwrap_err();
        assert_eq!(err.var, "PERSISTED_DOCUMENTS_MANIFEST");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn secrets_do_not_print() {
        let c = load(&[("DATABASE_URL", "postgres://user:hunter2@db/app")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
