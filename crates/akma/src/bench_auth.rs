//! `akma bench auth`: complete primary authentications with AKMA anchoring per second, with
//! the time spent per hop.
//!
//! 1. Provisions `2 × N` subscribers with `akma udm provision` (its progress bar): `N` with
//!    AKMA, `N` without, all 5G AKA.
//! 2. Starts `akma udm`, `akma aanf` and `akma ausf` in development mode (h2c) as child
//!    processes of this binary, so that each network function's CPU time can be read from
//!    `/proc/<pid>/stat` (the `akma_sim::child` harness: each prints the address it bound).
//!    They are killed when the benchmark ends, fails or is interrupted;
//!    the temporary directory is removed.
//! 3. `C` concurrent UEs (the `akma-ue` USIM and ME, in this process) run complete
//!    registrations back to back through `akma_sim::SimulatedAmf`, whose timing hook
//!    ([`akma_sim::SbiTimings`]) gives the AMF's clock around each SBI call: POST
//!    ue-authentications (AUSF → UDM generate-auth-data) → AUTHENTICATION REQUEST → RES* →
//!    HRES* check → PUT 5g-aka-confirmation (AUSF → AAnF register-anchorkey, AUSF → UDM
//!    auth-events) → NAS SECURITY MODE COMMAND/COMPLETE → K_AKMA and A-KID on the UE. Only
//!    runs that end with the SMC completed count. A subscriber is never used by two UEs at
//!    once. The AKMA subscribers, and as the baseline measured in the same run the others
//!    (the same path without the AAnF hop), take turns: with, without, without, with, half
//!    of the measured time each, each segment after a warm-up that is not measured.
//! 4. Time per hop: the AMF's latency of each SBI call (measured here), and, from the AUSF's
//!    `GET /metrics` histograms scraped at the start and end of each measured period, the
//!    AUSF's handling of each request and its calls to the UDM and the AAnF. CPU per
//!    authentication for each process from `/proc`.
//! 5. Correctness inside the benchmark: a few UEs register once more through
//!    `akma_sim::SimulatedAmf` with its default faults (resynchronisation allowed); then a sample of AKMA UEs' current A-KIDs must resolve
//!    at the AAnF to the K_AF each UE derives, and a sample of the baseline UEs' A-KIDs must
//!    be unknown there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_ausf::metrics::{Hop, Op};
use akma_core::akma::{AfId, UaProtocolId};
use akma_core::ids::{AfFqdn, MncLen, ServingNetworkName};
use akma_loadgen::prometheus::{HistogramView, Scrape};
use akma_loadgen::{cpu_seconds_of, rss_of};
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_sbi_model::AkmaAfKeyRequest;
use akma_sim::child::{ChildNf, NfCommand};
use akma_sim::fixtures::{SubscriberFixture, K1 as K_HEX, OPC1 as OPC_HEX, SNN_901_70 as SNN};
use akma_sim::metric_names::{
    AUSF_CONTEXTS_HELD, AUSF_PEER_REQUEST_DURATION_SECONDS, AUSF_REQUEST_DURATION_SECONDS,
    UDM_STORE_COMMITS_TOTAL, UDM_STORE_COMMIT_DURATION_SECONDS, UDM_STORE_WRITES_TOTAL,
};
use akma_sim::{Faults, Outcome, RegistrationReport, SimulatedAmf};
use akma_ue::NasLayer;
use clap::Args;

// Every subscriber shares TS 35.208 test set 1 (K_HEX, OPC_HEX); SQNs are per subscriber.
const AF: &str = "bench-af.example.com";
/// UEs whose keys are checked at the AAnF after the run, per variant.
const CHECK_SAMPLE: usize = 64;
/// UEs that register once more through `SimulatedAmf` before the check.
const CROSS_CHECK: usize = 8;

/// `akma bench auth` options.
#[derive(Args, Debug, Clone)]
pub struct AuthBenchArgs {
    /// Subscribers per variant (AKMA on; as many again with AKMA off for the baseline).
    #[arg(long, default_value_t = 10_000)]
    pub subscribers: u64,
    /// Concurrent UEs.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds measured per variant (in two halves: with, without, without, with AKMA).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds of warm-up before each of the four segments (not measured).
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,
}

