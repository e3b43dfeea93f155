//! Load on the Dashboard query and on createProject, against the real server
//! on a fresh PostgreSQL database seeded by bulk SQL:
//!
//!     cargo bench --bench dashboard -- --projects 100000 --concurrency 8
//!
//! Prints requests per second, p50/p99 latency and SQL statements per request
//! (from `/metrics`) for each scenario, and the latency of the first and of
//! the 1000th keyset page of the biggest organization's projects.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use chrono::Utc;
use clap::Parser;
use groundwork::{
    AppState,
    access::Role,
    auth::entity::user,
    billing::entitlements,
    counters,
    email::EmailAddress,
    ids::{OrganizationId, TypedId, UserId},
    orgs::entity::{MembershipId, membership, organization},
    projects::{
        PROJECTS,
        entity::{ProjectId, project},
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
};
use serde_json::{Value, json};

mod common;

use common::{Api, Error, ms, percentile, redact};

const DASHBOARD: &str = "query Dashboard {
  viewer {
    id name email
    organizations(first: 20) {
      totalCount
      edges { node {
        id name slug viewerRole
        entitlements { plan { id name } projects { used limit } members { used limit } }
        members(first: 10) { totalCount edges { node { role user { id name email } } } }
        projects(first: 10) { totalCount edges { node { id name createdAt createdBy { id name } } } }
      } }
    }
  }
}";

const CREATE_PROJECT: &str = "mutation Create($input: CreateProjectInput!) {
  createProject(input: $input) { id }
}";

const PROJECT_PAGE: &str = "query Page($id: ID!, $first: Int!, $after: String) {
  organization(id: $id) {
    projects(first: $first, after: $after) { edges { cursor } pageInfo { endCursor hasNextPage } }
  }
}";

/// Organizations the viewer belongs to, besides the personal one signUp makes.
const ORGS: usize = 20;
/// Members of each, the viewer included.
const MEMBERS: usize = 10;
/// Rows per INSERT.
const BATCH: usize = 1000;
/// The keyset page compared with the first one.
const DEEP_PAGE: usize = 1000;

#[derive(Parser)]
#[command(about = "Dashboard and createProject load against a real server on PostgreSQL")]
struct Args {
    #[command(flatten)]
    common: common::CommonArgs,
    /// Projects to seed; half go to one big organization (at least 1000, for page 1000).
    #[arg(long, default_value_t = 1000)]
    projects: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Measured requests per scenario.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Fetches of page 1 and of page 1000 whose median is reported.
    #[arg(long, default_value_t = 20)]
    page_repeats: usize,
    /// The server's connection pool size.
    #[arg(long, default_value_t = 20)]
    db_connections: u32,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let server = args.common.database_url.clone();
    common::with_database(&server, |url| run(args, url)).await;
}

/// Starts the server on the fresh database, runs the scenarios, stops it.
async fn run(args: Args, database_url: url::Url) -> Result<(), Error> {
    let vars = common::server_vars(&database_url, args.db_connections);
    common::with_server(vars, |base, state| async move {
        scenarios(&args, &state, base, &database_url).await
    })
    .await
}

