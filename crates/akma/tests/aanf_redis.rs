//! Several `akma aanf --dev --store redis-cluster://…` processes on one real 3+3 Redis
//! Cluster that the test starts (`akma_store::redis_test_cluster`): a context registered
//! through one replica is retrieved through another; replace-latest and removal hold across
//! replicas, also under concurrent re-registration of one subscriber through two replicas;
//! a cluster that is down gets 503 with `Retry-After` and service returns with it; a primary
//! SIGKILLed under load fails over, the AAnFs recover without a restart, and no registration
//! acknowledged with the durability check is lost.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::time::Duration;

use akma_core::akma::{derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, Supi};
use akma_core::keys::KAkma;
use akma_sim::child::{ChildNf, NfCommand};
use akma_store::redis_test_cluster::TestCluster;
use akma_store::testsuite;
use reqwest::StatusCode;
use serde_json::{json, Value};

const KEK: &str = "5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f";
const AF: &str = "app.example.com";
const AF_ID: &str = "app.example.com;ua=0100000007";
/// No request may take longer than this (the store's deadline is 2 s): a hang fails.
const CLIENT_DEADLINE: Duration = Duration::from_secs(6);

/// One cluster and its AAnFs at a time: each test starts six `redis-server` processes and two
/// AAnFs, and five such networks at once on a two-core machine time out the durability
/// check (seen in CI), which is load, not what the tests are about.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Net {
    _serial: tokio::sync::MutexGuard<'static, ()>,
    cluster: TestCluster,
    dir: tempfile::TempDir,
    aanfs: Vec<ChildNf>,
    client: reqwest::Client,
}

impl Net {
    async fn start(n: usize, query: &str) -> Self {
        let serial = SERIAL.lock().await;
        let cluster = TestCluster::start();
        let dir = tempfile::tempdir().unwrap();
        let mut aanfs = Vec::new();
        for i in 0..n {
            let nf = NfCommand::new(env!("CARGO_BIN_EXE_akma"), "aanf")
                .name(&format!("aanf{i}"))
                .arg("--store")
                .arg(cluster.url(query))
                .env("AKMA_KEK", KEK)
                .log_to(dir.path().join(format!("aanf{i}.log")))
                .start()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            aanfs.push(nf);
        }
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .timeout(CLIENT_DEADLINE)
            .build()
            .unwrap();
        Net {
            _serial: serial,
            cluster,
            dir,
            aanfs,
            client,
        }
    }