/// Sets the flag when dropped, so that the UE tasks stop on every way out of a segment.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

pub(crate) fn supi(akma: bool, i: u64) -> String {
    format!("imsi-90170{}{i:09}", if akma { 1 } else { 2 })
}

/// The 1, 5 and 15 minute load averages, from `/proc/loadavg`.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".into())
}

pub(crate) fn ue(supi: &str) -> Result<NasLayer, String> {
    SubscriberFixture::akma(supi)
        .ue(MncLen::Two)
        .map_err(|e| e.to_string())
}

/// One completed registration: when it ended, and its timings in µs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    /// When it ended.
    pub end: Instant,
    /// The whole registration.
    pub total: u64,
    /// POST ue-authentications, as the AMF saw it.
    pub post: u64,
    /// PUT 5g-aka-confirmation, as the AMF saw it.
    pub put: u64,
}

pub(crate) fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The bench's faults: none, and no resynchronisation either (each subscriber's SQN is in
/// step with its UE's), so that anything but a completed SMC is a failure.
const BENCH_FAULTS: Faults = Faults {
    corrupt_res_star: false,
    skip_smc: false,
    usim_sqn_ahead_by: None,
    max_resynchronisations: Some(0),
};

/// One registration through the simulated AMF/SEAF (TS 33.501 §6.1.3.2, TS 24.501 §5.4.1.3
/// and §5.4.2), timed by its hook. Anything but a completed 5G AKA with the SMC is an error.
pub(crate) async fn register_timed(amf: &SimulatedAmf, nas: &NasLayer) -> Result<Run, String> {
    let report: RegistrationReport = amf
        .register(nas, &BENCH_FAULTS)
        .await
        .map_err(|e| e.to_string())?;
    if report.auth_type.as_deref() != Some("5G_AKA") {
        return Err(format!(
            "the AUSF did not choose 5G AKA ({:?})",
            report.auth_type
        ));
    }
    if report.outcome != Outcome::Registered {
        return Err(format!(
            "the registration ended {} ({:?})",
            akma_sim::outcome_name(&report.outcome),
            report.outcome
        ));
    }
    let t = report.timings;
    Ok(Run {
        end: Instant::now(),
        total: us(t.total),
        post: us(t.authenticate),
        put: us(t.confirm_5g_aka),
    })
}

/// CPU seconds of each process and the AUSF's and UDM's metrics at one instant.
struct Snapshot {
    at: Instant,
    cpu: Vec<Option<f64>>,
    metrics: Scrape,
}

/// The processes whose CPU is reported: UDM, AUSF, AAnF, this one.
const PROCESSES: [&str; 4] = ["UDM", "AUSF", "AAnF", "bench"];

async fn scrape(probe: &reqwest::Client, nf: &str, root: &str) -> Result<String, String> {
    probe
        .get(format!("{root}/metrics"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("the {nf}'s /metrics: {e}"))?
        .text()
        .await
        .map_err(|e| format!("the {nf}'s /metrics: {e}"))
}

/// The AUSF's or the UDM's `/metrics`, parsed.
pub(crate) async fn scrape_parsed(
    probe: &reqwest::Client,
    nf: &str,
    root: &str,
) -> Result<Scrape, String> {
    Scrape::parse(&scrape(probe, nf, root).await?).map_err(|e| format!("the {nf}'s /metrics: {e}"))
}

async fn snapshot(
    probe: &reqwest::Client,
    (ausf_root, udm_root): (&str, &str),
    pids: &[u32],
) -> Result<Snapshot, String> {
    let cpu = pids
        .iter()
        .copied()
        .chain(std::iter::once(std::process::id()))
        .map(cpu_seconds_of)
        .collect();
    let at = Instant::now();
    let mut metrics = scrape_parsed(probe, "AUSF", ausf_root).await?;
    metrics.extend(scrape_parsed(probe, "UDM", udm_root).await?);
    Ok(Snapshot { at, cpu, metrics })
}

/// Latency of one hop over a measured period, in ms; `calls` per authentication.
#[derive(Debug, Clone, Copy)]
struct Stat {
    mean: f64,
    p50: f64,
    p99: f64,
    calls: f64,
}

/// Exact figures from client-side samples (µs).
fn exact(mut v: Vec<u64>, runs: usize) -> Option<Stat> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0;
    Some(Stat {
        mean: v.iter().sum::<u64>() as f64 / v.len() as f64 / 1000.0,
        p50: q(0.5),
        p99: q(0.99),
        calls: v.len() as f64 / runs.max(1) as f64,
    })
}

