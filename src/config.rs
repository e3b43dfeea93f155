//! Typed settings read from the environment (and a `.env` file when present).
//!
//! Every variable is parsed here, once, at start-up: a bad value stops the
//! process with one line naming the variable, instead of failing later in a
//! request.

use std::{fmt, net::SocketAddr, time::Duration};

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
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_recursive_depth: usize,
    pub max_directives: usize,
    /// Operations allowed in one batched request; 0 turns batching off.
    pub max_batch: usize,
    pub introspection: bool,
    pub suggestions: bool,
    pub graphiql: bool,
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
}

/// A setting that could not be used: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
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
                    var: ".env",
                    problem: e.to_string(),
                });
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the settings from any source of variables; tests pass a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
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
            max_depth: env.parse_positive("GRAPHQL_MAX_DEPTH", 15)?,
            max_complexity: env.parse_positive("GRAPHQL_MAX_COMPLEXITY", 2000)?,
            max_recursive_depth: env.parse_positive("GRAPHQL_MAX_RECURSIVE_DEPTH", 32)?,
            max_directives: env.parse_positive("GRAPHQL_MAX_DIRECTIVES", 8)?,
            max_batch: env.parse("GRAPHQL_MAX_BATCH", 10)?,
            introspection: env.switch("GRAPHQL_INTROSPECTION", dev)?,
            suggestions: env.switch("GRAPHQL_SUGGESTIONS", dev)?,
            graphiql: env.switch("GRAPHIQL", dev)?,
        };

        Ok(Self {
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
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The variable's value, with an empty value treated as unset.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn bad(&self, var: &'static str, problem: String) -> ConfigError {
        ConfigError { var, problem }
    }

    fn parse<T>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        Ok(self.parse_opt(var)?.unwrap_or(default))
    }

    fn parse_opt<T>(&self, var: &'static str) -> Result<Option<T>, ConfigError>
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

    fn parse_positive(&self, var: &'static str, default: usize) -> Result<usize, ConfigError> {
        let value = self.parse(var, default)?;
        if value == 0 {
            return Err(self.bad(var, "must be at least 1".into()));
        }
        Ok(value)
    }

    fn switch(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("on" | "true" | "1" | "yes") => Ok(true),
            Some("off" | "false" | "0" | "no") => Ok(false),
            Some(other) => Err(self.bad(var, format!("expected on or off, got {other:?}"))),
        }
    }
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
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

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
        let c = load(&[("APP_ENV", "production")]).unwrap();
        assert!(!c.graphql.introspection && !c.graphql.graphiql && !c.graphql.suggestions);
        assert_eq!(c.log_format, LogFormat::Json);
        let c = load(&[("APP_ENV", "production"), ("GRAPHIQL", "on")]).unwrap();
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
        ] {
            let err = load(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{var}={value}: {err}");
            assert!(!err.to_string().contains('\n'));
        }
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
    fn secrets_do_not_print() {
        let c = load(&[("DATABASE_URL", "postgres://user:hunter2@db/app")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
