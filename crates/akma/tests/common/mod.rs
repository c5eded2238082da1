//! Helpers shared by the tests that run `akma` network functions as child processes: thin
//! adapters over the harness of `akma_sim::child`.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use akma_sim::child::NfCommand;

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

/// `akma demo ARGS…` as a reader runs it (its own default logging): exit status, stdout,
/// stderr.
pub fn demo(args: &[&str]) -> (i32, String, String) {
    let out = akma()
        .arg("demo")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run akma demo");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    )
}

/// `akma <nf> --dev --listen 127.0.0.1:0` with the same environment rules as [`akma`].
pub fn nf_command(nf: &str) -> NfCommand {
    NfCommand::new(env!("CARGO_BIN_EXE_akma"), nf).without_env_prefix("AKMA_")
}

/// A network function (`akma aanf`, `akma udm`, …) running as a child process in development
/// mode on a loopback port of the kernel's choosing, its stderr in a log file; killed
/// (SIGKILL) when dropped.
pub struct ChildNf {
    nf: akma_sim::ChildNf,
    /// `127.0.0.1:port`, as the child printed it.
    pub addr: String,
}

impl ChildNf {
    /// Starts `akma <nf> --dev --listen 127.0.0.1:0 --data <data>` and reads its address.
    pub async fn spawn(nf: &'static str, data: &Path, log: PathBuf) -> Self {
        let nf = nf_command(nf)
            .data(data)
            .log_to(log)
            .spawn()
            .await
            .unwrap_or_else(|e| panic!("start akma {nf}: {e}"));
        Self {
            addr: nf.sbi_addr().to_string(),
            nf,
        }
    }

    /// What the process wrote to stderr so far.
    pub fn log_text(&self) -> String {
        self.nf.log_text()
    }

    /// Polls `GET /readyz` until 200; fails if the process exits or the harness's bound
    /// (`akma_sim::child::READY_BOUND`) passes.
    /// (The probe client is the harness's own; the argument is kept for the callers.)
    pub async fn wait_ready(&mut self, _client: &reqwest::Client) {
        if let Err(e) = self.nf.wait_ready().await {
            panic!("{e}:\n{}", self.log_text());
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> u32 {
        self.nf.pid().expect("running")
    }

    /// SIGTERM, then its exit status (a bound against a hang, not a timing assertion).
    pub async fn terminate(&mut self) -> ExitStatus {
        self.nf.terminate().await.expect("exits after SIGTERM")
    }

    /// SIGKILL (`Child::kill` on Unix) and reap.
    pub fn kill9(&mut self) {
        let status = self.nf.kill9().expect("SIGKILL");
        assert!(!status.success(), "killed process exited cleanly: {status}");
    }
}

/// An HTTP/2 prior-knowledge (h2c) client with a bound on each request.
pub fn h2c() -> reqwest::Client {
    akma_sim::answer::h2c_client().unwrap()
}

/// The Prometheus text of an in-process NF: `GET /metrics` on its ops listener, else on its
/// SBI listener (`metrics_of!(net.udm)`).
#[macro_export]
macro_rules! metrics_of {
    ($nf:expr) => {
        common::metrics_at($nf.ops_addr.unwrap_or($nf.addr))
    };
}

/// POSTs `body` as JSON to `url` (h2c or HTTP/1.1, as `client` speaks): the status and the
/// JSON answer (`Null` when there is none).
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = client.post(url).json(body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// `GET http://{addr}/metrics`.
pub async fn metrics_at(addr: std::net::SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits (up to 10 s) until the sample `name{labels}` of the NF at `addr` is `want`, and
/// returns the exposition it was read from; panics with the last one otherwise. For a
/// figure counted after an answer was sent (the peer may see the answer first).
pub async fn sample_reaches(
    addr: std::net::SocketAddr,
    name: &str,
    labels: &str,
    want: u64,
) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = metrics_at(addr).await;
        if sample(&text, name, labels) == want {
            return text;
        }
        if std::time::Instant::now() > deadline {
            panic!("{name}{{{labels}}} did not reach {want}:\n{text}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The value of the sample `name{labels}` (or `name` when `labels` is empty) in a Prometheus
/// text exposition.
pub fn sample(text: &str, name: &str, labels: &str) -> u64 {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in\n{text}"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}
