//! `akma bench auth`: complete primary authentications with AKMA anchoring per second.
//!
//! 1. Provisions `2 × N` subscribers with `akma udm provision` (half with AKMA, half without).
//! 2. Starts `akma udm`, `akma aanf` and `akma ausf` in development mode (h2c) as child
//!    processes, so that each network function's CPU time can be read from `/proc`.
//! 3. Drives complete 5G AKA runs from `C` concurrent simulated UEs (the `akma-ue` USIM, ME
//!    and simulated AMF/SEAF over the real SBI: POST ue-authentications → RES* → PUT
//!    5g-aka-confirmation, which makes the AUSF call UDM auth-events and AAnF
//!    register-anchorkey → NAS security mode command → K_AKMA and A-KID on the UE), first for
//!    the AKMA subscribers, then, as the baseline measured in the same run, for the others
//!    (the same path without the AAnF hop). A subscriber is never used by two UEs at once.
//! 4. Time per hop: the CPU each process spent per authentication, and the latency of the
//!    two hops behind the AUSF measured alone at the same concurrency (UDM generate-auth-data,
//!    AAnF register-anchorkey).
//! 5. Checks a sample: the UEs' current A-KIDs resolve at the AAnF to the UEs' K_AF.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_core::akma::{AfId, UaProtocolId};
use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{Opc, K};
use akma_loadgen::cpu_seconds_of;
use akma_sbi::client::{NaanfClient, NudmUeauClient, SbiClient};
use akma_sbi::models::AkmaAfKeyRequest;
use akma_ue::{Faults, NasLayer, Outcome, SimulatedAmf, UeSpec};
use clap::Args;

const SNN: &str = "5G:mnc070.mcc901.3gppnetwork.org";
const K_HEX: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC_HEX: &str = "cd63cb71954a9f4e48a5994e37a02baf";
const AF: &str = "bench-af.example.com";

/// `akma bench auth` options.
#[derive(Args, Debug, Clone)]
pub struct AuthBenchArgs {
    /// Subscribers per phase (AKMA on; as many again with AKMA off for the baseline).
    #[arg(long, default_value_t = 2000)]
    pub subscribers: u64,
    /// Concurrent UEs.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds measured per phase.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds of warm-up per phase (not measured).
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,
}

/// Kills and reaps a child process when dropped.
struct ChildGuard(Child);
impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, String> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port())
}

fn supi(akma: bool, i: u64) -> String {
    format!("imsi-90170{}{i:09}", if akma { 1 } else { 2 })
}

fn spawn(exe: &Path, args: &[String], log: &Path) -> Result<ChildGuard, String> {
    let log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    Command::new(exe)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map(ChildGuard)
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))
}

async fn wait_ready(
    client: &reqwest::Client,
    port: u16,
    child: &mut ChildGuard,
    name: &str,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if let Ok(Some(st)) = child.0.try_wait() {
            return Err(format!("the {name} exited ({st})"));
        }
        if Instant::now() > deadline {
            return Err(format!("the {name} did not become ready"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Latencies (µs) of completed operations and how long the measured period lasted.
struct Phase {
    lat_us: Vec<u64>,
    elapsed: Duration,
    failures: u64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.lat_us.len() as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&mut self, p: f64) -> f64 {
        if self.lat_us.is_empty() {
            return 0.0;
        }
        self.lat_us.sort_unstable();
        let i = ((self.lat_us.len() as f64 - 1.0) * p).round() as usize;
        self.lat_us[i] as f64 / 1000.0
    }
}

/// Runs `op(worker, n)` from `concurrency` tasks: a warm-up, then `duration` measured.
async fn drive<F, Fut>(concurrency: usize, warmup: Duration, duration: Duration, op: F) -> Phase
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let measure_from = t0 + warmup;
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (op, stop) = (op.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut failures, mut n) = (Vec::new(), 0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let s = Instant::now();
                let ok = op(w, n).await;
                n += 1;
                if s >= measure_from && !stop.load(Ordering::Relaxed) {
                    if ok {
                        lat.push(s.elapsed().as_micros() as u64);
                    } else {
                        failures += 1;
                    }
                }
            }
            (lat, failures)
        }));
    }
    tokio::time::sleep_until((measure_from + duration).into()).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = measure_from.elapsed();
    let mut phase = Phase {
        lat_us: Vec::new(),
        elapsed,
        failures: 0,
    };
    for t in tasks {
        if let Ok((lat, f)) = t.await {
            phase.lat_us.extend(lat);
            phase.failures += f;
        }
    }
    phase
}

