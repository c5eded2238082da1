//! The network through an NRF, every network function a separate process: `akma nrf`, then
//! `akma udm`, two `akma aanf` replicas on one real 3+3 Redis Cluster
//! (`akma_store::redis_test_cluster`, registrations acknowledged with `wait=1`) and
//! `akma ausf`, all with `--nrf` and no peer URI: each registers itself and sends heartbeats,
//! the AUSF discovers the UDM and the AAnFs there and gets its tokens there.
//!
//! What the test checks on real values: the NRF lists every NF; complete 5G AKA
//! registrations (the `akma-ue` USIM and ME, through `akma_sim::SimulatedAmf`) anchor their
//! contexts through both AAnF replicas in turn; one replica `kill -9`ed while registrations
//! run makes no registration fail (the AUSF reselects the other); every context a
//! registration anchored resolves through the surviving replica to the K_AF the UE derives;
//! the killed replica, no longer heartbeating, leaves the NRF's answers; a replica stopped
//! with SIGTERM deregisters at once.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_core::akma::{derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, MncLen, ServingNetworkName};
use akma_core::keys::KAkma;
use akma_sim::child::{ChildNf, NfCommand};
use akma_sim::fixtures::{SubscriberFixture, K1 as K, OPC1 as OPC, SNN_901_70 as SNN};
use akma_sim::{Faults, Outcome, SimulatedAmf};
use akma_store::redis_test_cluster::TestCluster;
use serde_json::{json, Value};

const KEK: &str = "6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a";
const AF: &str = "app.example.com";
const SUBSCRIBERS: usize = 40;

fn supi(i: usize) -> String {
    format!("imsi-9017000000{i:05}")
}

fn nf(sub: &str, name: &str, dir: &Path) -> NfCommand {
    NfCommand::new(env!("CARGO_BIN_EXE_akma"), sub)
        .name(name)
        .without_env_prefix("AKMA_")
        .log_to(dir.join(format!("{name}.log")))
}

