//! The child-process NF harness: an `akma <nf>` server run as a child process of a test or a
//! benchmark.
//!
//! [`NfCommand`] starts `<exe> <nf> --dev --listen 127.0.0.1:0 <args…>` (the binary path is
//! passed in: `env!("CARGO_BIN_EXE_akma")` in tests, `std::env::current_exe()` in the bench)
//! and reads the child's stdout until the line
//!
//! ```text
//! listening sbi=<ip:port>[ ops=<ip:port>]
//! ```
//!
//! which every NF server prints once, flushed, right after binding (its logs go to stderr).
//! [`NfCommand::production`] starts it without `--dev` and with `--ops-listen 127.0.0.1:0`
//! instead (TLS and tokens from its `--config`).
//! The port is chosen by the kernel in the child, so no port is ever bound, released and
//! reused (the racy free-port pattern). [`ChildNf::wait_ready`] then polls `GET /readyz` on
//! the ops address (the SBI address when the ops endpoints share it).
//!
//! A [`ChildNf`] can be stopped with SIGTERM ([`ChildNf::terminate`]) or SIGKILL
//! ([`ChildNf::kill9`]) and started again on the same data directory
//! ([`ChildNf::restart`]); it is killed and reaped when dropped.

use std::ffi::OsString;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a child may take to print its address or to become ready: a guard against a
/// hung child, not a timing assertion.
pub const READY_BOUND: Duration = Duration::from_secs(60);

/// The prefix of the one line an NF server prints on stdout once bound.
pub const LISTENING_PREFIX: &str = "listening sbi=";