fn ue(supi: &str) -> Result<NasLayer, String> {
    Ok(UeSpec {
        supi: Supi::parse(supi).map_err(|e| e.to_string())?,
        k: K::from_hex(K_HEX).map_err(|e| e.to_string())?,
        opc: Opc::from_hex(OPC_HEX).map_err(|e| e.to_string())?,
        routing_indicator: RoutingIndicator::none_provisioned(),
        mnc_len: MncLen::Two,
        hn_public_key: None,
    }
    .build())
}

/// CPU seconds of each process (the NFs, then this one).
fn cpu(pids: &[u32]) -> Vec<Option<f64>> {
    pids.iter()
        .map(|p| cpu_seconds_of(*p))
        .chain(std::iter::once(cpu_seconds_of(std::process::id())))
        .collect()
}

fn cpu_per_op(before: &[Option<f64>], after: &[Option<f64>], ops: f64) -> Vec<String> {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| match (b, a) {
            (Some(b), Some(a)) if ops > 0.0 => format!("{:>6.0} µs", (a - b) * 1e6 / ops),
            _ => "   n/a".into(),
        })
        .collect()
}

/// The whole benchmark.
pub async fn run(a: AuthBenchArgs) -> Result<(), String> {
    if a.subscribers == 0 || a.concurrency == 0 || a.duration == 0 {
        return Err("--subscribers, --concurrency and --duration must be positive".into());
    }
    if (a.concurrency as u64) > a.subscribers {
        return Err(
            "--concurrency cannot exceed --subscribers (a UE is never used twice at once)".into(),
        );
    }
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let dir = tempfile::Builder::new()
        .prefix("akma-bench-auth-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let d = dir.path();
    let n = a.subscribers;

    // 1. Provisioning (the UDM's own command, with its progress bar).
    let csv = d.join("subscribers.csv");
    let mut text = String::from("supi,k,opc,akma,routing_indicator,home_plmn,auth_method\n");
    for akma in [true, false] {
        for i in 0..n {
            text.push_str(&format!(
                "{},{K_HEX},{OPC_HEX},{akma},0,901-70,5G_AKA\n",
                supi(akma, i)
            ));
        }
    }
    std::fs::write(&csv, text).map_err(|e| format!("{}: {e}", csv.display()))?;
    let udm_data: PathBuf = d.join("udm");
    let st = Command::new(&exe)
        .args(["udm", "provision", "--dev", "--data"])
        .arg(&udm_data)
        .arg("--file")
        .arg(&csv)
        .status()
        .map_err(|e| format!("akma udm provision: {e}"))?;
    if !st.success() {
        return Err(format!("akma udm provision failed ({st})"));
    }

    // 2. The network functions, each in its own process.
    let (udm_p, aanf_p, ausf_p) = (free_port()?, free_port()?, free_port()?);
    let s = |x: &str| x.to_string();
    let mut udm = spawn(
        &exe,
        &[
            s("udm"),
            s("--dev"),
            s("--listen"),
            format!("127.0.0.1:{udm_p}"),
            s("--data"),
            udm_data.display().to_string(),
        ],
        &d.join("udm.log"),
    )?;
    let mut aanf = spawn(
        &exe,
        &[
            s("aanf"),
            s("--dev"),
            s("--listen"),
            format!("127.0.0.1:{aanf_p}"),
            s("--data"),
            d.join("aanf").display().to_string(),
        ],
        &d.join("aanf.log"),
    )?;
    let mut ausf = spawn(
        &exe,
        &[
            s("ausf"),
            s("--dev"),
            s("--listen"),
            format!("127.0.0.1:{ausf_p}"),
            s("--udm"),
            format!("http://127.0.0.1:{udm_p}"),
            s("--aanf"),
            format!("http://127.0.0.1:{aanf_p}"),
            s("--mnc-len"),
            s("2"),
        ],
        &d.join("ausf.log"),
    )?;
    let probe = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .map_err(|e| e.to_string())?;
    wait_ready(&probe, udm_p, &mut udm, "UDM").await?;
    wait_ready(&probe, aanf_p, &mut aanf, "AAnF").await?;
    wait_ready(&probe, ausf_p, &mut ausf, "AUSF").await?;
    let pids = [udm.0.id(), ausf.0.id(), aanf.0.id()];

    let snn = ServingNetworkName::parse(SNN).map_err(|e| e.to_string())?;
    let amf = Arc::new(
        SimulatedAmf::h2c(&format!("http://127.0.0.1:{ausf_p}"), snn.clone())
            .map_err(|e| format!("AMF client: {e}"))?,
    );
    let (warmup, duration) = (
        Duration::from_secs(a.warmup),
        Duration::from_secs(a.duration),
    );
    let c = a.concurrency;

    // 3. Complete authentications, with AKMA and (baseline) without.
    let mut results = Vec::new();
    let mut akma_ues = Vec::new();
    for akma in [true, false] {
        let ues: Arc<Vec<NasLayer>> = Arc::new(
            (0..n)
                .map(|i| ue(&supi(akma, i)))
                .collect::<Result<_, _>>()?,
        );
        let (amf2, ues2) = (amf.clone(), ues.clone());
        let before = cpu(&pids);
        let phase = drive(c, warmup, duration, move |w, k| {
            let (amf, ues) = (amf2.clone(), ues2.clone());
            // Worker w uses subscribers w, w + C, w + 2C, …: never one UE in two tasks.
            let per = (n as usize - w).div_ceil(c) as u64;
            let i = w + ((k % per) as usize) * c;
            async move {
                matches!(
                    amf.register(&ues[i], &Faults::default())
                        .await
                        .map(|r| r.outcome),
                    Ok(Outcome::Registered)
                )
            }
        })
        .await;
        let after = cpu(&pids);
        // CPU per completed authentication, warm-up included in both counts.
        let total = phase.lat_us.len() as f64 * (phase.elapsed + warmup).as_secs_f64()
            / phase.elapsed.as_secs_f64();
        results.push((akma, phase, cpu_per_op(&before, &after, total)));
        if akma {
            akma_ues = ues.iter().take(64).cloned().collect();
        }
    }

    // 4. The hops behind the AUSF alone, at the same concurrency.
    let sbi = SbiClient::h2c().map_err(|e| e.to_string())?;
    let udm_c = Arc::new(NudmUeauClient::new(
        sbi.clone(),
        format!("http://127.0.0.1:{udm_p}"),
    ));
    let aanf_c = Arc::new(NaanfClient::new(sbi, format!("http://127.0.0.1:{aanf_p}")));
    let ausf_id = akma_sbi::ueau::NfInstanceId::parse("5a4d1e0c-4b1e-4c5e-9a52-3f6c2b1d9e70")
        .map_err(|e| e.to_string())?;
    let (u2, snn2) = (udm_c.clone(), snn.clone());
    let mut udm_hop = drive(c, warmup, duration, move |_, k| {
        let (u, snn, id) = (u2.clone(), snn2.clone(), ausf_id.clone());
        let who = supi(false, k % n);
        async move {
            let req = akma_sbi::ueau::AuthenticationInfoRequest::new(snn, id);
            u.generate_auth_data(&who, &req).await.is_ok()
        }
    })
    .await;
    let a2 = aanf_c.clone();
    let mut aanf_hop = drive(c, warmup, duration, move |w, k| {
        let a = a2.clone();
        async move {
            let supi = Supi::parse(&format!(
                "imsi-90170{:010}",
                3_000_000_000u64 + (w as u64) * 10_000_000 + k
            ))
            .expect("valid IMSI");
            let mut kausf = [0x11u8; 32];
            kausf[..8].copy_from_slice(&k.to_be_bytes());
            kausf[8] = w as u8;
            let keys = akma_core::akma::derive_akma_keys(
                &akma_core::keys::KAusf::from_bytes(kausf),
                &supi,
                &RoutingIndicator::none_provisioned(),
                MncLen::Two,
            )
            .expect("keys");
            let info = akma_sbi::models::AkmaKeyInfo {
                supp_feat: None,
                ue_id: akma_sbi::models::UeId::Supi(supi),
                a_kid: keys.a_kid,
                k_akma: keys.k_akma,
            };
            a.register_anchor_key(&info).await.is_ok()
        }
    })
    .await;

    // 5. Correctness inside the benchmark: the UEs' A-KIDs give the UEs' K_AF at the AAnF.
    let af = AfFqdn::parse(AF).map_err(|e| e.to_string())?;
    let af_id = AfId::new(af.clone(), UaProtocolId::TLS13_PSK);
    let mut checked = 0;
    for nas in &akma_ues {
        let api = nas.akma_api();
        let Ok((a_kid, ue_kaf)) = api.derive_k_af(&af, UaProtocolId::TLS13_PSK) else {
            continue; // never authenticated during the run
        };
        let got = aanf_c
            .retrieve_application_key(&AkmaAfKeyRequest::new(&af_id, a_kid.clone(), false))
            .await
            .map_err(|e| format!("check: {e}"))?
            .ok_or_else(|| format!("check: A-KID {a_kid} unknown at the AAnF"))?;
        if got.kaf != ue_kaf {
            return Err(format!("check: K_AF differs for A-KID {a_kid}"));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err("check: no UE completed an authentication".into());
    }
    drop((udm, ausf, aanf));

    println!();
    println!(
        "akma bench auth: {n} subscribers per phase, {c} concurrent UEs, {} s per phase (+{} s warm-up); UDM, AUSF, AAnF as child processes (h2c)",
        a.duration, a.warmup
    );
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>8} | CPU per authentication: {:>9} {:>9} {:>9} {:>9}",
        "", "auth/s", "p50 ms", "p99 ms", "failed", "UDM", "AUSF", "AAnF", "UE+AMF"
    );
    let mut rates = Vec::new();
    for (akma, mut p, cpu) in results {
        let (p50, p99) = (p.pct(0.5), p.pct(0.99));
        rates.push(p.rate());
        println!(
            "{:<36} {:>9.0} {:>9.2} {:>9.2} {:>8} | {:>32} {:>9} {:>9} {:>9}",
            if akma {
                "5G AKA + AKMA anchoring"
            } else {
                "5G AKA, no AKMA (baseline)"
            },
            p.rate(),
            p50,
            p99,
            p.failures,
            cpu[0],
            cpu[1],
            cpu[2],
            cpu[3]
        );
    }
    for (name, p) in [
        ("hop AUSF->UDM generate-auth-data", &mut udm_hop),
        ("hop AUSF->AAnF register-anchorkey", &mut aanf_hop),
    ] {
        let (p50, p99) = (p.pct(0.5), p.pct(0.99));
        println!(
            "{name:<36} {:>9.0} {:>9.2} {:>9.2} {:>8} | (alone, same concurrency)",
            p.rate(),
            p50,
            p99,
            p.failures
        );
    }
    println!(
        "ratio with AKMA / without AKMA: {:.3}",
        rates[0] / rates[1].max(f64::MIN_POSITIVE)
    );
    println!("check: {checked} UEs' A-KIDs resolve at the AAnF to the UEs' K_AF: ok");
    Ok(())
}
