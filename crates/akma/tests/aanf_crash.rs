//! Crash test of `akma aanf`: many clients register contexts over h2c while the process is
//! killed with SIGKILL; after a restart on the same data directory, every registration that
//! was answered with 200 resolves to the expected K_AF (a 200 is sent only once the
//! registration is durable, issue 3 §4).
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::{KAkma, KAusf};
use serde_json::{json, Value};

mod common;
use common::{h2c, ChildNf};

/// Concurrent registering clients.
const TASKS: u64 = 32;
/// HTTP/2 connections they share.
const CONNECTIONS: usize = 8;
/// Kill once at least this long has passed and this many registrations were acknowledged...
const KILL_AFTER: Duration = Duration::from_millis(1500);
const KILL_AFTER_ACKS: usize = 300;
/// ... or at the latest after this long.
const KILL_DEADLINE: Duration = Duration::from_secs(30);
/// The AF the keys are checked for (development mode: the default policy).
const AF_FQDN: &str = "crash.example.com";

/// One registration sent to the AAnF.
struct Reg {
    supi: String,
    a_kid: String,
    k_akma: KAkma,
}

impl Reg {
    /// The subscriber numbered `n`: a 15-digit IMSI and an AUSF-style K_AKMA / A-KID.
    fn new(n: u64) -> Self {
        let supi = Supi::parse(&format!("imsi-00101{n:010}")).unwrap();
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&n.to_be_bytes());
        k[8..16].copy_from_slice(&(n ^ 0x5a5a_5a5a_5a5a_5a5a).to_be_bytes());
        k[31] = 0xa5;
        let keys = derive_akma_keys(
            &KAusf::from_bytes(k),
            &supi,
            &RoutingIndicator::parse("0").unwrap(),
            MncLen::Two,
        )
        .unwrap();
        Self {
            supi: supi.as_str().to_owned(),
            a_kid: keys.a_kid.as_str().to_owned(),
            k_akma: keys.k_akma,
        }
    }

    fn body(&self) -> Value {
        json!({"supi": self.supi, "aKId": self.a_kid, "kAkma": self.k_akma.expose_hex().as_str()})
    }

    fn expected_kaf(&self) -> String {
        let af = AfId::new(AfFqdn::parse(AF_FQDN).unwrap(), UaProtocolId::TLS13_PSK);
        derive_k_af(&self.k_akma, &af).expose_hex().to_string()
    }
}

#[derive(Default)]
struct Tally {
    started: AtomicU64,
    acked: Mutex<Vec<Reg>>,
    /// Requests that ended without an answer (the server died under them).
    unanswered: Mutex<Vec<Reg>>,
    /// Anything that should not happen: a non-200 answer, or an error before the kill.
    unexpected: Mutex<Vec<String>>,
    killed: AtomicBool,
    stop: AtomicBool,
}

async fn register_loop(task: u64, client: reqwest::Client, url: String, tally: Arc<Tally>) {
    for i in 0u64.. {
        if tally.stop.load(Ordering::SeqCst) {
            break;
        }
        let reg = Reg::new(task * 1_000_000 + i);
        tally.started.fetch_add(1, Ordering::SeqCst);
        match client.post(&url).json(&reg.body()).send().await {
            Ok(r) if r.status() == 200 => {
                // The 200 is the acknowledgement; the echo is checked while it can be read.
                if let Ok(v) = r.json::<Value>().await {
                    if v["aKId"] != reg.a_kid.as_str() {
                        tally
                            .unexpected
                            .lock()
                            .unwrap()
                            .push(format!("bad echo {v}"));
                    }
                }
                tally.acked.lock().unwrap().push(reg);
            }
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                tally
                    .unexpected
                    .lock()
                    .unwrap()
                    .push(format!("{} answered {status}: {body}", reg.supi));
                break;
            }
            Err(e) => {
                if !tally.killed.load(Ordering::SeqCst) {
                    tally
                        .unexpected
                        .lock()
                        .unwrap()
                        .push(format!("{} failed before the kill: {e}", reg.supi));
                }
                tally.unanswered.lock().unwrap().push(reg);
                break;
            }
        }
    }
}

