//! The test harness: a real server on 127.0.0.1:0 with its own database, and
//! a small GraphQL client that keeps cookies.

#![allow(dead_code)]

pub mod binary;
mod client;
pub mod database;
pub mod fake_oauth;
pub mod fake_otlp;
pub mod fake_smtp;
pub mod fake_stripe;
pub mod fault_proxy;
pub mod http_raw;
mod mail;
pub mod nginx;
pub mod ops;
pub mod prometheus;
pub mod ws;

use std::{collections::HashMap, net::SocketAddr};

use axum::Router;
use groundwork::{AppState, Server, config::Config};
use sea_orm::DatabaseConnection;
use tokio::{sync::oneshot, task::JoinHandle};

pub use client::{Client, GqlResponse};
pub use database::TestDatabase;
pub use mail::{Mailbox, link_token};

pub struct TestApp {
    pub addr: SocketAddr,
    /// Mail the server sent (it writes one .eml file per message here).
    pub mailbox: Mailbox,
    pub base_url: String,
    pub db: DatabaseConnection,
    /// The running server's state, for tests that inject what no client
    /// could (a fault, an event).
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    // Declared last: the database is dropped after the server has stopped.
    database: TestDatabase,
}

/// The row id inside a global id the API handed out, for tests that reach
/// into the database or a fake of an outside service.
pub fn raw_id(global: &str) -> String {
    row_id(global).to_string()
}

/// The row id inside a global id, for binding into a statement.
pub fn row_id(global: &str) -> uuid::Uuid {
    groundwork::ids::decode(global)
        .unwrap_or_else(|| panic!("{global:?} is not a global id"))
        .1
}

/// The password `TestApp::sign_up` gives every user.
pub const PASSWORD: &str = "correct horse battery";

pub struct SignedUp {
    pub client: Client,
    pub user_id: String,
    pub token: String,
    pub email: String,
}

