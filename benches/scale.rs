//! One organization of a million projects against one of fifty, on a fresh
//! PostgreSQL database, the server started in-process:
//!
//!     cargo bench --bench scale -- --projects 1000000
//!
//! Prints the median time of each request (after warm-up) in both
//! organizations and their ratio: the organization page (entitlements and
//! the first 10 projects with totalCount), a name search that finds one
//! project, and a deep keyset page (page 1000 of the big one, the last of
//! the small one); it exits 1 when a ratio passes `--max-ratio`. A search
//! that matches every project is printed too, for what it is: its exact
//! totalCount reads every match.

mod common;

use std::time::{Duration, Instant};

use clap::Parser;
use common::{Api, Error, ms, percentile};
use groundwork::{
    AppState,
    ids::{OrganizationId, TypedId, UserId},
};
use sea_orm::{ConnectionTrait, Statement, Value as DbValue};
use serde_json::{Value, json};

const ORGANIZATION_PAGE: &str = "query Page($id: ID!) {
  organization(id: $id) {
    entitlements { plan { id } projects { used limit } members { used limit } }
    projects(first: 10) { totalCount edges { node { id name createdAt } } }
  }
}";

const SEARCH: &str = "query Search($id: ID!, $search: String!) {
  organization(id: $id) {
    projects(first: 10, filter: { search: $search }) { totalCount edges { node { id name } } }
  }
}";

const KEYSET_PAGE: &str = "query Keyset($id: ID!, $first: Int!, $after: String) {
  organization(id: $id) {
    projects(first: $first, after: $after) { edges { node { id name } } pageInfo { endCursor hasNextPage } }
  }
}";

const PER_PAGE: usize = 10;
const DEEP_PAGE: usize = 1000;

#[derive(Parser)]
#[command(about = "The organization page, name search and a deep page at a million projects")]
struct Args {
    #[command(flatten)]
    common: common::CommonArgs,
    /// Projects of the big organization (at least 10,000, for page 1000).
    #[arg(long, default_value_t = 1_000_000)]
    projects: usize,
    /// Projects of the small organization.
    #[arg(long, default_value_t = 50)]
    small: usize,
    /// Timed requests per case; the median is reported.
    #[arg(long, default_value_t = 15)]
    repeats: usize,
    /// The largest big/small ratio of medians that passes.
    #[arg(long, default_value_t = 1.5)]
    max_ratio: f64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.projects < PER_PAGE * DEEP_PAGE || args.small < 2 * PER_PAGE {
        common::fail(format!(
            "--projects must be at least {} and --small at least {}",
            PER_PAGE * DEEP_PAGE,
            2 * PER_PAGE
        ));
    }
    let server = args.common.database_url.clone();
    common::with_database(&server, |url| async move {
        let vars = common::server_vars(&url, 10);
        common::with_server(vars, |base, state| cases(args, base, state)).await
    })
    .await;
}

struct Org {
    id: OrganizationId,
    projects: usize,
}

impl Org {
    fn global(&self) -> String {
        self.id.global()
    }
}