/// Asks for `reg`'s K_AF; `Some(kaf)` on 200, `None` on 204.
async fn retrieve(
    client: &reqwest::Client,
    base: &str,
    reg: &Reg,
) -> Result<Option<String>, String> {
    let r = client
        .post(format!("{base}/naanf-akma/v1/retrieve-applicationkey"))
        .json(&json!({"afId": AF_FQDN, "aKId": reg.a_kid}))
        .send()
        .await
        .map_err(|e| format!("{}: {e}", reg.a_kid))?;
    match r.status().as_u16() {
        200 => {
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            Ok(Some(v["kaf"].as_str().unwrap_or_default().to_owned()))
        }
        204 => Ok(None),
        s => Err(format!(
            "{}: status {s}: {}",
            reg.a_kid,
            r.text().await.unwrap_or_default()
        )),
    }
}

/// Retrieves every registration with a few concurrent workers; returns the answers in order.
async fn retrieve_all(base: &str, regs: Arc<Vec<Reg>>) -> Vec<Result<Option<String>, String>> {
    const WORKERS: usize = 16;
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        let regs = regs.clone();
        let base = base.to_owned();
        handles.push(tokio::spawn(async move {
            let client = h2c();
            let mut out = Vec::new();
            for (i, reg) in regs.iter().enumerate().skip(w).step_by(WORKERS) {
                out.push((i, retrieve(&client, &base, reg).await));
            }
            out
        }));
    }
    let mut all: Vec<Option<Result<Option<String>, String>>> =
        (0..regs.len()).map(|_| None).collect();
    for h in handles {
        for (i, r) in h.await.unwrap() {
            all[i] = Some(r);
        }
    }
    all.into_iter()
        .map(|r| r.expect("every registration checked"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_registration_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let probe = h2c();

    let mut server = ChildNf::spawn("aanf", &data, dir.path().join("aanf-1.log")).await;
    server.wait_ready(&probe).await;
    assert!(
        data.join("dev-kek.hex").exists(),
        "development mode keeps its KEK in the data directory"
    );

    // --- register concurrently, and kill -9 in the middle --------------------------------
    let tally = Arc::new(Tally::default());
    let url = format!("http://{}/naanf-akma/v1/register-anchorkey", server.addr);
    let clients: Vec<reqwest::Client> = (0..CONNECTIONS).map(|_| h2c()).collect();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            tokio::spawn(register_loop(
                t,
                clients[t as usize % CONNECTIONS].clone(),
                url.clone(),
                tally.clone(),
            ))
        })
        .collect();
    let load_start = Instant::now();
    loop {
        let acked = tally.acked.lock().unwrap().len();
        let elapsed = load_start.elapsed();
        if (elapsed >= KILL_AFTER && acked >= KILL_AFTER_ACKS) || elapsed >= KILL_DEADLINE {
            break;
        }
        assert!(
            tally.unexpected.lock().unwrap().is_empty(),
            "before the kill: {:?}\n{}",
            tally.unexpected.lock().unwrap(),
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tally.killed.store(true, Ordering::SeqCst);
    let (acked_at_kill, started_at_kill) = (
        tally.acked.lock().unwrap().len(),
        tally.started.load(Ordering::SeqCst),
    );
    server.kill9();
    let killed_after = load_start.elapsed();
    tally.stop.store(true, Ordering::SeqCst);
    // The clients notice the dead connections; every request is bounded by the client timeout.
    let join_deadline = Instant::now() + Duration::from_secs(60);
    for t in tasks {
        let left = join_deadline.saturating_duration_since(Instant::now());
        tokio::time::timeout(left, t)
            .await
            .expect("registering clients stop after the kill")
            .unwrap();
    }
    drop(clients);

    let unexpected = std::mem::take(&mut *tally.unexpected.lock().unwrap());
    assert!(unexpected.is_empty(), "unexpected outcomes: {unexpected:?}");
    let acked = Arc::new(std::mem::take(&mut *tally.acked.lock().unwrap()));
    let unanswered = Arc::new(std::mem::take(&mut *tally.unanswered.lock().unwrap()));
    let started = tally.started.load(Ordering::SeqCst);
    assert!(
        acked_at_kill >= 1,
        "no registration was acknowledged in {KILL_DEADLINE:?}"
    );
    assert!(
        started_at_kill > acked_at_kill as u64,
        "requests were in flight at the kill"
    );
    assert_eq!(
        acked.len() as u64 + unanswered.len() as u64,
        started,
        "every request ended acknowledged or unanswered"
    );

    // --- restart on the same data directory and check every acknowledgement -----------------
    let mut server = ChildNf::spawn("aanf", &data, dir.path().join("aanf-2.log")).await;
    server.wait_ready(&probe).await;
    let base = format!("http://{}", server.addr);

    let answers = retrieve_all(&base, acked.clone()).await;
    let mut lost = Vec::new();
    for (reg, answer) in acked.iter().zip(&answers) {
        match answer {
            Ok(Some(kaf)) if *kaf == reg.expected_kaf() => {}
            Ok(Some(kaf)) => lost.push(format!("{}: wrong K_AF {kaf}", reg.a_kid)),
            Ok(None) => lost.push(format!("{}: acknowledged but not found (204)", reg.a_kid)),
            Err(e) => lost.push(e.clone()),
        }
    }

    // Registrations cut off by the kill may or may not have been stored; if stored, intact.
    let cut = retrieve_all(&base, unanswered.clone()).await;
    let mut cut_stored = 0;
    for (reg, answer) in unanswered.iter().zip(&cut) {
        match answer {
            Ok(Some(kaf)) if *kaf == reg.expected_kaf() => cut_stored += 1,
            Ok(None) => {}
            other => lost.push(format!("unanswered {}: {other:?}", reg.a_kid)),
        }
    }

    println!(
        "aanf crash test: killed after {:.2} s; {} registrations started, {} acknowledged \
         ({} when the kill was decided), {} in flight and unanswered at the kill \
         ({} of those found stored after the restart); {} acknowledged registrations \
         checked after the restart, {} missing or wrong",
        killed_after.as_secs_f64(),
        started,
        acked.len(),
        acked_at_kill,
        unanswered.len(),
        cut_stored,
        acked.len(),
        lost.len(),
    );
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged registrations lost after kill -9, e.g. {:?}\nlog:\n{}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(10)],
        server.log_text()
    );
}