    async fn post(&self, i: usize, op: &str, body: &Value) -> (StatusCode, Value, Option<String>) {
        let r = self
            .client
            .post(format!("{}/naanf-akma/v1/{op}", self.aanfs[i].api_root()))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("aanf{i} {op}: no answer within {CLIENT_DEADLINE:?}: {e}"));
        let status = r.status();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = r.bytes().await.unwrap();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, v, retry)
    }

    async fn register(&self, i: usize, supi: &Supi, a_kid: &AKid, k: &KAkma) -> StatusCode {
        self.post(
            i,
            "register-anchorkey",
            &json!({"supi": supi.as_str(), "aKId": a_kid.as_str(), "kAkma": k.expose_hex().as_str()}),
        )
        .await
        .0
    }

    /// Registers through aanf`i` as a client would with the durability check on: a 503 (the
    /// replica has not acknowledged yet, e.g. while it synchronises after a start) is retried
    /// for a bounded time; anything else, or no 200 in time, fails the test.
    async fn register_acked(&self, i: usize, supi: &Supi, a_kid: &AKid, k: &KAkma) {
        let t = std::time::Instant::now();
        loop {
            match self.register(i, supi, a_kid, k).await {
                StatusCode::OK => return,
                StatusCode::SERVICE_UNAVAILABLE if t.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                other => panic!("registration through aanf{i}: {other}: {}", self.logs()),
            }
        }
    }

    /// The K_AF hex aanf`i` gives for `a_kid`, or `None` for 204.
    async fn k_af(&self, i: usize, a_kid: &AKid) -> Option<String> {
        let (s, v, _) = self
            .post(
                i,
                "retrieve-applicationkey",
                &json!({"afId": AF_ID, "aKId": a_kid.as_str()}),
            )
            .await;
        match s {
            StatusCode::OK => Some(v["kaf"].as_str().unwrap().to_owned()),
            StatusCode::NO_CONTENT => None,
            other => panic!("aanf{i} retrieve: {other} {v}"),
        }
    }

    async fn remove(&self, i: usize, supi: &Supi) -> StatusCode {
        self.post(i, "remove-context", &json!({"supi": supi.as_str()}))
            .await
            .0
    }

    fn logs(&self) -> String {
        self.aanfs
            .iter()
            .map(|a| a.log_tail())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn want_k_af(k: &KAkma) -> String {
    derive_k_af(
        k,
        &AfId::new(AfFqdn::parse(AF).unwrap(), UaProtocolId::TLS13_PSK),
    )
    .expose_hex()
    .to_string()
}

/// Registered through one replica, retrieved through the other; a re-registration through
/// the second replaces the context for the first at once; a removal through one is seen by
/// the other at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_store() {
    let net = Net::start(2, "?wait=1&wait_timeout_ms=1000").await;
    let supi = testsuite::supi(1);
    let (a1, k1) = (testsuite::a_kid(1, 1), testsuite::key(1, 1));
    let (a2, k2) = (testsuite::a_kid(2, 1), testsuite::key(2, 1));
    net.register_acked(0, &supi, &a1, &k1).await;
    assert_eq!(
        net.k_af(1, &a1).await,
        Some(want_k_af(&k1)),
        "via the other replica"
    );
    assert_eq!(net.k_af(0, &a1).await, Some(want_k_af(&k1)));

    assert_eq!(net.register(1, &supi, &a2, &k2).await, StatusCode::OK);
    for i in 0..2 {
        assert_eq!(net.k_af(i, &a1).await, None, "aanf{i}: the replaced A-KID");
        assert_eq!(
            net.k_af(i, &a2).await,
            Some(want_k_af(&k2)),
            "aanf{i}: the new one"
        );
    }

    assert_eq!(net.remove(0, &supi).await, StatusCode::NO_CONTENT);
    for i in 0..2 {
        assert_eq!(net.k_af(i, &a2).await, None, "aanf{i}: removed");
    }
    // Removal is idempotent: through the other replica, nothing is left to remove.
    assert_eq!(net.remove(1, &supi).await, StatusCode::NO_CONTENT);
    assert_eq!(net.k_af(0, &a2).await, None);
}

/// Concurrent re-registrations of one subscriber through two replicas: both are
/// acknowledged, and afterwards exactly one of the two A-KIDs resolves, the same one on both
/// replicas (the one whose pointer swap came last: the contract orders the swaps, not the
/// responses); the context they both replaced never resolves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reregistration_through_two_replicas() {
    let net = std::sync::Arc::new(Net::start(2, "").await);
    let mut winners = [0usize; 2];
    for round in 0..30u64 {
        let supi = testsuite::supi(100 + round);
        let old = testsuite::a_kid(9, round);
        assert_eq!(
            net.register(0, &supi, &old, &testsuite::key(9, round))
                .await,
            StatusCode::OK
        );
        let mut tasks = Vec::new();
        for r in 0..2u8 {
            let (net, supi) = (net.clone(), supi.clone());
            tasks.push(tokio::spawn(async move {
                let (a, k) = (
                    testsuite::a_kid(10 + r, round),
                    testsuite::key(10 + r, round),
                );
                net.register(usize::from(r), &supi, &a, &k).await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), StatusCode::OK);
        }
        let mut resolving = Vec::new();
        for r in 0..2u8 {
            let a = testsuite::a_kid(10 + r, round);
            let on0 = net.k_af(0, &a).await;
            let on1 = net.k_af(1, &a).await;
            assert_eq!(on0, on1, "round {round}: replicas disagree on A-KID {r}");
            if let Some(k) = on0 {
                assert_eq!(k, want_k_af(&testsuite::key(10 + r, round)));
                resolving.push(r);
            }
        }
        assert_eq!(resolving.len(), 1, "round {round}: resolving {resolving:?}");
        winners[usize::from(resolving[0])] += 1;
        for i in 0..2 {
            assert_eq!(
                net.k_af(i, &old).await,
                None,
                "round {round}: old on aanf{i}"
            );
        }
    }
    eprintln!("winners by replica: {winners:?}");
}