/// Figures from an AUSF histogram's growth over the measured periods: the mean is exact,
/// the quantiles are interpolated linearly within a bucket (as Prometheus'
/// `histogram_quantile` does; `akma_loadgen::prometheus`).
fn from_histogram(h: Option<HistogramView>, runs: usize) -> Option<Stat> {
    let h = h?;
    Some(Stat {
        mean: h.mean()? * 1000.0,
        p50: h.quantile(0.5)? * 1000.0,
        p99: h.quantile(0.99)? * 1000.0,
        calls: h.count / runs.max(1) as f64,
    })
}

/// The hops reported, in order: (label, where it is measured).
const HOPS: [(&str, &str); 8] = [
    ("AMF->AUSF POST ue-authentications", "AMF"),
    ("AUSF handling of the POST", "AUSF"),
    ("AUSF->UDM generate-auth-data", "AUSF"),
    ("AMF->AUSF PUT 5g-aka-confirmation", "AMF"),
    ("AUSF handling of the PUT", "AUSF"),
    ("AUSF->AAnF register-anchorkey", "AUSF"),
    ("AUSF->UDM auth-events", "AUSF"),
    ("UE + SEAF + SMC, rest of a run", "bench"),
];

/// What the measured periods of one variant (with or without AKMA) added up to.
#[derive(Default)]
struct Measured {
    runs: Vec<Run>,
    window: Duration,
    failures: usize,
    first_failure: Option<String>,
    /// CPU seconds per process of [`PROCESSES`]; `None` once one could not be read.
    cpu: Vec<Option<f64>>,
    /// The AUSF's and the UDM's series → increase.
    metrics: Scrape,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.runs.len() as f64 / self.window.as_secs_f64()
    }

    /// The increase between two snapshots, added.
    fn add_period(&mut self, before: &Snapshot, after: &Snapshot) {
        self.window += after.at - before.at;
        let cpu = before
            .cpu
            .iter()
            .zip(&after.cpu)
            .map(|(b, a)| Some(a.as_ref()? - b.as_ref()?));
        self.cpu = if self.cpu.is_empty() {
            cpu.collect()
        } else {
            self.cpu
                .iter()
                .zip(cpu)
                .map(|(s, c)| Some(s.as_ref()? + c?))
                .collect()
        };
        self.metrics
            .add(&after.metrics.increase_since(&before.metrics));
    }

    /// CPU µs per authentication, per process.
    fn cpu_us(&self) -> Vec<Option<f64>> {
        let n = self.runs.len() as f64;
        self.cpu
            .iter()
            .map(|c| c.filter(|_| n > 0.0).map(|c| c * 1e6 / n))
            .collect()
    }

    /// Latency of complete runs.
    fn total(&self) -> Option<Stat> {
        exact(self.runs.iter().map(|r| r.total).collect(), self.runs.len())
    }

    /// One entry per [`HOPS`] row.
    fn hops(&self) -> Vec<Option<Stat>> {
        let n = self.runs.len();
        let op = |o: Op| {
            from_histogram(
                self.metrics
                    .histogram(AUSF_REQUEST_DURATION_SECONDS, &[("operation", o.label())]),
                n,
            )
        };
        let hop = |h: Hop| {
            from_histogram(
                self.metrics.histogram(
                    AUSF_PEER_REQUEST_DURATION_SECONDS,
                    &[("peer", h.peer()), ("operation", h.label())],
                ),
                n,
            )
        };
        vec![
            exact(self.runs.iter().map(|r| r.post).collect(), n),
            op(Op::Authenticate),
            hop(Hop::UdmGenerateAuthData),
            exact(self.runs.iter().map(|r| r.put).collect(), n),
            op(Op::Confirm5gAka),
            hop(Hop::AanfRegisterAnchorKey),
            hop(Hop::UdmAuthEvents),
            exact(
                self.runs
                    .iter()
                    .map(|r| r.total.saturating_sub(r.post + r.put))
                    .collect(),
                n,
            ),
        ]
    }
}

