use std::process::ExitCode;

// Freed memory goes back to the system. With glibc's allocator a burst of
// sign-ups (19 MiB per password hash, computed on whichever blocking-pool
// thread is free) stayed resident in its per-thread arenas for good.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read as it starts: a background thread purges freed
/// pages about a second after they are freed, straight to the system
/// (muzzy pages, freed lazily with MADV_FREE, would still count as resident
/// until the kernel ran short). `_RJEM_MALLOC_CONF` overrides them.
#[cfg(not(target_env = "msvc"))]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

use clap::{Parser, Subcommand};
use groundwork::{
    Server, billing::plans::PlanCatalog, config::Config, db, graphql, shutdown_signal, slices,
    telemetry,
};

/// Groundwork: the GraphQL backend of a SaaS product.
///
/// Settings come from the environment and a `.env` file; see the README.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default): applies pending migrations, then listens on BIND_ADDR.
    Serve {
        /// Start without applying pending migrations.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Inspect or change the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL) that schema.graphql holds.
    Schema,
    /// Exit 0 when the server on BIND_ADDR is ready (for container health checks).
    Healthcheck,
    /// Plans given by hand: comped accounts and development without Stripe.
    Billing {
        #[command(subcommand)]
        action: BillingAction,
    },
    /// Create demo users, a team organization with each role, and projects
    /// (idempotent; prints the sign-in details).
    Seed,
}

#[derive(Subcommand)]
enum BillingAction {
    /// Give an organization a plan, for good or until a date.
    Grant {
        /// The organization's slug.
        #[arg(long)]
        org: String,
        /// A plan id of the catalog (free, pro, team by default).
        #[arg(long)]
        plan: String,
        /// Last moment of the grant: YYYY-MM-DD (end of that day, UTC) or RFC 3339.
        #[arg(long)]
        until: Option<String>,
    },
    /// End an organization's manual grant.
    Revoke {
        #[arg(long)]
        org: String,
    },
    /// Read every subscription back from Stripe and repair local state
    /// (after missed webhooks).
    Sync,
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the newest migrations.
    Down {
        /// How many to roll back.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table and apply all migrations anew. Destroys all data.
    Fresh,
}

/// Exit status for a setting that cannot be used.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // The plan catalog is a setting too: one that cannot be used stops
    // every command the same way.
    if let Err(e) = PlanCatalog::from_settings(&config.plans, slices::METERED) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry = match runtime.block_on(async { telemetry::init(&config) }) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, config));
    // Spans still queued go out now, on the runtime that is still up.
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Option<Command>, config: Config) -> Result<(), String> {
    match command.unwrap_or(Command::Serve { no_migrate: false }) {
        Command::Serve { no_migrate } => {
            let server = Server::build(config, !no_migrate)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(addr = %server.local_addr(), "listening");
            server.run_until(shutdown_signal()).await;
            Ok(())
        }
        Command::Migrate { action } => {
            let conn = db::connect(&config)
                .await
                .map_err(|e| format!("cannot connect to the database: {e}"))?;
            let result = match action {
                MigrateAction::Up => db::migrate_up(&conn).await,
                MigrateAction::Down { steps } => db::migrate_down(&conn, steps).await,
                MigrateAction::Fresh => db::migrate_fresh(&conn).await,
                MigrateAction::Status => db::migration_status(&conn).await.map(|rows| {
                    if rows.is_empty() {
                        println!("no migrations");
                    }
                    for (name, applied) in rows {
                        let state = if applied { "applied" } else { "pending" };
                        println!("{state:8} {name}");
                    }
                }),
            };
            result.map_err(|e| format!("migration failed: {e}"))
        }
        Command::Healthcheck => healthcheck(&config).await,
        Command::Billing { action } => billing(config, action).await,
        Command::Seed => seed(config).await,
        Command::Schema => unreachable!("handled before configuration is read"),
    }
}

async fn billing(config: Config, action: BillingAction) -> Result<(), String> {
    let core = groundwork::core_for_cli(config)
        .await
        .map_err(|e| e.to_string())?;
    let slug = match &action {
        BillingAction::Grant { org, .. } | BillingAction::Revoke { org } => org.clone(),
        BillingAction::Sync => {
            let (applied, ignored) = groundwork::billing::subscriptions::sync_all(&core)
                .await
                .map_err(describe)?;
            println!(
                "{applied} subscriptions read back from Stripe; {ignored} cannot be applied here (the log says why)"
            );
            return Ok(());
        }
    };
    let org = groundwork::orgs::service::id_for_slug(&core, &slug)
        .await
        .map_err(describe)?
        .ok_or_else(|| format!("no organization has the slug {slug:?}"))?;
    let txn = core.begin().await.map_err(|e| e.to_string())?;
    match action {
        BillingAction::Grant { plan, until, .. } => {
            let until = until.as_deref().map(parse_until).transpose()?;
            groundwork::billing::entitlements::grant(&txn, &core, org, &plan, until)
                .await
                .map_err(describe)?;
            txn.commit().await.map_err(|e| e.to_string())?;
            match until {
                Some(until) => println!("{slug} has the {plan} plan until {until}"),
                None => println!("{slug} has the {plan} plan"),
            }
        }
        BillingAction::Sync => unreachable!("handled above"),
        BillingAction::Revoke { .. } => {
            let had = groundwork::billing::entitlements::revoke(&txn, org)
                .await
                .map_err(describe)?;
            txn.commit().await.map_err(|e| e.to_string())?;
            if had {
                println!("{slug} no longer has a granted plan");
            } else {
                println!("{slug} had no granted plan");
            }
        }
    }
    Ok(())
}

fn parse_until(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("--until: expected YYYY-MM-DD or an RFC 3339 time, got {raw:?}"))
}

fn describe(e: groundwork::error::AppError) -> String {
    match e {
        groundwork::error::AppError::Internal(cause) => cause.to_string(),
        other => other.client_message(),
    }
}

async fn seed(config: Config) -> Result<(), String> {
    let core = groundwork::core_for_cli(config)
        .await
        .map_err(|e| e.to_string())?;
    let seeded = groundwork::seed::run(&core).await.map_err(describe)?;
    println!(
        "Demo data ready ({} users and {} projects created now).",
        seeded.created_users, seeded.created_projects
    );
    println!(
        "Organization: Acme Demo (slug {}), on the pro plan.",
        groundwork::seed::ORG_SLUG
    );
    println!("Sign in with password {:?} as:", groundwork::seed::PASSWORD);
    for (email, name, role) in groundwork::seed::USERS {
        println!("  {email:<22} {name:<15} {}", role.as_str());
    }
    core.shutdown.cancel();
    Ok(())
}

/// Asks the local server's `/readyz` with a bare HTTP/1.0 request, so the
/// container image needs no HTTP client of its own.
async fn healthcheck(config: &Config) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut addr = config.bind_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    let head = tokio::time::timeout(std::time::Duration::from_secs(3), check)
        .await
        .map_err(|_| format!("no answer from {addr} within 3 s"))?
        .map_err(|e| format!("cannot reach {addr}: {e}"))?;
    if head.ends_with(b" 200") {
        Ok(())
    } else {
        Err(format!(
            "{addr} is not ready: {}",
            String::from_utf8_lossy(&head)
        ))
    }
}