/// The whole cluster stopped: every operation through every replica answers 503 with
/// `Retry-After` and a ProblemDetails within the deadline (no 500, no hang); when the
/// cluster is back, the same processes serve again (a new registration is kept and resolves).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_down_gives_503_and_service_returns() {
    // With the durability check: Redis replicates asynchronously, so without it the first
    // registration may be on its primary alone when the cluster goes down, and a replica
    // promoted during the restart (seen under CI load) would not hold it.
    let mut net = Net::start(2, "?wait=1&wait_timeout_ms=1000&timeout_ms=1000").await;
    let supi = testsuite::supi(7);
    let (a, k) = (testsuite::a_kid(1, 7), testsuite::key(1, 7));
    net.register_acked(0, &supi, &a, &k).await;
    net.cluster.kill_all();
    for round in 0..2 {
        for i in 0..2 {
            for (op, body) in [
                (
                    "register-anchorkey",
                    json!({"supi": supi.as_str(), "aKId": a.as_str(), "kAkma": k.expose_hex().as_str()}),
                ),
                (
                    "retrieve-applicationkey",
                    json!({"afId": AF_ID, "aKId": a.as_str()}),
                ),
                ("remove-context", json!({"supi": supi.as_str()})),
            ] {
                let (s, v, retry) = net.post(i, op, &body).await;
                assert_eq!(
                    s,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "round {round} aanf{i} {op}: {v}"
                );
                assert_eq!(retry.as_deref(), Some("1"), "{op}: Retry-After");
                assert_eq!(v["status"], 503, "{op}: {v}");
                assert_eq!(v["cause"], "NF_CONGESTION", "{op}: {v}");
            }
        }
    }
    net.cluster.start_all();
    net.cluster.wait_ok(Duration::from_secs(30)).unwrap();
    let t = std::time::Instant::now();
    loop {
        let (s, v, _) = net
            .post(
                1,
                "retrieve-applicationkey",
                &json!({"afId": AF_ID, "aKId": a.as_str()}),
            )
            .await;
        // Service is back once the answer is no longer 503. Whether the first context is
        // still there after every node was SIGKILLed is not what this test is about (the
        // primary-kill test checks acknowledged writes): it was, mostly, but twice in CI the
        // answer was 204 (issue 12's note). Either way the answer must be a real one.
        if s == StatusCode::OK {
            assert_eq!(v["kaf"], want_k_af(&k).as_str());
            break;
        }
        if s == StatusCode::NO_CONTENT {
            eprintln!("the first context did not survive the whole-cluster SIGKILL");
            break;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no recovery: {}",
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The durability check may still refuse a write (503) while the restarted replicas
    // resynchronise; a client retries, and within a bounded time it is acknowledged.
    let (a2, k2) = (testsuite::a_kid(2, 7), testsuite::key(2, 7));
    net.register_acked(0, &supi, &a2, &k2).await;
    assert_eq!(net.k_af(1, &a).await, None);
    assert_eq!(net.k_af(1, &a2).await, Some(want_k_af(&k2)));
    let _ = &net.dir;
}

/// A primary SIGKILLed during a registration load with the durability check (`wait=1`):
/// the cluster fails over, the AAnFs recover by themselves, and every registration that was
/// acknowledged (200) resolves afterwards through both replicas. While the shard that lost
/// its primary has no replica, its writes are refused (503), never acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn primary_killed_under_load_loses_no_acknowledged_registration() {
    let mut net = Net::start(2, "?wait=1&wait_timeout_ms=500&timeout_ms=3000").await;
    let mut acked: Vec<u64> = Vec::new();
    let mut refused = 0u64;
    let mut next = 0u64;
    let reg = |i: u64| {
        (
            testsuite::supi(1000 + i),
            testsuite::a_kid(3, i),
            testsuite::key(3, i),
        )
    };
    // Some load before the kill. A 503 here is a durability check that timed out on a
    // loaded machine (the write was refused, not acknowledged); a healthy cluster gives
    // mostly 200s, so a handful at most.
    let mut refused_before = 0u64;
    while acked.len() < 100 {
        let (s, a, k) = reg(next);
        match net.register((next % 2) as usize, &s, &a, &k).await {
            StatusCode::OK => acked.push(next),
            StatusCode::SERVICE_UNAVAILABLE if refused_before < 20 => refused_before += 1,
            other => panic!("before the kill: {other} ({refused_before} refused so far)"),
        }
        next += 1;
    }
    // Kill the primary of the last acknowledged pointer's shard.
    let victim_key = format!("akma:sub:{{{}}}", reg(next - 1).0.as_str());
    let victim = net.cluster.primary_of(&victim_key);
    net.cluster.kill(victim);
    let killed_at = std::time::Instant::now();
    // Keep registering through the failover; count what each outcome was.
    let mut after_ok = 0;
    while after_ok < 100 {
        let (s, a, k) = reg(next);
        match net.register((next % 2) as usize, &s, &a, &k).await {
            StatusCode::OK => {
                acked.push(next);
                after_ok += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => refused += 1,
            other => panic!("during the failover: {other}"),
        }
        next += 1;
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "too few registrations acknowledged after the kill ({after_ok}): {}",
            net.logs()
        );
    }
    // The killed node comes back as a replica: every shard has its replica again, and every
    // registration is acknowledged again, without restarting an AAnF.
    net.cluster.start_node(victim);
    net.cluster.wait_ok(Duration::from_secs(30)).unwrap();
    let mut streak = 0;
    let t = std::time::Instant::now();
    while streak < 50 {
        let (s, a, k) = reg(next);
        match net.register((next % 2) as usize, &s, &a, &k).await {
            StatusCode::OK => {
                acked.push(next);
                streak += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => streak = 0,
            other => panic!("after the node returned: {other}"),
        }
        next += 1;
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no full recovery: {}",
            net.logs()
        );
    }
    eprintln!(
        "acknowledged {}, refused {refused} of {next} registrations; failover took about {:?}",
        acked.len(),
        killed_at.elapsed()
    );
    for &i in &acked {
        let (_, a, k) = reg(i);
        for r in 0..2 {
            assert_eq!(
                net.k_af(r, &a).await,
                Some(want_k_af(&k)),
                "acknowledged registration {i} lost (aanf{r})"
            );
        }
    }
}

/// A shared store without AKMA_KEK is refused at start, in development mode too, with a
/// message that says what to set.
#[test]
fn shared_store_needs_akma_kek() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["aanf", "--dev", "--listen", "127.0.0.1:0"])
        .args(["--store", "redis-cluster://127.0.0.1:1"])
        .env_remove("AKMA_KEK")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("AKMA_KEK") && err.contains("redis-cluster"),
        "{err}"
    );
    // A malformed URL names the setting.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["aanf", "--dev", "--listen", "127.0.0.1:0"])
        .args(["--store", "redis-cluster://nohost"])
        .env("AKMA_KEK", KEK)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--store") && err.contains("host:port"),
        "{err}"
    );
}