/// The UDM, the AAnF and the AUSF of a benchmark, each a child process in development mode
/// (h2c on loopback), killed when dropped.
pub(crate) struct Core {
    /// `akma udm` on the provisioned store.
    pub udm: ChildNf,
    /// `akma aanf` on a fresh store.
    pub aanf: ChildNf,
    /// `akma ausf`, pointed at both.
    pub ausf: ChildNf,
}

/// Provisions `subscribers` (SUPI, AKMA on or off; all TS 35.208 test set 1 with 5G AKA) with
/// the UDM's own command (`akma udm provision`, its progress bar) into `d/udm`, then starts
/// the UDM, the AAnF (store in `d/aanf`) and the AUSF, each logging to `d/<nf>.log`.
pub(crate) async fn start_core(
    exe: &Path,
    d: &Path,
    subscribers: impl Iterator<Item = (String, bool)>,
    aanf_toml: Option<&str>,
) -> Result<Core, String> {
    let csv = d.join("subscribers.csv");
    let mut text = String::from("supi,k,opc,akma,routing_indicator,home_plmn,auth_method\n");
    let mut count = 0u64;
    for (supi, akma) in subscribers {
        text.push_str(&format!(
            "{supi},{K_HEX},{OPC_HEX},{akma},0,901-70,5G_AKA\n"
        ));
        count += 1;
    }
    std::fs::write(&csv, text).map_err(|e| format!("{}: {e}", csv.display()))?;
    let udm_data: PathBuf = d.join("udm");
    eprintln!("provisioning {count} subscribers in the UDM…");
    let st = Command::new(exe)
        .args(["udm", "provision", "--dev", "--data"])
        .arg(&udm_data)
        .arg("--file")
        .arg(&csv)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("akma udm provision: {e}"))?;
    if !st.success() {
        return Err(format!("akma udm provision failed ({st})"));
    }

    // The AUSF keeps finished contexts for the SEAF's DELETE for its default 60 s; its
    // default cap of 250,000 contexts would be reached above about 4,000 authentications/s,
    // so the bench raises it.
    let ausf_toml = d.join("ausf.toml");
    std::fs::write(&ausf_toml, "max_contexts = 2000000\n")
        .map_err(|e| format!("{}: {e}", ausf_toml.display()))?;
    let nf = |sub: &str, name: &str| {
        NfCommand::new(exe, sub)
            .name(name)
            .log_to(d.join(format!("{}.log", name.to_lowercase())))
    };
    let started = |r: Result<ChildNf, akma_sim::HarnessError>| r.map_err(|e| e.to_string());
    let udm = started(nf("udm", "UDM").data(&udm_data).start().await)?;
    let mut aanf_cmd = nf("aanf", "AAnF").data(&d.join("aanf"));
    if let Some(text) = aanf_toml {
        let path = d.join("aanf.toml");
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        aanf_cmd = aanf_cmd.arg("--config").arg(&path);
    }
    let aanf = started(aanf_cmd.start().await)?;
    let ausf = started(
        nf("ausf", "AUSF")
            .arg("--config")
            .arg(&ausf_toml)
            .arg("--udm")
            .arg(udm.api_root())
            .arg("--aanf")
            .arg(aanf.api_root())
            .args(["--mnc-len", "2"])
            .start()
            .await,
    )?;
    Ok(Core { udm, aanf, ausf })
}

struct Env {
    probe: reqwest::Client,
    amf: SimulatedAmf,
    /// The AUSF's and the UDM's ops roots (for `/metrics`).
    roots: (String, String),
    pids: Vec<u32>,
    concurrency: usize,
    warmup: Duration,
}