async fn scenarios(
    args: &Args,
    state: &AppState,
    base: String,
    db: &url::Url,
) -> Result<(), Error> {
    let mut api = Api::new(base, args.concurrency)?;
    let viewer_id = api.sign_up("viewer@bench.test").await?;
    let viewer_id = UserId::parse_global(&viewer_id).map_err(|e| format!("{e:?}"))?;

    let started = Instant::now();
    let seeded = seed(state, viewer_id, args.projects).await?;
    let seed_time = started.elapsed();

    // What one Dashboard answer holds, to show the query does the work meant.
    let sample = api.gql(DASHBOARD, json!({})).await?["viewer"]["organizations"].clone();
    let shown = sample["edges"].as_array().cloned().unwrap_or_default();
    let count = |list: &str| -> usize {
        let edges = |e: &Value| e["node"][list]["edges"].as_array().map_or(0, Vec::len);
        shown.iter().map(edges).sum()
    };
    let (of, members, projects) = (&sample["totalCount"], count("members"), count("projects"));

    let dashboard = load(&api, args, |_| (DASHBOARD, json!({}))).await?;
    let pages = keyset_pages(&api, &seeded, args.page_repeats).await?;
    let orgs: Vec<String> = seeded.orgs.iter().map(|o| o.global()).collect();
    let create = load(&api, args, |i| {
        let input = json!({
            "organizationId": orgs[i % orgs.len()],
            "name": format!("Load project {i}"),
            "description": "Created by the dashboard benchmark.",
        });
        (CREATE_PROJECT, json!({ "input": input }))
    })
    .await?;

    let (db, total, big) = (redact(db), seeded.total, seeded.big);
    let (others, rest) = (ORGS - 1, seeded.total - seeded.big);
    let (concurrency, requests, pool) = (args.concurrency, args.requests, args.db_connections);
    let warm = warmup(args);
    let shown = shown.len();
    println!("\nGroundwork dashboard benchmark");
    println!("  database     {db} (dropped at the end)");
    println!("  seeded       {total} projects in {seed_time:.1?}");
    println!("  layout       {ORGS} team organizations of {MEMBERS} members, + the personal one");
    println!("               big organization {big} projects, the other {others} share {rest}");
    println!(
        "  dashboard    shows {shown} of {of} organizations, {members} members, {projects} projects"
    );
    println!("  concurrency  {concurrency}; server pool {pool} connections");
    println!("  requests     {requests} per scenario, after {warm} warm-up requests");
    println!("\n  scenario       requests    req/s   p50 ms   p99 ms   max ms  SQL/request");
    for (label, r) in [("Dashboard", &dashboard), ("createProject", &create)] {
        let n = r.latencies.len();
        let rps = n as f64 / r.wall.as_secs_f64();
        let [p50, p99, max] = [50.0, 99.0, 100.0].map(|p| ms(percentile(&r.latencies, p)));
        let sql = r.statements as f64 / n as f64;
        println!("  {label:<14}{n:>9}{rps:>9.1}{p50:>9.2}{p99:>9.2}{max:>9.2}{sql:>13.2}");
    }
    let (per_page, repeats) = (pages.per_page, pages.first.len());
    let first = ms(percentile(&pages.first, 50.0));
    let deep = ms(percentile(&pages.deep, 50.0));
    println!("\n  keyset pages of the big organization (first: {per_page}), median of {repeats}");
    println!("    page 1     {first:>8.2} ms");
    println!("    page {DEEP_PAGE}  {deep:>8.2} ms\n");
    Ok(())
}

struct Pages {
    per_page: usize,
    first: Vec<Duration>,
    deep: Vec<Duration>,
}

