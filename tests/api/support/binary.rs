//! The `groundwork` binary serving on a free port, as it runs in production:
//! for what is process-wide (trace export) and for several replicas.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use serde_json::Value;

pub struct Binary {
    child: Child,
    /// host:port it listens on.
    pub addr: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Binary {
    /// Starts `groundwork serve` with `vars` over a few defaults (its own
    /// port, JSON logs, mail printed) and waits until it listens.
    pub fn start(vars: &[(&str, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_groundwork"))
            // Away from the checkout, so a developer's .env does not apply.
            .current_dir(std::env::temp_dir())
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("MAIL_URL", "log")
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start groundwork");
        let stdout = child.stdout.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (listening, addr) = mpsc::channel();
        let lines = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let entry: Value = serde_json::from_str(&line).unwrap_or_default();
                if entry["message"] == "listening" {
                    let _ = listening.send(entry["addr"].as_str().unwrap_or_default().to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = addr
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs its address within 60 s");
        Self { child, addr, logs }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server with SIGTERM as an orchestrator would; returns its
    /// log lines.
    pub fn stop(mut self) -> Vec<String> {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
        self.logs.lock().unwrap().clone()
    }

    /// Ends the process at once, as a crash or a lost machine would.
    pub fn kill(mut self) {
        self.child.kill().expect("kill groundwork");
        let _ = self.child.wait();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
