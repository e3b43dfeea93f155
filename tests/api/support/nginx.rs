//! Debian's nginx in front of server processes, with the load balancer's
//! configuration of `deploy/replicas` (only the list of replicas and the
//! port are this test's own).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct Nginx {
    child: Child,
    dir: PathBuf,
    pub base_url: String,
}

impl Nginx {
    /// nginx on a free port of 127.0.0.1 balancing over `replicas`
    /// (host:port each).
    pub async fn start(replicas: &[String]) -> Self {
        let binary = [
            "/usr/sbin/nginx",
            "/usr/local/sbin/nginx",
            "/usr/local/bin/nginx",
        ]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("nginx is installed (Debian: apt-get install nginx); .ci/run installs it");
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/replicas");
        let dir = std::env::temp_dir().join(format!("groundwork-nginx-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(deploy.join("nginx.conf"), dir.join("nginx.conf")).unwrap();
        let servers: String = replicas
            .iter()
            .map(|r| format!("    server {r} max_fails=1 fail_timeout=5s;\n"))
            .collect();
        std::fs::write(
            dir.join("upstream.conf"),
            format!("upstream groundwork {{\n{servers}    keepalive 32;\n}}\n"),
        )
        .unwrap();
        let port = super::fake_smtp::free_port().await;
        std::fs::write(
            dir.join("listen.conf"),
            format!("listen 127.0.0.1:{port};\n"),
        )
        .unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .args(["-e", "stderr", "-c"])
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not listen within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            dir,
            base_url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGKILL would leave the workers behind holding the test's stderr;
        // SIGTERM makes the master stop them before it exits.
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