/// SIGTERM: the AAnF drains in-flight requests, flushes the store and exits 0; what it
/// acknowledged is there after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_flushes_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let client = h2c();
    let mut server = ChildNf::spawn("aanf", &data, dir.path().join("aanf-term.log")).await;
    server.wait_ready(&client).await;
    let base = format!("http://{}", server.addr);
    let regs: Vec<Reg> = (0..20).map(|i| Reg::new(900_000 + i)).collect();
    for r in &regs {
        let resp = client
            .post(format!("{base}/naanf-akma/v1/register-anchorkey"))
            .json(&r.body())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let start = Instant::now();
    let status = server.terminate().await;
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "no exit within 20 s of SIGTERM"
    );
    assert!(
        status.success(),
        "exit after SIGTERM: {status}\n{}",
        server.log_text()
    );
    // Flushed: the log was folded into the main file.
    let wal = data.join("aanf.sqlite3-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the write-ahead log is empty after a clean shutdown"
    );
    let mut again = ChildNf::spawn("aanf", &data, dir.path().join("aanf-term2.log")).await;
    again.wait_ready(&client).await;
    let regs = Arc::new(regs);
    let got = retrieve_all(&format!("http://{}", again.addr), regs.clone()).await;
    for (r, g) in regs.iter().zip(got) {
        assert_eq!(
            g.unwrap(),
            Some(r.expected_kaf()),
            "{} after SIGTERM and restart",
            r.a_kid
        );
    }
}