/// What went wrong with a child network function.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// The process could not be started.
    #[error("cannot start the {name} ({exe}): {source}")]
    Spawn {
        /// The NF's display name.
        name: String,
        /// The binary.
        exe: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The process exited when it should have been running.
    #[error("the {name} exited ({status}){log_tail}")]
    Exited {
        /// The NF's display name.
        name: String,
        /// Its exit status.
        status: ExitStatus,
        /// The end of its stderr log, if it has one (starts with `; `).
        log_tail: String,
    },
    /// The process did not print its address, become ready or exit in time.
    #[error("the {name} did not {what} within {bound:?}{log_tail}")]
    Timeout {
        /// The NF's display name.
        name: String,
        /// What it did not do.
        what: &'static str,
        /// The bound.
        bound: Duration,
        /// The end of its stderr log, if it has one.
        log_tail: String,
    },
    /// The process printed something other than the `listening` line, or closed stdout.
    #[error("the {name} printed {line:?} instead of `listening sbi=<ip:port>[ ops=<ip:port>]`{log_tail}")]
    BadListeningLine {
        /// The NF's display name.
        name: String,
        /// What it printed (empty on end of file).
        line: String,
        /// The end of its stderr log, if it has one.
        log_tail: String,
    },
    /// The process is not running (already killed or stopped).
    #[error("the {name} is not running")]
    NotRunning {
        /// The NF's display name.
        name: String,
    },
    /// Waiting on, signalling or logging the process failed.
    #[error("the {name}: {source}")]
    Io {
        /// The NF's display name.
        name: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Parses the line an NF server prints once bound: `listening sbi=<ip:port>[ ops=<ip:port>]`
/// (or `listening ua=…[ ops=…][ digest=…]` for `akma af`, whose first port is its Ua* TLS-PSK
/// port and whose `digest=` port, HTTPS with AKMA Digest, is not returned here)
/// (trailing whitespace ignored). Returns the SBI address and the ops address, if separate.
pub fn parse_listening_line(line: &str) -> Option<(SocketAddr, Option<SocketAddr>)> {
    // `akma af` names its (TLS-PSK, not SBI) port `ua=`.
    let line = line.trim_end();
    let (rest, af) = match line.strip_prefix(LISTENING_PREFIX) {
        Some(r) => (r, false),
        None => (line.strip_prefix("listening ua=")?, true),
    };
    let mut parts = rest.split(' ').peekable();
    let sbi = parts.next()?.parse().ok()?;
    let ops = match parts.peek() {
        Some(p) if p.starts_with("ops=") => {
            let o = p.strip_prefix("ops=")?.parse().ok()?;
            parts.next();
            Some(o)
        }
        _ => None,
    };
    if af {
        if let Some(p) = parts.next() {
            p.strip_prefix("digest=")?.parse::<SocketAddr>().ok()?;
        }
    }
    if parts.next().is_some() {
        return None;
    }
    Some((sbi, ops))
}

/// Where a child's stderr goes.
#[derive(Debug, Clone)]
enum Stderr {
    Null,
    Inherit,
    File(PathBuf),
}

/// How to start one network function as a child process (a builder; cheap to clone, so that
/// a test can start the same NF again with another log file).
#[derive(Debug, Clone)]
pub struct NfCommand {
    exe: PathBuf,
    nf: String,
    name: String,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    env_remove_prefixes: Vec<String>,
    stderr: Stderr,
    bound: Duration,
    production: bool,
}

impl NfCommand {
    /// `<exe> <nf> --dev --listen 127.0.0.1:0`, stderr discarded, `RUST_LOG=warn`.
    pub fn new(exe: impl Into<PathBuf>, nf: &str) -> Self {
        Self {
            exe: exe.into(),
            nf: nf.to_owned(),
            name: nf.to_owned(),
            args: Vec::new(),
            env: vec![("RUST_LOG".into(), "warn".into())],
            env_remove_prefixes: Vec::new(),
            stderr: Stderr::Null,
            bound: READY_BOUND,
            production: false,
        }
    }

    /// Production mode: no `--dev`, so the child serves TLS with the `[tls]` and checks the
    /// `[oauth2]` of its `--config`; its ops endpoints are on `--ops-listen 127.0.0.1:0`
    /// (plain HTTP on loopback, where [`ChildNf::wait_ready`] polls them). The SBI is then at
    /// [`ChildNf::tls_api_root`].
    pub fn production(mut self) -> Self {
        self.production = true;
        self
    }

    /// The name used in error messages (default: the subcommand, e.g. `aanf`).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// `--data <dir>`.
    pub fn data(self, dir: &Path) -> Self {
        self.arg("--data").arg(dir)
    }

    /// One more argument after `--listen 127.0.0.1:0`.
    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    /// More arguments after `--listen 127.0.0.1:0`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable for the child (`RUST_LOG` is `warn` unless set here).
    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Removes every variable of this process's environment whose name starts with `prefix`
    /// (e.g. `AKMA_`, so that only the flags configure the child).
    pub fn without_env_prefix(mut self, prefix: &str) -> Self {
        self.env_remove_prefixes.push(prefix.to_owned());
        self
    }

    /// The child's stderr (its logs) to this file, appended to (a restart adds to it).
    pub fn log_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.stderr = Stderr::File(path.into());
        self
    }

    /// The child's stderr to this process's stderr.
    pub fn inherit_stderr(mut self) -> Self {
        self.stderr = Stderr::Inherit;
        self
    }

    /// The bound on printing the address, becoming ready and exiting after SIGTERM
    /// (default [`READY_BOUND`]).
    pub fn bound(mut self, bound: Duration) -> Self {
        self.bound = bound;
        self
    }

    /// Starts the child, reads its address and waits until `GET /readyz` answers 200.
    pub async fn start(self) -> Result<ChildNf, HarnessError> {
        let mut nf = self.spawn().await?;
        nf.wait_ready().await?;
        Ok(nf)
    }

    /// Starts the child and reads its address, without waiting for readiness.
    pub async fn spawn(self) -> Result<ChildNf, HarnessError> {
        let (child, sbi, ops) = self.launch().await?;
        Ok(ChildNf {
            cmd: self,
            child: Some(child),
            sbi,
            ops,
        })
    }

    fn log_tail(&self) -> String {
        match &self.stderr {
            Stderr::File(p) => tail_of(p),
            _ => String::new(),
        }
    }

    async fn launch(&self) -> Result<(Child, SocketAddr, Option<SocketAddr>), HarnessError> {
        let mut c = Command::new(&self.exe);
        c.arg(&self.nf);
        if self.production {
            c.args(["--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0"]);
        } else {
            c.args(["--dev", "--listen", "127.0.0.1:0"]);
        }
        c.args(&self.args);
        if !self.env_remove_prefixes.is_empty() {
            for (k, _) in std::env::vars_os() {
                let name = k.to_string_lossy();
                if self
                    .env_remove_prefixes
                    .iter()
                    .any(|p| name.starts_with(p.as_str()))
                {
                    c.env_remove(&k);
                }
            }
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c.stdin(Stdio::null()).stdout(Stdio::piped());
        match &self.stderr {
            Stderr::Null => {
                c.stderr(Stdio::null());
            }
            Stderr::Inherit => {
                c.stderr(Stdio::inherit());
            }
            Stderr::File(p) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|source| self.io(source))?;
                c.stderr(f);
            }
        }
        let mut child = c.spawn().map_err(|source| HarnessError::Spawn {
            name: self.name.clone(),
            exe: self.exe.clone(),
            source,
        })?;
        let Some(stdout) = child.stdout.take() else {
            kill_and_reap(&mut child);
            return Err(self.io(std::io::Error::other("no stdout pipe")));
        };
        // A thread reads the first line, hands it over, then drains stdout so that the child
        // never blocks or fails on a full or closed pipe.
        let (tx, mut rx) = tokio::sync::oneshot::channel::<std::io::Result<String>>();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut first = String::new();
            let r = reader.read_line(&mut first).map(|_| first);
            let _ = tx.send(r);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let deadline = Instant::now() + self.bound;
        let line = loop {
            match tokio::time::timeout(Duration::from_millis(50), &mut rx).await {
                Ok(Ok(Ok(line))) => break line,
                Ok(Ok(Err(e))) => {
                    kill_and_reap(&mut child);
                    return Err(self.io(e));
                }
                Ok(Err(_)) => {
                    kill_and_reap(&mut child);
                    return Err(self.io(std::io::Error::other("stdout reader ended")));
                }
                Err(_) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(self.exited(status));
                    }
                    if Instant::now() > deadline {
                        kill_and_reap(&mut child);
                        return Err(HarnessError::Timeout {
                            name: self.name.clone(),
                            what: "print its listening address",
                            bound: self.bound,
                            log_tail: self.log_tail(),
                        });
                    }
                }
            }
        };
        match parse_listening_line(&line) {
            Some((sbi, ops)) => Ok((child, sbi, ops)),
            None => {
                // End of file: the child exited before binding; say how.
                let exited = if line.is_empty() {
                    wait_briefly(&mut child).await
                } else {
                    None
                };
                kill_and_reap(&mut child);
                Err(match exited {
                    Some(status) => self.exited(status),
                    None => HarnessError::BadListeningLine {
                        name: self.name.clone(),
                        line: line.trim_end().to_owned(),
                        log_tail: self.log_tail(),
                    },
                })
            }
        }
    }

    fn io(&self, source: std::io::Error) -> HarnessError {
        HarnessError::Io {
            name: self.name.clone(),
            source,
        }
    }

    fn exited(&self, status: ExitStatus) -> HarnessError {
        HarnessError::Exited {
            name: self.name.clone(),
            status,
            log_tail: self.log_tail(),
        }
    }
}