fn started(r: Result<ChildNf, akma_sim::HarnessError>) -> ChildNf {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// The API roots the NRF answers for `target`, asked as the NF type that calls it (the
/// NRF's policy lets only that type discover it).
async fn discovered(http: &reqwest::Client, nrf: &str, target: &str) -> Vec<String> {
    let requester = if target == "AUSF" { "AMF" } else { "AUSF" };
    let r = http
        .get(format!(
            "{nrf}/nnrf-disc/v1/nf-instances?target-nf-type={target}&requester-nf-type={requester}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let mut roots: Vec<String> = v["nfInstances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let ep = &p["nfServices"][0]["ipEndPoints"][0];
            format!(
                "{}://{}:{}",
                p["nfServices"][0]["scheme"].as_str().unwrap(),
                ep["ipv4Address"].as_str().unwrap(),
                ep["port"]
            )
        })
        .collect();
    roots.sort();
    roots
}

async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn registered_count(http: &reqwest::Client, aanf_ops: &str) -> u64 {
    let text = http
        .get(format!("{aanf_ops}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix("aanf_requests_total{operation=\"register-anchorkey\",status=\"200\"} ")
        })
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// One complete registration of subscriber `i`: the UE's current A-KID and K_AKMA.
async fn register(amf: &SimulatedAmf, i: usize) -> Result<(AKid, KAkma), String> {
    let s = supi(i);
    let nas = SubscriberFixture::akma(&s)
        .ue(MncLen::Two)
        .map_err(|e| e.to_string())?;
    let report = amf
        .register(&nas, &Faults::default())
        .await
        .map_err(|e| format!("{s}: {e}"))?;
    if report.outcome != Outcome::Registered {
        return Err(format!("{s}: {:?}", report.outcome));
    }
    let keys = nas.lock().current_akma_keys();
    keys.ok_or_else(|| format!("{s}: no AKMA keys on the UE"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_nf_through_the_nrf_and_an_aanf_replica_killed_under_load() {
    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Short timers, so that a replica that stops heartbeating leaves within seconds.
    let nrf_toml = d.join("nrf.toml");
    std::fs::write(
        &nrf_toml,
        "heartbeat_secs = 2\nheartbeat_grace_secs = 1\nvalidity_period_secs = 1\n",
    )
    .unwrap();
    let nrf = started(
        nf("nrf", "nrf", d)
            .data(&d.join("nrf"))
            .arg("--config")
            .arg(&nrf_toml)
            .start()
            .await,
    );
    let nrf_root = nrf.api_root();

    let mut csv = String::from("supi,k,opc,akma,routing_indicator,gpsis,home_plmn,auth_method\n");
    for i in 0..=SUBSCRIBERS {
        csv.push_str(&format!("{},{K},{OPC},true,0,,901-70,5G_AKA\n", supi(i)));
    }
    std::fs::write(d.join("subs.csv"), csv).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["udm", "provision", "--dev", "--quiet", "--data"])
        .arg(d.join("udm"))
        .arg("--file")
        .arg(d.join("subs.csv"))
        .env_remove("AKMA_NRF")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let udm = started(
        nf("udm", "udm", d)
            .data(&d.join("udm"))
            .arg("--nrf")
            .arg(&nrf_root)
            .start()
            .await,
    );
    let mut aanfs = Vec::new();
    for i in 0..2 {
        aanfs.push(started(
            nf("aanf", &format!("aanf{i}"), d)
                .data(&d.join(format!("aanf{i}")))
                .arg("--store")
                // A loaded machine (CI runs the suite in parallel) can keep a replica past the
                // 100 ms default; the durability check itself is not what this test measures.
                .arg(cluster.url("?wait=1&wait_timeout_ms=2000"))
                .env("AKMA_KEK", KEK)
                .arg("--nrf")
                .arg(&nrf_root)
                .start()
                .await,
        ));
    }
    let mut ausf = started(
        nf("ausf", "ausf", d)
            .arg("--nrf")
            .arg(&nrf_root)
            .args(["--mnc-len", "2"])
            .start()
            .await,
    );

    let http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut aanf_roots: Vec<String> = aanfs.iter().map(ChildNf::api_root).collect();
    aanf_roots.sort();
    until("every NF at the NRF", || async {
        discovered(&http, &nrf_root, "AANF").await == aanf_roots
            && discovered(&http, &nrf_root, "UDM").await == vec![udm.api_root()]
            && discovered(&http, &nrf_root, "AUSF").await == vec![ausf.api_root()]
    })
    .await;

    // Phase 1: registrations one after another; both replicas anchor contexts, in turn.
    let amf = Arc::new(
        SimulatedAmf::h2c(&ausf.api_root(), ServingNetworkName::parse(SNN).unwrap()).unwrap(),
    );
    let mut anchored: Vec<(AKid, KAkma)> = Vec::new();
    for i in 0..10 {
        anchored.push(register(&amf, i).await.unwrap());
    }
    let per_replica = [
        registered_count(&http, &aanfs[0].api_root()).await,
        registered_count(&http, &aanfs[1].api_root()).await,
    ];
    assert_eq!(
        per_replica.iter().sum::<u64>(),
        10,
        "{per_replica:?}\nAUSF:\n{}\nAAnF 0:\n{}\nAAnF 1:\n{}",
        ausf.log_tail(),
        aanfs[0].log_tail(),
        aanfs[1].log_tail()
    );
    assert!(
        per_replica.iter().all(|n| *n >= 3),
        "both replicas used in turn: {per_replica:?}"
    );

    // An AF inside the network with only --nrf: it registers, discovers the AAnF by the
    // A-KID's routing indicator and gets its token at the NRF. A UE (subscriber
    // SUBSCRIBERS, not among the anchored ones) authenticates and opens a Ua* session.
    let mut af = started(
        nf("af", "af", d)
            .args([
                "--fqdn",
                AF,
                "--nrf",
                &nrf_root,
                "--ops-listen",
                "127.0.0.1:0",
            ])
            .start()
            .await,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["ue", "authenticate", "--ausf", &ausf.api_root()])
        .args([
            "--supi",
            &supi(SUBSCRIBERS),
            "--k",
            K,
            "--opc",
            OPC,
            "--snn",
            SNN,
        ])
        .args(["--af-fqdn", AF, "--ua", "tls13-psk", "--connect"])
        .arg(format!("https://{}/", af.sbi_addr()))
        .env_remove("AKMA_NRF")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        af.log_tail()
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["supi"], supi(SUBSCRIBERS).as_str());
    // The development AAnF's default policy for an AF it does not list: K_AF, no SUPI.
    assert_eq!(lines[1]["status"], 200, "{stdout}");
    assert_eq!(lines[1]["body"]["aKid"], lines[0]["aKid"], "{stdout}");
    assert_eq!(lines[1]["body"]["user"], "anonymous", "{stdout}");
    assert!(af.terminate().await.unwrap().success(), "{}", af.log_tail());

    // Phase 2: four concurrent UEs register the other 30 subscribers; replica 0 is
    // SIGKILLed once a few have completed. No registration may fail.
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(10));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (amf, next, done) = (amf.clone(), next.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= SUBSCRIBERS {
                    return out;
                }
                out.push(register(&amf, i).await);
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    until("a few registrations under load", || {
        let done = done.clone();
        async move { done.load(std::sync::atomic::Ordering::SeqCst) >= 5 }
    })
    .await;
    let killed = aanfs[0].api_root();
    aanfs[0].kill9().unwrap();
    for w in workers {
        for r in w.await.unwrap() {
            anchored.push(r.unwrap_or_else(|e| panic!("a registration failed: {e}")));
        }
    }
    assert_eq!(anchored.len(), SUBSCRIBERS);
    ausf.check_alive().unwrap();

    // Every anchored context resolves through the surviving replica to the UE's K_AF.
    let survivor = aanfs[1].api_root();
    for (a_kid, k_akma) in &anchored {
        let r = http
            .post(format!("{survivor}/naanf-akma/v1/retrieve-applicationkey"))
            .json(&json!({"aKId": a_kid.as_str(), "afId": AF}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{a_kid}");
        let v: Value = r.json().await.unwrap();
        let want = derive_k_af(
            k_akma,
            &AfId::new(AfFqdn::parse(AF).unwrap(), UaProtocolId::TLS13_PSK),
        );
        assert_eq!(v["kaf"].as_str().unwrap(), want.expose_hex().as_str());
    }

    // Deregistration on the Redis store (issue 13, context removal): the AUSF, told as the
    // UDM would (Nausf_UEAuthentication_Deregister), removes subscriber 0's context at the
    // AAnF it discovers; the survivor sees it gone at once, subscriber 1's stays.
    let r = http
        .post(format!(
            "{}/nausf-auth/v1/ue-authentications/deregister",
            ausf.api_root()
        ))
        .json(&json!({"supi": supi(0)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let status_of = |a_kid: AKid| {
        let (http, survivor) = (http.clone(), survivor.clone());
        async move {
            http.post(format!("{survivor}/naanf-akma/v1/retrieve-applicationkey"))
                .json(&json!({"aKId": a_kid.as_str(), "afId": AF}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(status_of(anchored[0].0.clone()).await, 204, "deregistered");
    assert_eq!(
        status_of(anchored[1].0.clone()).await,
        200,
        "another subscriber"
    );

    // The killed replica stops heartbeating and leaves the NRF's answers; the survivor,
    // stopped gracefully, deregisters at once.
    until("the killed replica out of discovery", || async {
        discovered(&http, &nrf_root, "AANF").await == vec![survivor.clone()]
    })
    .await;
    assert!(!discovered(&http, &nrf_root, "AANF").await.contains(&killed));
    assert!(aanfs[1].terminate().await.unwrap().success());
    assert!(discovered(&http, &nrf_root, "AANF").await.is_empty());
    for mut c in [ausf, udm, nrf] {
        assert!(c.terminate().await.unwrap().success(), "{}", c.log_tail());
    }
}
