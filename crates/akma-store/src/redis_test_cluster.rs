//! A throw-away Redis Cluster on loopback for tests (features `redis` and `testsuite`):
//! three primaries and three replicas of Debian's `redis-server`, on ports the kernel
//! chooses, in a directory of their own, created with `redis-cli --cluster create
//! --cluster-replicas 1` and killed (and the directory removed) when the [`TestCluster`] is
//! dropped, also when a test fails. `scripts/redis-cluster` does the same from a shell.
//!
//! [`TestCluster::start`] panics, saying to install `redis-server` (`scripts/test` does),
//! when it is not on PATH: a test that needs a cluster never skips silently.
// Test support: an `unwrap()` that fails is a test failure, reported by its panic.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::cluster::ClusterClient;

/// Primaries in a test cluster.
pub const PRIMARIES: usize = 3;
/// Nodes in a test cluster (each primary has one replica).
pub const NODES: usize = 2 * PRIMARIES;

struct Node {
    port: u16,
    bus: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// A running 3+3 Redis Cluster on loopback (see the module documentation).
pub struct TestCluster {
    dir: PathBuf,
    nodes: Vec<Node>,
}

fn need(bin: &str) {
    let found = Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "{bin} is not on PATH: this test needs a real Redis Cluster. Install Debian's \
         redis-server and redis-tools (`apt-get install -y redis-server`; scripts/test does it)"
    );
}

fn free_port() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    (l, p)
}

fn conn(port: u16) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))?
        .get_connection_with_timeout(Duration::from_millis(500))
}

fn info(port: u16, what: &str) -> Option<String> {
    let mut c = conn(port).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut cmd = redis::cmd(what.split(' ').next()?);
    for a in what.split(' ').skip(1) {
        cmd.arg(a);
    }
    cmd.query::<String>(&mut c).ok()
}

impl TestCluster {
    /// Starts six nodes, creates the cluster and waits until every node reports
    /// `cluster_state:ok` and every primary has its replica online.
    pub fn start() -> Self {
        need("redis-server");
        need("redis-cli");
        for attempt in 0.. {
            match Self::try_start() {
                Ok(c) => return c,
                Err(e) if attempt < 2 => eprintln!("redis test cluster: {e}; retrying"),
                Err(e) => panic!("cannot start a Redis test cluster: {e}"),
            }
        }
        unreachable!()
    }

    fn try_start() -> Result<Self, String> {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("akma-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Hold every listener until all ports are chosen, so that the twelve are distinct.
        let held: Vec<_> = (0..2 * NODES).map(|_| free_port()).collect();
        let ports: Vec<u16> = held.iter().map(|(_, p)| *p).collect();
        drop(held);
        let mut c = TestCluster {
            dir: dir.clone(),
            nodes: (0..NODES)
                .map(|i| Node {
                    port: ports[2 * i],
                    bus: ports[2 * i + 1],
                    dir: dir.join(format!("node{i}")),
                    child: None,
                })
                .collect(),
        };
        for i in 0..NODES {
            std::fs::create_dir_all(&c.nodes[i].dir).map_err(|e| e.to_string())?;
            c.start_node(i);
        }
        for i in 0..NODES {
            c.wait_pong(i, Duration::from_secs(10))?;
        }
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(c.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        c.wait_ok(Duration::from_secs(30))?;
        Ok(c)
    }

    /// Starts node `i` (again), on its ports and directory (so it rejoins with its
    /// `nodes.conf` and append-only file).
    pub fn start_node(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        assert!(n.child.is_none(), "node {i} is running");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--protected-mode", "no"])
            .args(["--port", &n.port.to_string()])
            .args(["--cluster-port", &n.bus.to_string()])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-config-file", "nodes.conf"])
            .args(["--cluster-node-timeout", "1500"])
            .args(["--appendonly", "yes", "--appendfsync", "everysec"])
            .args(["--save", ""])
            .arg("--dir")
            .arg(&n.dir)
            .args(["--logfile", "redis.log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning redis-server: {e}"));
        n.child = Some(child);
    }

    fn wait_pong(&self, i: usize, within: Duration) -> Result<(), String> {
        let t = Instant::now();
        while t.elapsed() < within {
            if info(self.nodes[i].port, "PING").as_deref() == Some("PONG") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "node {i} (port {}) did not answer PING",
            self.nodes[i].port
        ))
    }

    /// Waits until every running node reports `cluster_state:ok`, every slot has a running
    /// primary, and every primary has an online replica.
    pub fn wait_ok(&self, within: Duration) -> Result<(), String> {
        let t = Instant::now();
        let mut last = String::new();
        while t.elapsed() < within {
            match self.check() {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "the cluster did not become healthy in {within:?}: {last}"
        ))
    }

    fn check(&self) -> Result<(), String> {
        let mut primaries = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.child.is_none() {
                continue;
            }
            let ci = info(n.port, "CLUSTER INFO").ok_or(format!("node {i}: no CLUSTER INFO"))?;
            if !ci.contains("cluster_state:ok") {
                return Err(format!("node {i}: cluster_state is not ok"));
            }
            let repl = info(n.port, "INFO replication").ok_or(format!("node {i}: no INFO"))?;
            if repl.contains("role:master") {
                if !repl.contains("state=online") {
                    return Err(format!("node {i}: primary without an online replica"));
                }
                primaries += 1;
            } else if !repl.contains("master_link_status:up") {
                return Err(format!("node {i}: replica not linked to its primary"));
            }
        }
        if primaries != PRIMARIES {
            return Err(format!(
                "{primaries} primaries with replicas, expected {PRIMARIES}"
            ));
        }
        Ok(())
    }

