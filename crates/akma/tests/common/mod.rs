//! Helpers shared by the tests that run `akma` network functions as child processes.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A guard against a hung child, not a timing assertion.
pub const READY_BOUND: Duration = Duration::from_secs(60);

/// The `akma` binary with no AKMA configuration, key or address from the environment (only
/// the flags count) and warnings-only logs.
pub fn akma() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_akma"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AKMA_") {
            c.env_remove(&k);
        }
    }
    c.env("RUST_LOG", "warn");
    c
}

/// A free loopback port (the server is told it explicitly, as a user would).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A network function (`akma aanf`, `akma udm`, …) running as a child process in development
/// mode on a free loopback port, its stderr in a log file; killed (SIGKILL) when dropped.
pub struct ChildNf {
    /// The process, until it is killed or taken.
    pub child: Option<Child>,
    /// `127.0.0.1:port`.
    pub addr: String,
    name: &'static str,
    log: PathBuf,
}

impl ChildNf {
    /// Starts `akma <nf> --dev --listen <free port> --data <data>`.
    pub fn spawn(nf: &'static str, data: &Path, log: PathBuf) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = akma()
            .args([nf, "--dev", "--listen", &addr, "--data"])
            .arg(data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("start akma {nf}: {e}"));
        Self {
            child: Some(child),
            addr,
            name: nf,
            log,
        }
    }

    /// What the process wrote to stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `GET /readyz` until 200; fails if the process exits or [`READY_BOUND`] passes.
    pub async fn wait_ready(&mut self, client: &reqwest::Client) {
        let url = format!("http://{}/readyz", self.addr);
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "akma {} exited with {status} before ready:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if let Ok(r) = client.get(&url).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                start.elapsed() < READY_BOUND,
                "akma {} not ready after {READY_BOUND:?}:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL (`Child::kill` on Unix) and reap.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed process exited cleanly: {status}");
    }
}

impl Drop for ChildNf {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An HTTP/2 prior-knowledge (h2c) client with a bound on each request.
pub fn h2c() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}