/// Runs `C` UEs over `ues` for the warm-up and then `measured`, and adds what the measured
/// period saw to `into`.
async fn segment(
    env: &Env,
    ues: Arc<Vec<NasLayer>>,
    measured: Duration,
    into: &mut Measured,
) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_guard = StopOnDrop(stop.clone());
    let mut tasks = Vec::new();
    for w in 0..env.concurrency {
        let (stop, ues, amf) = (stop.clone(), ues.clone(), env.amf.clone());
        // Worker w owns subscribers w, w + C, w + 2C, …: never one UE in two tasks.
        let mine: Vec<usize> = (w..ues.len()).step_by(env.concurrency).collect();
        tasks.push(tokio::spawn(async move {
            let (mut runs, mut failures) = (Vec::new(), Vec::new());
            for i in mine.iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match register_timed(&amf, &ues[*i]).await {
                    Ok(r) => runs.push(r),
                    Err(e) => failures.push((Instant::now(), e)),
                }
            }
            (runs, failures)
        }));
    }
    tokio::time::sleep(env.warmup).await;
    let roots = (env.roots.0.as_str(), env.roots.1.as_str());
    let before = snapshot(&env.probe, roots, &env.pids).await?;
    tokio::time::sleep(measured).await;
    let after = snapshot(&env.probe, roots, &env.pids).await?;
    stop.store(true, Ordering::Relaxed);

    // Runs and failures that ended within the measured period.
    let in_window = |t: Instant| t >= before.at && t <= after.at;
    for t in tasks {
        let (r, f) = t.await.map_err(|e| format!("a UE task failed: {e}"))?;
        into.runs.extend(r.into_iter().filter(|r| in_window(r.end)));
        for (at, e) in f {
            if in_window(at) {
                into.failures += 1;
                into.first_failure.get_or_insert(e);
            }
        }
    }
    into.add_period(&before, &after);
    Ok(())
}

/// The whole benchmark; interrupted by Ctrl-C, it still stops the children and removes its
/// temporary directory.
pub async fn run(a: AuthBenchArgs) -> Result<(), String> {
    tokio::select! {
        r = bench(a) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    }
}