    /// The seed list, `127.0.0.1:PORT,…` (every node).
    pub fn seeds(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The store URL of this cluster, `redis-cluster://…` followed by `query` (e.g.
    /// `?prefix=t1&wait=1`, or empty).
    pub fn url(&self, query: &str) -> String {
        format!("redis-cluster://{}{query}", self.seeds())
    }

    /// Node ports, in node order.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// SIGKILLs node `i` and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills every node.
    pub fn kill_all(&mut self) {
        for i in 0..NODES {
            self.kill(i);
        }
    }

    /// Starts every stopped node.
    pub fn start_all(&mut self) {
        for i in 0..NODES {
            if self.nodes[i].child.is_none() {
                self.start_node(i);
            }
        }
    }

    /// The index of the node that is primary for `key`'s slot now.
    pub fn primary_of(&self, key: &str) -> usize {
        let mut slot = None;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.child.is_none() {
                continue;
            }
            let Ok(mut c) = conn(n.port) else { continue };
            let slot = *slot.get_or_insert_with(|| {
                redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(key)
                    .query::<i64>(&mut c)
                    .unwrap()
            });
            let Ok(slots) = redis::cmd("CLUSTER")
                .arg("SLOTS")
                .query::<Vec<Vec<redis::Value>>>(&mut c)
            else {
                continue;
            };
            let _ = i;
            for range in slots {
                let (Some(redis::Value::Int(lo)), Some(redis::Value::Int(hi))) =
                    (range.first(), range.get(1))
                else {
                    continue;
                };
                if (*lo..=*hi).contains(&slot) {
                    let port = match range.get(2) {
                        Some(redis::Value::Array(m)) => match m.get(1) {
                            Some(redis::Value::Int(p)) => *p as u16,
                            _ => continue,
                        },
                        _ => continue,
                    };
                    return self
                        .nodes
                        .iter()
                        .position(|n| n.port == port)
                        .expect("a node of this cluster");
                }
            }
        }
        panic!("no running node knows the primary of {key:?}'s slot {slot:?}")
    }

    /// A synchronous cluster connection, for reading or editing keys behind a store's back.
    pub fn client(&self) -> redis::cluster::ClusterConnection {
        ClusterClient::new(
            self.nodes
                .iter()
                .map(|n| format!("redis://127.0.0.1:{}", n.port))
                .collect::<Vec<_>>(),
        )
        .unwrap()
        .get_connection()
        .unwrap()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.kill_all();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
