//! Resident memory of the server binary around a burst of sign-ups:
//!
//!     cargo bench --bench signup_memory -- --signups 200 --settle 30
//!
//! Starts the `groundwork` binary (the one cargo built for this bench, or
//! `--binary PATH`) on a fresh SQLite database on 127.0.0.1, sends that
//! many sign-ups from distinct emails all at once, and prints the process's
//! VmRSS from /proc before, its peak (VmHWM) and while it settles. Linux
//! only: it reads /proc. The server's own settings (PASSWORD_HASH_*,
//! DATABASE_URL for PostgreSQL, ...) pass through from the environment.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use clap::Parser;
use futures_util::future::join_all;
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
struct Args {
    /// Sign-ups sent at once, each from a distinct email.
    #[arg(long, default_value_t = 200)]
    signups: usize,
    /// Seconds to watch memory settle after the burst.
    #[arg(long, default_value_t = 30)]
    settle: u64,
    /// The server binary; by default the one cargo built beside this bench.
    #[arg(long)]
    binary: Option<PathBuf>,
    // `cargo bench` passes this to every bench target.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A field of /proc/PID/status, in kB.
fn status_kb(pid: u32, field: &str) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("malformed status line")?
        .parse()?)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// Kills the server however the bench ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(binary: &Path, dir: &Path, port: u16) -> Result<Server, Error> {
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail)?;
    let mut command = Command::new(binary);
    command
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("MAIL_URL", format!("file:{}", mail.display()))
        .env("RATE_LIMIT_SIGNUP_IP", "100000/1h")
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or("warn".into()),
        )
        .env("LOG_FORMAT", "json")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if std::env::var_os("DATABASE_URL").is_none() {
        let db = dir.join("bench.db");
        command.env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        );
    }
    Ok(Server(command.spawn()?))
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(res) = http.get(format!("{base}/readyz")).send().await
            && res.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the server did not become ready within 60 s".into())
}

async fn sign_up(http: &reqwest::Client, base: &str, n: usize) -> String {
    let body = json!({
        "query": "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
        "variables": { "input": {
            "email": format!("burst{n}@example.com"),
            "password": "correct horse battery",
            "name": format!("Burst {n}"),
        } },
    });
    let answer: Result<Value, _> = async {
        http.post(format!("{base}/graphql"))
            .json(&body)
            .send()
            .await?
            .json()
            .await
    }
    .await;
    match answer {
        Ok(v) => v["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("OK")
            .to_owned(),
        Err(e) => format!("transport error: {e}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Args::parse();
    let binary = args
        .binary
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_groundwork")));
    let dir = std::env::temp_dir().join(format!("gw-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let server = start(&binary, &dir, port)?;
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    wait_ready(&http, &base).await?;
    // Let start-up allocations settle before the baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = status_kb(pid, "VmRSS")?;
    println!("binary: {}", binary.display());
    println!("before:            VmRSS {}", mb(before));

    let started = Instant::now();
    let burst = join_all((0..args.signups).map(|n| sign_up(&http, &base, n))).await;
    let took = started.elapsed();
    let mut outcomes: Vec<(String, usize)> = Vec::new();
    for code in burst {
        match outcomes.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => outcomes.push((code, 1)),
        }
    }
    println!(
        "burst:             {} sign-ups at once in {:.1} s: {outcomes:?}",
        args.signups,
        took.as_secs_f64()
    );
    println!("peak:              VmHWM {}", mb(status_kb(pid, "VmHWM")?));
    println!("right after:       VmRSS {}", mb(status_kb(pid, "VmRSS")?));
    let settle_started = Instant::now();
    for mark in [1, 5, 10, 20, 30, 60, 120] {
        if mark > args.settle {
            break;
        }
        let at = Duration::from_secs(mark);
        tokio::time::sleep(at.saturating_sub(settle_started.elapsed())).await;
        println!(
            "{:<18} VmRSS {}",
            format!("after {mark} s:"),
            mb(status_kb(pid, "VmRSS")?)
        );
    }
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