/// A project named `name` in `org`, created by `by`; returns its id.
pub async fn create_project(by: &SignedUp, org: &str, name: &str) -> String {
    let res = by
        .client
        .gql(
            ops::CREATE_PROJECT,
            serde_json::json!({ "org": org, "name": name }),
        )
        .await;
    res.data()["createProject"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Settings for a test server; unset variables take their defaults.
#[derive(Default, Clone)]
pub struct TestConfig {
    vars: HashMap<String, String>,
    extra_routes: Option<Router>,
}

impl TestConfig {
    pub fn var(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }

    pub fn routes(mut self, routes: Router) -> Self {
        self.extra_routes = Some(routes);
        self
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TestConfig::default()).await
    }

    /// A server that bills through `stripe`.
    pub async fn spawn_with_stripe(stripe: &fake_stripe::FakeStripe) -> Self {
        let mut settings = TestConfig::default();
        for (k, v) in stripe.env() {
            settings = settings.var(k, v);
        }
        Self::spawn_with(settings).await
    }

    pub async fn spawn_with(settings: TestConfig) -> Self {
        let database = TestDatabase::create().await;
        Self::spawn_on(database, settings).await
    }

    /// A server on a database the caller made (two servers can share one).
    pub async fn spawn_on(database: TestDatabase, settings: TestConfig) -> Self {
        let mailbox = Mailbox::new();
        let mut vars = settings.vars.clone();
        vars.entry("MAIL_URL".into())
            .or_insert_with(|| format!("file:{}", mailbox.dir.display()));
        vars.entry("MAIL_POLL_INTERVAL".into())
            .or_insert_with(|| "50ms".into());
        vars.entry("MAIL_RETRY_BASE".into())
            .or_insert_with(|| "200ms".into());
        if vars.get("APP_ENV").is_some_and(|e| e == "production") {
            vars.entry("SECRET_KEY".into())
                .or_insert_with(|| "test-secret-key-test-secret-key-0123456789".into());
        }
        vars.entry("DATABASE_URL".into())
            .or_insert_with(|| database.url.clone());
        vars.entry("BIND_ADDR".into())
            .or_insert_with(|| "127.0.0.1:0".into());
        vars.entry("APP_URL".into())
            .or_insert_with(|| "http://app.test".into());
        vars.entry("SHUTDOWN_GRACE_SECONDS".into())
            .or_insert_with(|| "5".into());
        let config = Config::from_vars(&vars).expect("test configuration");
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = groundwork::telemetry::init(&config);
        }
        let mut server = Server::build(config, true).await.expect("server starts");
        if let Some(routes) = settings.extra_routes {
            server = server.merge(routes);
        }
        let addr = server.local_addr();
        let db = server.state().db.clone();
        let state = server.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            mailbox,
            base_url: format!("http://{addr}"),
            db,
            state,
            stop: Some(stop),
            task: Some(task),
            database,
        }
    }

    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    /// Runs the `groundwork` binary against this server's database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_with(args, &[])
    }

    /// Runs the `groundwork` binary with more settings.
    pub fn cli_with(&self, args: &[&str], vars: &[(&str, String)]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_groundwork"))
            .args(args)
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .env("DATABASE_URL", self.database_url())
            .env("MAIL_URL", "log")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .current_dir(std::env::temp_dir())
            .output()
            .expect("run groundwork")
    }

    /// Delivers a Stripe webhook; returns the HTTP status.
    pub async fn webhook(&self, body: &str, signature: &str) -> u16 {
        reqwest::Client::new()
            .post(self.url("/webhooks/stripe"))
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("webhook delivered")
            .status()
            .as_u16()
    }

    /// Gives an organization a plan through `groundwork billing grant`.
    pub fn grant(&self, slug: &str, plan: &str) {
        let out = self.cli(&["billing", "grant", "--org", slug, "--plan", plan]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// A new client with an empty cookie jar.
    pub fn client(&self) -> Client {
        Client::new(&self.base_url)
    }

    /// Signs up a new user with a client of its own; returns the signed-in
    /// client, the user's id and the session token.
    pub async fn sign_up(&self, email: &str, name: &str) -> SignedUp {
        let client = self.client();
        let res = client
            .gql(
                ops::SIGN_UP,
                serde_json::json!({ "input": { "email": email, "password": PASSWORD, "name": name } }),
            )
            .await;
        let data = res.data();
        SignedUp {
            user_id: data["signUp"]["user"]["id"].as_str().unwrap().to_owned(),
            token: data["signUp"]["token"].as_str().unwrap().to_owned(),
            email: email.to_lowercase(),
            client,
        }
    }

    /// Signs up and verifies the email through the mailed link.
    pub async fn sign_up_verified(&self, email: &str, name: &str) -> SignedUp {
        let user = self.sign_up(email, name).await;
        let mail = self.mailbox.wait_for(&user.email, "/verify-email", 1).await;
        let token = link_token(&mail, "/verify-email");
        self.client()
            .gql(ops::VERIFY_EMAIL, serde_json::json!({ "t": token }))
            .await
            .data();
        user
    }

    /// A team organization owned by `owner`; returns its id.
    pub async fn create_org(&self, owner: &SignedUp, name: &str) -> String {
        let res = owner
            .client
            .gql(
                ops::CREATE_ORGANIZATION,
                serde_json::json!({ "name": name }),
            )
            .await;
        res.data()["createOrganization"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Invites `email` as `role` and returns the invitation's id and the
    /// token from the mailed link.
    pub async fn invite(
        &self,
        by: &SignedUp,
        org_id: &str,
        email: &str,
        role: &str,
    ) -> (String, String) {
        let before = self.mailbox.snapshot();
        let res = by
            .client
            .gql(
                ops::INVITE_MEMBER,
                serde_json::json!({ "input": { "organizationId": org_id, "email": email, "role": role } }),
            )
            .await;
        let id = res.data()["inviteMember"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mail = self
            .mailbox
            .wait_for_new(&email.to_lowercase(), "/invitations/accept", &before)
            .await;
        (id, link_token(&mail, "/invitations/accept"))
    }

    /// A new user who joins `org_id` as `role` by signing up with an invitation.
    pub async fn join_new(
        &self,
        owner: &SignedUp,
        org_id: &str,
        email: &str,
        role: &str,
    ) -> SignedUp {
        let (_, token) = self.invite(owner, org_id, email, role).await;
        let client = self.client();
        let res = client
            .gql(
                ops::SIGN_UP,
                serde_json::json!({ "input": {
                    "email": email, "password": PASSWORD, "name": role, "invitationToken": token
                } }),
            )
            .await;
        let data = res.data();
        SignedUp {
            user_id: data["signUp"]["user"]["id"].as_str().unwrap().to_owned(),
            token: data["signUp"]["token"].as_str().unwrap().to_owned(),
            email: email.to_lowercase(),
            client,
        }
    }

    /// An existing user with a verified email joins `org_id` as `role`.
    pub async fn join(
        &self,
        owner: &SignedUp,
        org_id: &str,
        user: &SignedUp,
        role: &str,
    ) -> String {
        let (_, token) = self.invite(owner, org_id, &user.email, role).await;
        let res = user
            .client
            .gql(ops::ACCEPT_INVITATION, serde_json::json!({ "t": token }))
            .await;
        res.data()["acceptInvitation"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Sends the shutdown signal and waits for the server to finish.
    pub async fn stop(mut self) {
        self.begin_stop();
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }

    pub fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub fn take_task(&mut self) -> JoinHandle<()> {
        self.task.take().expect("server still running")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