async fn bench(a: AuthBenchArgs) -> Result<(), String> {
    if a.subscribers == 0 || a.concurrency == 0 || a.duration == 0 {
        return Err("--subscribers, --concurrency and --duration must be positive".into());
    }
    if (a.concurrency as u64) > a.subscribers {
        return Err(
            "--concurrency cannot exceed --subscribers (a UE is never used twice at once)".into(),
        );
    }
    if a.subscribers > 100_000_000 {
        return Err("--subscribers: at most 100000000 (the SUPIs have 9 free digits)".into());
    }
    let load_at_start = load_average();
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let dir = tempfile::Builder::new()
        .prefix("akma-bench-auth-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let d = dir.path();
    let n = a.subscribers;

    // 1. Provisioning (the UDM's own command, with its progress bar), 2. the network
    //    functions, each in its own process.
    let subscribers = [true, false]
        .into_iter()
        .flat_map(|akma| (0..n).map(move |i| (supi(akma, i), akma)));
    let Core {
        mut udm,
        mut aanf,
        mut ausf,
    } = start_core(&exe, d, subscribers, None).await?;
    let probe = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .map_err(|e| e.to_string())?;

    let snn = ServingNetworkName::parse(SNN).map_err(|e| e.to_string())?;
    let ausf_root = ausf.api_root();
    let env = Env {
        probe,
        amf: SimulatedAmf::new(
            SbiClient::h2c().map_err(|e| e.to_string())?,
            &ausf_root,
            snn.clone(),
        ),
        roots: (ausf.ops_root(), udm.ops_root()),
        pids: [&udm, &ausf, &aanf]
            .iter()
            .map(|c| {
                c.pid()
                    .ok_or_else(|| format!("the {} is not running", c.name()))
            })
            .collect::<Result<_, _>>()?,
        concurrency: a.concurrency,
        warmup: Duration::from_secs(a.warmup),
    };

    // 3. Complete authentications, with AKMA (index 0) and without (1), in the order
    //    with, without, without, with, half of the measured time each, so that a drift of
    //    the machine's speed (other load, the UDM's growing tables) falls on both alike.
    let ue_sets: Vec<Arc<Vec<NasLayer>>> = [true, false]
        .iter()
        .map(|&akma| {
            (0..n)
                .map(|i| ue(&supi(akma, i)))
                .collect::<Result<Vec<_>, _>>()
                .map(Arc::new)
        })
        .collect::<Result<_, _>>()?;
    let mut results = [Measured::default(), Measured::default()];
    let half = Duration::from_secs_f64(a.duration as f64 / 2.0);
    for (k, set) in [0, 1, 1, 0].into_iter().enumerate() {
        eprintln!(
            "{}/4 {}: {} s of warm-up, {:.1} s measured…",
            k + 1,
            ["with AKMA", "without AKMA (baseline)"][set],
            a.warmup,
            half.as_secs_f64()
        );
        let r = segment(&env, ue_sets[set].clone(), half, &mut results[set]).await;
        for nf in [&mut udm, &mut ausf, &mut aanf] {
            nf.check_alive().map_err(|e| e.to_string())?;
        }
        r?;
    }
    for r in &results {
        if r.runs.is_empty() {
            return Err(format!(
                "no registration completed in the measured periods{}",
                r.first_failure
                    .as_deref()
                    .map(|e| format!(" (first failure: {e})"))
                    .unwrap_or_default()
            ));
        }
    }

    // 4. Correctness: SimulatedAmf itself, then K_AF of UE and AAnF.
    let amf = SimulatedAmf::new(
        SbiClient::h2c().map_err(|e| e.to_string())?,
        &ausf_root,
        snn,
    );
    for nas in ue_sets[0].iter().take(CROSS_CHECK) {
        let report = amf
            .register(nas, &Faults::default())
            .await
            .map_err(|e| format!("check: SimulatedAmf: {e}"))?;
        if report.outcome != Outcome::Registered {
            return Err(format!(
                "check: SimulatedAmf ended with {:?}",
                report.outcome
            ));
        }
    }
    let aanf_c = NaanfClient::new(
        SbiClient::h2c().map_err(|e| e.to_string())?,
        aanf.api_root(),
    );
    let af = AfFqdn::parse(AF).map_err(|e| e.to_string())?;
    let af_id = AfId::new(af.clone(), UaProtocolId::TLS13_PSK);
    let mut checked = [0usize; 2];
    for (set, ues) in ue_sets.iter().enumerate() {
        let akma = set == 0;
        for nas in ues.iter() {
            if checked[set] == CHECK_SAMPLE {
                break;
            }
            let Ok((a_kid, ue_kaf)) = nas.akma_api().derive_k_af(&af, UaProtocolId::TLS13_PSK)
            else {
                continue; // not registered during the run
            };
            let got = aanf_c
                .retrieve_application_key(&AkmaAfKeyRequest::new(&af_id, a_kid.clone(), false))
                .await
                .map_err(|e| format!("check: the AAnF: {e}"))?;
            match (akma, got) {
                (true, Some(got)) if got.kaf == ue_kaf => {}
                (true, Some(_)) => return Err(format!("check: K_AF differs for A-KID {a_kid}")),
                (true, None) => return Err(format!("check: A-KID {a_kid} unknown at the AAnF")),
                (false, None) => {}
                (false, Some(_)) => {
                    return Err(format!(
                        "check: A-KID {a_kid} of a subscriber without AKMA resolves at the AAnF"
                    ))
                }
            }
            checked[set] += 1;
        }
    }
    if checked[0] == 0 || checked[1] == 0 {
        return Err("check: no UE completed a registration in one of the variants".into());
    }
    let load_at_end = load_average();
    // Memory at the end, and the AUSF's contexts (kept for the context lifetime).
    let mib = |nf: &ChildNf| {
        nf.pid()
            .and_then(rss_of)
            .map_or("?".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0))
    };
    let held = scrape_parsed(&env.probe, "AUSF", &env.roots.0)
        .await
        .ok()
        .and_then(|m| m.get(AUSF_CONTEXTS_HELD, &[]))
        .map_or("?".into(), |n| format!("{n:.0}"));
    let memory = format!(
        "memory at the end (RSS): UDM {}, AUSF {} with {held} authentication contexts held, AAnF {}",
        mib(&udm),
        mib(&ausf),
        mib(&aanf)
    );
    drop((udm, ausf, aanf));

    // 5. The report.
    let (with, without) = (&results[0], &results[1]);
    let (with_hops, without_hops) = (with.hops(), without.hops());
    println!();
    println!(
        "akma bench auth: {n} subscribers per variant, {} concurrent UEs, {} s measured per variant (in two halves, order with/without/without/with, each after {} s of warm-up)",
        a.concurrency, a.duration, a.warmup
    );
    println!(
        "UDM, AUSF and AAnF as child processes over h2c; {} CPUs; load average {load_at_start} at start, {load_at_end} at end",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>7} | CPU µs per authentication: {:>6} {:>6} {:>6} {:>6} {:>6}",
        "",
        "auth/s",
        "p50 ms",
        "p99 ms",
        "failed",
        PROCESSES[0],
        PROCESSES[1],
        PROCESSES[2],
        PROCESSES[3],
        "all"
    );
    for (label, r) in [
        ("5G AKA + AKMA anchoring", with),
        ("5G AKA, no AKMA (baseline)", without),
    ] {
        let t = r.total().expect("runs > 0");
        let cpu_us = r.cpu_us();
        let cpu: Vec<String> = cpu_us
            .iter()
            .map(|c| c.map_or("n/a".into(), |c| format!("{c:.0}")))
            .collect();
        let all = cpu_us
            .iter()
            .try_fold(0.0, |s, c| c.map(|c| s + c))
            .map_or("n/a".into(), |c| format!("{c:.0}"));
        println!(
            "{label:<28} {:>8.0} {:>8.2} {:>8.2} {:>7} | {:>26} {:>6} {:>6} {:>6} {:>6} {all:>6}",
            r.rate(),
            t.p50,
            t.p99,
            r.failures,
            "",
            cpu[0],
            cpu[1],
            cpu[2],
            cpu[3]
        );
    }
    println!(
        "ratio with AKMA / without AKMA: {:.3}",
        with.rate() / without.rate()
    );
    for (r, what) in [(with, "with AKMA"), (without, "without AKMA")] {
        if let Some(e) = &r.first_failure {
            println!("first failure {what}: {e}");
        }
    }
    println!();
    println!(
        "{:<36} {:>6} | {:>29} | {:>29} | calls per auth",
        "time per hop, ms (mean p50 p99)", "where", "with AKMA", "without AKMA"
    );
    let cell = |s: Option<Stat>| {
        s.map_or(format!("{:>29}", "-"), |s| {
            format!("{:>9.2} {:>9.2} {:>9.2}", s.mean, s.p50, s.p99)
        })
    };
    for (i, (label, place)) in HOPS.iter().enumerate() {
        let calls = |s: Option<Stat>| s.map_or("0".into(), |s| format!("{:.2}", s.calls));
        println!(
            "{label:<36} {place:>6} | {} | {} | {} / {}",
            cell(with_hops[i]),
            cell(without_hops[i]),
            calls(with_hops[i]),
            calls(without_hops[i])
        );
    }
    println!(
        "(AMF: measured by the bench around each call; AUSF: from the AUSF's /metrics histograms, mean exact, p50/p99 interpolated within buckets)"
    );
    // The UDM store's group commits (its /metrics): writes per fsync.
    let batches = |m: &Measured| {
        let commits = m.metrics.get(UDM_STORE_COMMITS_TOTAL, &[])?;
        let writes = m.metrics.get(UDM_STORE_WRITES_TOTAL, &[])?;
        let time = m.metrics.get(
            &format!("{UDM_STORE_COMMIT_DURATION_SECONDS}_sum"),
            &[("store", "sqlite")],
        )?;
        (commits > 0.0).then(|| {
            format!(
                "{:.0} commits/s, {:.1} writes per commit, {:.2} ms per commit",
                commits / m.window.as_secs_f64(),
                writes / commits,
                time * 1e3 / commits
            )
        })
    };
    for (m, what) in [(with, "with AKMA"), (without, "without AKMA")] {
        if let Some(b) = batches(m) {
            println!("UDM store {what:<13} {b}");
        }
    }
    println!("{memory}");
    println!();
    println!(
        "check: {CROSS_CHECK} UEs registered again through akma_sim::SimulatedAmf; {} AKMA UEs' A-KIDs resolve at the AAnF to the UEs' K_AF, {} baseline UEs' A-KIDs are unknown there: ok",
        checked[0], checked[1]
    );
    Ok(())
}
