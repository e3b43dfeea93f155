//! Memory after a burst: the server binary (with its allocator) takes 200
//! sign-ups at once, then gives the memory back. Runs the real binary,
//! since the allocator is the binary's, not this test's.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

use crate::support::ops;

/// Resident memory of a process, in MB, from /proc.
fn resident_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server runs");
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kb / 1024.0
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_memory_settles_after_a_burst_of_sign_ups() {
    let dir = std::env::temp_dir().join(format!("groundwork-memory-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_groundwork"))
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/db.sqlite?mode=rwc", dir.display()),
            )
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("MAIL_URL", format!("file:{}", dir.display()))
            .env("RATE_LIMIT_SIGNUP_IP", "1000/1h")
            .env("METRICS", "off")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server binary starts"),
    );
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never came up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let burst = (0..200).map(|i| {
        let http = http.clone();
        let url = format!("{base}/graphql");
        async move {
            let body = json!({
                "query": ops::SIGN_UP,
                "variables": { "input": {
                    "email": format!("burst{i}@example.com"),
                    "password": crate::support::PASSWORD,
                    "name": format!("Burst {i}"),
                } },
            });
            let answer: serde_json::Value = http
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("an answer")
                .json()
                .await
                .expect("JSON");
            answer["data"]["signUp"]["token"].is_string()
        }
    });
    let signed_up = futures_util::future::join_all(burst)
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count();
    assert_eq!(signed_up, 200);

    // jemalloc gives freed pages back from a background thread within
    // about a second; glibc kept some 800 MB here.
    let settle = Instant::now();
    let mut resident = resident_mb(pid);
    while resident >= 100.0 && settle.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        resident = resident_mb(pid);
    }
    assert!(
        resident < 100.0,
        "{resident:.1} MB resident after the burst"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