/// Times page 1 and page 1000 of the big organization's projects. Page 1000
/// is reached as a client would, one page after another; then both are
/// fetched again and again, page 1000 with the saved cursor.
async fn keyset_pages(api: &Api, seeded: &Seeded, repeats: usize) -> Result<Pages, Error> {
    let per_page = match seeded.big {
        big if big >= 20 * DEEP_PAGE => 20,
        big => (big / DEEP_PAGE).max(1),
    };
    let page = |after: Option<&str>| {
        let vars = json!({ "id": seeded.orgs[0].global(), "first": per_page, "after": after });
        async move {
            let data = api.gql(PROJECT_PAGE, vars).await?;
            Ok::<_, Error>(data["organization"]["projects"].clone())
        }
    };
    let mut after: Option<String> = None;
    for n in 1..DEEP_PAGE {
        let info = page(after.as_deref()).await?["pageInfo"].clone();
        if info["hasNextPage"] != json!(true) {
            return Err(format!("the big organization has no page after page {n}").into());
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    let edges = page(after.as_deref()).await?["edges"].clone();
    if edges.as_array().map_or(0, Vec::len) != per_page {
        return Err(format!("page {DEEP_PAGE} is not full: {edges}").into());
    }
    let (mut first, mut deep) = (Vec::new(), Vec::new());
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        page(None).await?;
        first.push(t.elapsed());
        let t = Instant::now();
        page(after.as_deref()).await?;
        deep.push(t.elapsed());
    }
    Ok(Pages {
        per_page,
        first,
        deep,
    })
}

struct Run {
    latencies: Vec<Duration>,
    wall: Duration,
    /// SQL statements the server ran during the measured requests.
    statements: u64,
}

fn warmup(args: &Args) -> usize {
    args.concurrency * 4
}

/// `args.requests` operations (the i-th built by `op(i)`), `args.concurrency`
/// at a time, after a warm-up that fills both sides' connection pools.
async fn load<F>(api: &Api, args: &Args, op: F) -> Result<Run, Error>
where
    F: Fn(usize) -> (&'static str, Value),
{
    let (warm, c) = (warmup(args), args.concurrency);
    drive(api, 0..warm, c, &op).await?;
    let before = api.statements().await?;
    let started = Instant::now();
    let latencies = drive(api, warm..warm + args.requests, c, &op).await?;
    let wall = started.elapsed();
    let statements = api.statements().await? - before;
    Ok(Run {
        latencies,
        wall,
        statements,
    })
}

/// The operations in `range`, by `concurrency` workers that each take the
/// next index as soon as their request is answered.
async fn drive<F>(
    api: &Api,
    range: std::ops::Range<usize>,
    concurrency: usize,
    op: &F,
) -> Result<Vec<Duration>, Error>
where
    F: Fn(usize) -> (&'static str, Value),
{
    let (next, end) = (&AtomicUsize::new(range.start), range.end);
    let workers = (0..concurrency.max(1)).map(|_| async move {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= end {
                return Ok::<_, Error>(mine);
            }
            let (query, variables) = op(i);
            let t = Instant::now();
            api.gql(query, variables).await?;
            mine.push(t.elapsed());
        }
    });
    // The first error stops every worker.
    let all = futures_util::future::try_join_all(workers).await?;
    Ok(all.into_iter().flatten().collect())
}

struct Seeded {
    /// The viewer's team organizations; the first is the big one.
    orgs: Vec<OrganizationId>,
    big: usize,
    total: usize,
}

/// Users, organizations, memberships and projects by bulk INSERT, far faster
/// than the API. The viewer owns every organization, each on the team plan
/// (no limits), so createProject is never refused.
async fn seed(state: &AppState, viewer_id: UserId, projects: usize) -> Result<Seeded, Error> {
    let (db, now) = (&state.db, Utc::now());
    let (mut users, mut orgs, mut memberships) = (Vec::new(), Vec::new(), Vec::new());
    let mut members_of = Vec::new();
    for o in 0..ORGS {
        let org_id = OrganizationId::new();
        orgs.push(organization::ActiveModel {
            id: Set(org_id),
            name: Set(format!("Bench Org {o:02}")),
            slug: Set(format!("bench-org-{o:02}")),
            personal: Set(false),
            created_by: Set(Some(viewer_id)),
            created_at: Set(now),
            updated_at: Set(now),
        });
        let mut members = vec![viewer_id];
        for m in 1..MEMBERS {
            members.push(UserId::new());
            let email = EmailAddress::parse("email", &format!("member{m}.org{o:02}@bench.test"))
                .map_err(|e| format!("{e:?}"))?;
            users.push(user::ActiveModel {
                id: Set(members[m]),
                email: Set(email),
                name: Set(format!("Member {m} of {o:02}")),
                avatar_url: Set(None),
                email_verified_at: Set(Some(now)),
                password_hash: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        for (m, user_id) in members.iter().enumerate() {
            memberships.push(membership::ActiveModel {
                id: Set(MembershipId::new()),
                organization_id: Set(org_id),
                user_id: Set(*user_id),
                role: Set([Role::Owner, Role::Admin, Role::Member, Role::Viewer][m.min(3)]),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        members_of.push((org_id, members));
    }
    insert_batched(db, users).await?;
    insert_batched(db, orgs).await?;
    insert_batched(db, memberships).await?;
    for (org_id, members) in &members_of {
        entitlements::grant(db, &state.core, *org_id, "team", None)
            .await
            .map_err(|e| format!("cannot grant the team plan: {e:?}"))?;
        counters::add(db, *org_id, counters::MEMBERS, members.len() as i64).await?;
    }

    // Half the projects in the big organization, but never fewer than page
    // 1000 needs (one per page); the other half spread evenly.
    let big = (projects / 2).max(DEEP_PAGE);
    let rest = projects - projects / 2;
    let count = |o: usize| match o {
        0 => big,
        _ => rest / (ORGS - 1) + usize::from(o <= rest % (ORGS - 1)),
    };
    // Made lazily, so only one batch is in memory at a time.
    let rows = members_of
        .iter()
        .enumerate()
        .flat_map(|(o, (org_id, members))| {
            (0..count(o)).map(move |p| {
                let at = Utc::now();
                project::ActiveModel {
                    id: Set(ProjectId::new()),
                    organization_id: Set(*org_id),
                    name: Set(format!("Project {p:06}")),
                    name_folded: Set(format!("project {p:06}")),
                    description: Set(Some(format!("Seeded project {p} of organization {o}."))),
                    // An owner, admin or member: viewers cannot create projects.
                    created_by: Set(Some(members[p % 3])),
                    created_at: Set(at),
                    updated_at: Set(at),
                    archived_at: Set(None),
                }
            })
        });
    insert_batched(db, rows).await?;
    for (o, (org_id, _)) in members_of.iter().enumerate() {
        counters::add(db, *org_id, PROJECTS.counter(), count(o) as i64).await?;
    }
    // Fresh statistics, as a database that has been running for a while has.
    db.execute_unprepared("ANALYZE").await?;
    let orgs = members_of.into_iter().map(|(id, _)| id).collect();
    let total = big + rest;
    Ok(Seeded { orgs, big, total })
}

async fn insert_batched<A: ActiveModelTrait>(
    db: &DatabaseConnection,
    rows: impl IntoIterator<Item = A>,
) -> Result<(), Error> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(BATCH).collect();
        A::Entity::insert_many(batch)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