async fn cases(args: Args, base: String, state: AppState) -> Result<(), Error> {
    let mut api = Api::new(base, 1)?;
    let viewer = UserId::parse_global(&api.sign_up("viewer@bench.test").await?)
        .map_err(|e| format!("{e:?}"))?;
    let started = Instant::now();
    let small = organization(&api, &state, viewer, "Small", args.small).await?;
    let big = organization(&api, &state, viewer, "Big", args.projects).await?;
    let seeded = started.elapsed();
    state.db.execute_unprepared("ANALYZE").await?;

    // Names are "Project 0000001" on: each number once per organization.
    let rare = |org: &Org| format!("{:07}", org.projects / 2 + 1);
    let mut rows = Vec::new();
    for (case, make) in [
        (
            "organization page",
            Box::new(|org: &Org| (ORGANIZATION_PAGE, json!({ "id": org.global() })))
                as Box<dyn Fn(&Org) -> (&'static str, Value)>,
        ),
        (
            "search, one match",
            Box::new(|org: &Org| (SEARCH, json!({ "id": org.global(), "search": rare(org) }))),
        ),
    ] {
        let (q, v) = make(&small);
        let small_time = median(&api, q, &v, args.repeats).await?;
        let (q, v) = make(&big);
        let big_time = median(&api, q, &v, args.repeats).await?;
        rows.push((case.to_owned(), small_time, big_time));
    }
    // A deep page: the last full page of the small organization, page 1000
    // of the big one, each reached page by page as a client would.
    let small_deep = (small.projects / PER_PAGE).min(DEEP_PAGE);
    let small_cursor = walk(&api, &small, small_deep - 1).await?;
    let big_cursor = walk(&api, &big, DEEP_PAGE - 1).await?;
    let page = |org: &Org, after: &Option<String>| json!({ "id": org.global(), "first": PER_PAGE, "after": after });
    let small_time = median(
        &api,
        KEYSET_PAGE,
        &page(&small, &small_cursor),
        args.repeats,
    )
    .await?;
    let big_time = median(&api, KEYSET_PAGE, &page(&big, &big_cursor), args.repeats).await?;
    rows.push((
        format!("page {small_deep} / page {DEEP_PAGE}"),
        small_time,
        big_time,
    ));
    let every = |org: &Org| json!({ "id": org.global(), "search": "project" });
    let every_small = median(&api, SEARCH, &every(&small), args.repeats).await?;
    let every_big = median(&api, SEARCH, &every(&big), args.repeats.min(5)).await?;

    println!(
        "\nGroundwork at scale: one organization of {} projects against one of {}",
        big.projects, small.projects
    );
    println!(
        "  seeded in {seeded:.1?}; median of {} requests each, after warm-up\n",
        args.repeats
    );
    println!("  case                        small ms     big ms   ratio");
    let mut worst: f64 = 0.0;
    for (case, small_time, big_time) in &rows {
        let ratio = ms(*big_time) / ms(*small_time);
        worst = worst.max(ratio);
        println!(
            "  {case:<26}{:>10.2}{:>11.2}{ratio:>8.2}",
            ms(*small_time),
            ms(*big_time)
        );
    }
    println!(
        "  {:<26}{:>10.2}{:>11.2}{:>8.2}   (reads every match; not held to the bound)",
        "search, every project",
        ms(every_small),
        ms(every_big),
        ms(every_big) / ms(every_small)
    );
    println!("\n  worst ratio {worst:.2} (want <= {})\n", args.max_ratio);
    if worst > args.max_ratio {
        return Err(format!("a ratio of {worst:.2} passes {}", args.max_ratio).into());
    }
    Ok(())
}

/// A team-plan organization of the viewer's with `projects` projects, made
/// through the API and filled by one bulk INSERT, its counters with it.
async fn organization(
    api: &Api,
    state: &AppState,
    viewer: UserId,
    name: &str,
    projects: usize,
) -> Result<Org, Error> {
    let data = api
        .gql(
            "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }",
            json!({ "input": { "name": name } }),
        )
        .await?;
    let id =
        OrganizationId::parse_global(data["createOrganization"]["id"].as_str().ok_or("no id")?)
            .map_err(|e| format!("{e:?}"))?;
    let db = &state.db;
    let backend = db.get_database_backend();
    let run = |sql: &str, values: Vec<DbValue>| {
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
    };
    run(
        "INSERT INTO plan_grants (organization_id, plan_id, until, created_at) VALUES ($1, 'team', NULL, now())",
        vec![id.into()],
    )
    .await?;
    // Created a millisecond apart, the newest last, with ids in that order
    // as UUIDv7 ids are.
    run(
        "INSERT INTO projects (id, organization_id, name, name_folded, created_by, created_at, updated_at) \
         SELECT (lpad(to_hex(n), 12, '0') || '7000' || '8000' || substr(md5($1::text), 1, 12))::uuid, $1, \
                'Project ' || lpad(n::text, 7, '0'), 'project ' || lpad(n::text, 7, '0'), $2, \
                now() - ($3 - n) * interval '1 ms', now() \
         FROM generate_series(1, $3) AS n",
        vec![id.into(), viewer.into(), (projects as i64).into()],
    )
    .await?;
    run(
        "INSERT INTO usage_counters (organization_id, name, value) VALUES ($1, 'projects', $2) \
         ON CONFLICT (organization_id, name) DO UPDATE SET value = excluded.value",
        vec![id.into(), (projects as i64).into()],
    )
    .await?;
    Ok(Org { id, projects })
}

/// The median time of `repeats` answers to one request, after three.
async fn median(
    api: &Api,
    query: &str,
    variables: &Value,
    repeats: usize,
) -> Result<Duration, Error> {
    for _ in 0..3 {
        api.gql(query, variables.clone()).await?;
    }
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        api.gql(query, variables.clone()).await?;
        times.push(t.elapsed());
    }
    Ok(percentile(&times, 50.0))
}

/// The cursor after `pages` pages of the organization's projects.
async fn walk(api: &Api, org: &Org, pages: usize) -> Result<Option<String>, Error> {
    let mut after: Option<String> = None;
    for n in 0..pages {
        let vars = json!({ "id": org.global(), "first": PER_PAGE, "after": after });
        let info =
            api.gql(KEYSET_PAGE, vars).await?["organization"]["projects"]["pageInfo"].clone();
        if info["hasNextPage"] != json!(true) {
            return Err(format!("no page after page {}", n + 1).into());
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    Ok(after)
}
