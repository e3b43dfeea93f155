//! What the PostgreSQL benchmarks share: a database of their own, the
//! server started in-process on it, a GraphQL client, percentiles.

#![allow(dead_code)] // each benchmark uses its own part

use std::{collections::HashMap, future::Future, panic::AssertUnwindSafe, time::Duration};

use futures_util::FutureExt;
use groundwork::{AppState, Server, config::Config};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The arguments every PostgreSQL benchmark takes.
#[derive(clap::Args)]
pub struct CommonArgs {
    /// PostgreSQL server; a database gw_bench_<uuid> is made on it and dropped at the end.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    pub bench: bool,
}

pub fn fail(message: String) -> ! {
    eprintln!("benchmark failed: {message}");
    std::process::exit(1)
}

/// The URL without its password, for printing.
pub fn redact(url: &url::Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}

/// Runs `body` with a fresh database `gw_bench_<uuid>` on the PostgreSQL
/// server of `server_url`, dropped afterwards (after a panic too).
pub async fn with_database<F, Fut>(server_url: &str, body: F)
where
    F: FnOnce(url::Url) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let server_url = match url::Url::parse(server_url) {
        Ok(u) if u.scheme().starts_with("postgres") => u,
        _ => fail("--database-url must be a postgres:// URL".into()),
    };
    let admin = Database::connect(server_url.as_str())
        .await
        .unwrap_or_else(|e| fail(format!("cannot connect to {}: {e}", redact(&server_url))));
    let name = format!("gw_bench_{}", uuid::Uuid::now_v7().simple());
    let create = format!("CREATE DATABASE \"{name}\"");
    if let Err(e) = admin.execute_unprepared(&create).await {
        fail(format!("cannot create database {name}: {e}"));
    }
    let mut url = server_url.clone();
    url.set_path(&format!("/{name}"));
    let outcome = AssertUnwindSafe(body(url)).catch_unwind().await;
    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    if let Err(e) = admin.execute_unprepared(&drop).await {
        eprintln!("warning: could not drop database {name}: {e}");
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => fail(e.to_string()),
        Err(_) => fail("the benchmark panicked".into()),
    }
}

/// Settings for a benchmark's server: metrics on, nothing else running,
/// no limit in the way of requests that all come from 127.0.0.1.
pub fn server_vars(database_url: &url::Url, pool: u32) -> HashMap<String, String> {
    let pool = pool.to_string();
    [
        ("DATABASE_URL", database_url.as_str()),
        ("DATABASE_MAX_CONNECTIONS", &pool),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("APP_ENV", "development"),
        ("MAIL_URL", "log"),
        // Keeps the outbox worker idle, so /metrics counts requests only.
        ("MAIL_POLL_INTERVAL", "1h"),
        ("METRICS", "on"),
        ("RUST_LOG", "warn"),
        ("RATE_LIMIT_SIGNIN_IP", "100000/1m"),
        ("RATE_LIMIT_SIGNIN_ACCOUNT", "100000/1m"),
        ("RATE_LIMIT_SIGNUP_IP", "100000/1m"),
        ("GRAPHQL_MAX_COMPLEXITY", "100000"),
        ("SHUTDOWN_GRACE_SECONDS", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Starts the server with `vars`, runs `body` with its base URL and state,
/// stops it.
pub async fn with_server<F, Fut>(vars: HashMap<String, String>, body: F) -> Result<(), Error>
where
    F: FnOnce(String, AppState) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let server = Server::build(Config::from_vars(&vars)?, true).await?;
    let base = format!("http://{}", server.local_addr());
    let state = server.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let result = body(base, state).await;
    let _ = stop.send(());
    let _ = task.await;
    result
}

/// A GraphQL client of the running server, signed in once it has a token.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Api {
    pub fn new(base: String, connections: usize) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(connections)
            .build()?;
        Ok(Self {
            http,
            base,
            token: None,
        })
    }

    /// Signs a new user up and keeps their token; their global id.
    pub async fn sign_up(&mut self, email: &str) -> Result<String, Error> {
        let input = json!({ "email": email, "password": "bench-pass-1", "name": "Viewer" });
        let signed_up = self
            .gql(
                "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id } } }",
                json!({ "input": input }),
            )
            .await?;
        self.token = signed_up["signUp"]["token"].as_str().map(str::to_owned);
        Ok(signed_up["signUp"]["user"]["id"]
            .as_str()
            .ok_or("no user id")?
            .to_owned())
    }

    /// The `data` of an answer; an answer with `errors` ends the benchmark.
    pub async fn gql(&self, query: &str, variables: Value) -> Result<Value, Error> {
        let body = json!({ "query": query, "variables": variables });
        let mut request = self.http.post(format!("{}/graphql", self.base)).json(&body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if let Some(errors) = body.get("errors") {
            let operation = query.lines().next().unwrap_or_default();
            return Err(format!("{operation} … got HTTP {status} and errors: {errors}").into());
        }
        Ok(body["data"].clone())
    }

    /// `groundwork_sql_statements_total` from `/metrics`.
    pub async fn statements(&self) -> Result<u64, Error> {
        let url = format!("{}/metrics", self.base);
        let text = self.http.get(url).send().await?.text().await?;
        text.lines()
            .find_map(|l| l.strip_prefix("groundwork_sql_statements_total "))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| "no groundwork_sql_statements_total in /metrics".into())
    }
}

/// Nearest-rank percentile.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