/// A network function running as a child process; killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct ChildNf {
    cmd: NfCommand,
    child: Option<Child>,
    sbi: SocketAddr,
    ops: Option<SocketAddr>,
}

impl ChildNf {
    /// The SBI address the child bound (from its `listening` line).
    pub fn sbi_addr(&self) -> SocketAddr {
        self.sbi
    }

    /// The ops address, if the child serves the ops endpoints on a separate listener.
    pub fn ops_addr(&self) -> Option<SocketAddr> {
        self.ops
    }

    /// `http://<sbi address>` (development mode serves h2c).
    pub fn api_root(&self) -> String {
        format!("http://{}", self.sbi)
    }

    /// `https://localhost:<sbi port>`: the SBI of a [`NfCommand::production`] child (the
    /// name its loopback certificate carries).
    pub fn tls_api_root(&self) -> String {
        format!("https://localhost:{}", self.sbi.port())
    }

    /// `http://<ops address>`: where `/readyz`, `/healthz` and `/metrics` are.
    pub fn ops_root(&self) -> String {
        format!("http://{}", self.ops.unwrap_or(self.sbi))
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The NF's display name.
    pub fn name(&self) -> &str {
        &self.cmd.name
    }

    /// What the child wrote to its stderr log so far (empty without [`NfCommand::log_to`]).
    pub fn log_text(&self) -> String {
        match &self.cmd.stderr {
            Stderr::File(p) => std::fs::read_to_string(p).unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// The last lines of the stderr log, as `; its log ends with: …`, or empty.
    pub fn log_tail(&self) -> String {
        self.cmd.log_tail()
    }

    /// An error if the child has exited.
    pub fn check_alive(&mut self) -> Result<(), HarnessError> {
        let child = self.running()?;
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(self.cmd.exited(status)),
            Err(source) => Err(self.cmd.io(source)),
        }
    }

    /// Polls `GET /readyz` (h2c) until it answers 200; fails if the child exits or the bound
    /// passes.
    pub async fn wait_ready(&mut self) -> Result<(), HarnessError> {
        // A client of its own, dropped on return: no connection to the child stays open.
        let probe = reqwest::Client::builder()
            .http2_prior_knowledge()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| self.cmd.io(std::io::Error::other(e)))?;
        let url = format!("{}/readyz", self.ops_root());
        let deadline = Instant::now() + self.cmd.bound;
        loop {
            self.check_alive()?;
            if let Ok(r) = probe.get(&url).send().await {
                if r.status() == reqwest::StatusCode::OK {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(HarnessError::Timeout {
                    name: self.cmd.name.clone(),
                    what: "become ready",
                    bound: self.cmd.bound,
                    log_tail: self.cmd.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits (up to the bound) for the child to exit; returns its status.
    pub async fn terminate(&mut self) -> Result<ExitStatus, HarnessError> {
        let pid = self.running()?.id();
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .map_err(|source| self.cmd.io(source))?;
        if !sent.success() {
            return Err(self
                .cmd
                .io(std::io::Error::other(format!("kill -TERM {pid}: {sent}"))));
        }
        let deadline = Instant::now() + self.cmd.bound;
        loop {
            let child = self.running()?;
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.child = None;
                    return Ok(status);
                }
                Ok(None) => {}
                Err(source) => return Err(self.cmd.io(source)),
            }
            if Instant::now() > deadline {
                return Err(HarnessError::Timeout {
                    name: self.cmd.name.clone(),
                    what: "exit after SIGTERM",
                    bound: self.cmd.bound,
                    log_tail: self.cmd.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (`Child::kill` on Unix) and reap; returns the exit status.
    pub fn kill9(&mut self) -> Result<ExitStatus, HarnessError> {
        let mut child = self.child.take().ok_or_else(|| HarnessError::NotRunning {
            name: self.cmd.name.clone(),
        })?;
        child.kill().map_err(|source| self.cmd.io(source))?;
        child.wait().map_err(|source| self.cmd.io(source))
    }

    /// Starts the same command again (same arguments and data directory) once the child is
    /// stopped (SIGKILL first if it still runs), reads its new address and waits until ready.
    pub async fn restart(&mut self) -> Result<(), HarnessError> {
        if self.child.is_some() {
            self.kill9()?;
        }
        let (child, sbi, ops) = self.cmd.launch().await?;
        self.child = Some(child);
        self.sbi = sbi;
        self.ops = ops;
        self.wait_ready().await
    }

    fn running(&mut self) -> Result<&mut Child, HarnessError> {
        let name = &self.cmd.name;
        self.child
            .as_mut()
            .ok_or_else(|| HarnessError::NotRunning { name: name.clone() })
    }
}

impl Drop for ChildNf {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_and_reap(&mut c);
        }
    }
}

fn kill_and_reap(c: &mut Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// The child's status if it exits within a second (after it closed stdout).
async fn wait_briefly(c: &mut Child) -> Option<ExitStatus> {
    for _ in 0..50 {
        if let Ok(Some(st)) = c.try_wait() {
            return Some(st);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn tail_of(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(5)..].join("\n  ");
    if tail.is_empty() {
        String::new()
    } else {
        format!("; its log ends with:\n  {tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_line() {
        assert_eq!(
            parse_listening_line("listening ua=127.0.0.1:1 ops=127.0.0.1:2 digest=127.0.0.1:3"),
            Some((
                "127.0.0.1:1".parse().unwrap(),
                Some("127.0.0.1:2".parse().unwrap())
            ))
        );
        assert_eq!(
            parse_listening_line("listening ua=127.0.0.1:1 digest=127.0.0.1:3"),
            Some(("127.0.0.1:1".parse().unwrap(), None))
        );
        assert_eq!(
            parse_listening_line("listening sbi=127.0.0.1:4242\n"),
            Some(("127.0.0.1:4242".parse().unwrap(), None))
        );
        assert_eq!(
            parse_listening_line("listening sbi=127.0.0.1:1 ops=[::1]:2"),
            Some((
                "127.0.0.1:1".parse().unwrap(),
                Some("[::1]:2".parse().unwrap())
            ))
        );
        for bad in [
            "",
            "listening",
            "listening sbi=",
            "listening sbi=localhost:1",
            "listening sbi=127.0.0.1:1 ops=",
            "listening sbi=127.0.0.1:1 metrics=127.0.0.1:2",
            "listening sbi=127.0.0.1:1 ops=127.0.0.1:2 x",
            " listening sbi=127.0.0.1:1",
            "listening sbi=127.0.0.1:1 digest=127.0.0.1:3",
            "listening ua=127.0.0.1:1 digest=",
            "listening ua=127.0.0.1:1 ops=127.0.0.1:2 digest=127.0.0.1:3 x",
        ] {
            assert_eq!(parse_listening_line(bad), None, "{bad:?}");
        }
    }
}
